// Access policy: who may call which REST route. Pure functions of their inputs (no store, no
// clock, no HTTP), so every rule is unit-tested with hand-written cases.
//
// A caller is a Principal: nobody (no or a bad credential), a person's access token with a
// Role, or a run's own token (its runner and its scripts). A route declares a RouteAccess:
// the least Role a person needs, and what a run's token may do there. Authorize() answers
// OK, Unauthenticated (401: no usable credential) or PermissionDenied (403: a credential
// that does not reach far enough), with a message that says what is needed.
// Thread-safe: stateless.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry::workspace {

// A person's role, ordered: each includes the ones before it.
enum class Role {
  kReader = 1,       // read everything but secrets (tokens, endpoint keys, the audit log)
  kContributor = 2,  // submit runs, register assets, deploy, cancel
  kOwner = 3,        // tokens, endpoint keys, compute targets, deletions, the audit log
};

// "reader" | "contributor" | "owner"; InvalidArgument naming the value otherwise.
Result<Role> ParseRole(std::string_view name);
std::string_view RoleName(Role role);

struct Principal {
  enum class Kind { kAnonymous, kUser, kRun };
  Kind kind = Kind::kAnonymous;
  Role role = Role::kReader;  // kUser only
  std::string token_id;       // kUser: the access token's id
  std::string run;            // kRun: the run the token belongs to
  bool run_ended = false;     // kRun: the run is Completed, Failed or Canceled

  static Principal Anonymous() { return {}; }
  static Principal User(Role role, std::string token_id) {
    return {Kind::kUser, role, std::move(token_id), "", false};
  }
  static Principal Run(std::string run, bool ended = false) {
    return {Kind::kRun, Role::kReader, "", std::move(run), ended};
  }
  // For the audit log: "token:ID (owner)", "run:NAME", "anonymous".
  std::string Describe() const;
};

// What a run's token may do on a route.
enum class RunAccess {
  kNone,    // nothing: people only
  kOwnRun,  // only when the route's {name} is the token's run
  kAny,     // anywhere (content-addressed blobs and trees, asset reads, model registration)
};

struct RouteAccess {
  bool open = false;  // no credential needed (health, scoring: those check their own keys)
  Role min_role = Role::kOwner;  // the least role a person needs
  bool people = true;            // false: only a run's token may call it (runner reports)
  RunAccess run = RunAccess::kNone;
  bool writes = false;   // changes stored data: refused to an ended run's token
  bool audited = false;  // goes to the audit log

  static RouteAccess Open() { return {.open = true}; }
  static RouteAccess Read(RunAccess run = RunAccess::kNone) {
    return {.min_role = Role::kReader, .run = run};
  }
  static RouteAccess Write(Role role, RunAccess run = RunAccess::kNone) {
    return {.min_role = role, .run = run, .writes = true, .audited = true};
  }
  // Content-addressed uploads (blobs, trees): a contributor or a live run. Not audited: they
  // change nothing a user sees until a run, model or dataset that names them is created.
  static RouteAccess Upload() {
    return {.min_role = Role::kContributor, .run = RunAccess::kAny, .writes = true};
  }
  // A read of secrets (endpoint keys): owners only.
  static RouteAccess Secret() { return {.min_role = Role::kOwner}; }
  // A runner's report about its own run: that run's token only.
  static RouteAccess RunReport() {
    return {.min_role = Role::kOwner,
            .people = false,
            .run = RunAccess::kOwnRun,
            .writes = true,
            .audited = true};
  }
};

// Whether `who` may call a route declared with `access`; `run_param` is the route's {name}
// when it is a run route, else "". OK, Unauthenticated or PermissionDenied. A run's token
// changes nothing once its run has ended (a process the run left behind cannot alter it),
// though it may still read its own run.
Status Authorize(const Principal& who, const RouteAccess& access, std::string_view run_param);

// Whether a browser request is same-origin: `origin` is the Origin header ("" when absent:
// not a cross-site browser request), `host` the Host header. "null" and any origin whose
// host:port is not `host` are cross-site.
bool SameOrigin(std::string_view origin, std::string_view host);

}  // namespace gantry::workspace
