#include "workspace/access_policy.h"

namespace gantry::workspace {

Result<Role> ParseRole(std::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "contributor") return Role::kContributor;
  if (name == "owner") return Role::kOwner;
  return Err(InvalidArgumentError("role '" + std::string(name) +
                                  "' is not one of reader, contributor, owner"));
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kContributor:
      return "contributor";
    case Role::kOwner:
      return "owner";
  }
  return "reader";
}

std::string Principal::Describe() const {
  switch (kind) {
    case Kind::kAnonymous:
      return "anonymous";
    case Kind::kUser:
      return "token:" + token_id + " (" + std::string(RoleName(role)) + ")";
    case Kind::kRun:
      return "run:" + run;
  }
  return "anonymous";
}

Status Authorize(const Principal& who, const RouteAccess& access, std::string_view run_param) {
  if (access.open) return Status::Ok();
  switch (who.kind) {
    case Principal::Kind::kAnonymous:
      return UnauthenticatedError(
          "this route needs a credential: send 'Authorization: Bearer TOKEN' (a local "
          "workspace's owner token is in .gantry/config.json; see `gantry token create`)");
    case Principal::Kind::kUser:
      if (!access.people) {
        return PermissionDeniedError("only the run's own token may report for a run");
      }
      if (static_cast<int>(who.role) < static_cast<int>(access.min_role)) {
        return PermissionDeniedError("this needs the " + std::string(RoleName(access.min_role)) +
                                     " role; token " + who.token_id + " has " +
                                     std::string(RoleName(who.role)));
      }
      return Status::Ok();
    case Principal::Kind::kRun:
      if (who.run_ended && access.run != RunAccess::kNone && access.writes) {
        return PermissionDeniedError("run '" + who.run +
                                     "' has ended: its token can no longer change anything");
      }
      if (access.run == RunAccess::kAny) return Status::Ok();
      if (access.run == RunAccess::kOwnRun && !run_param.empty() && run_param == who.run) {
        return Status::Ok();
      }
      if (access.run == RunAccess::kOwnRun) {
        return PermissionDeniedError("the token of run '" + who.run + "' is not valid for run '" +
                                     std::string(run_param) + "'");
      }
      return PermissionDeniedError(
          "a run's token may only report for its own run; this needs "
          "a personal access token");
  }
  return PermissionDeniedError("unknown caller");
}

bool SameOrigin(std::string_view origin, std::string_view host) {
  if (origin.empty()) return true;
  if (host.empty()) return false;
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;  // "null" and other opaque origins
  std::string_view scheme = origin.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  std::string_view authority = origin.substr(scheme_end + 3);
  if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  if (authority == host) return true;
  // An origin omits the scheme's default port; a Host header may carry it.
  std::string_view default_port = scheme == "https" ? ":443" : ":80";
  return host.size() == authority.size() + default_port.size() && host.starts_with(authority) &&
         host.ends_with(default_port);
}

}  // namespace gantry::workspace
