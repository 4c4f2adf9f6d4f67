#include "api/access_resource.h"

#include <algorithm>

#include "api/views.h"
#include "common/clock.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Principal;
using workspace::Role;
using workspace::RouteAccess;
using workspace::RunAccess;

namespace {

struct TokenRequest {
  Role role = Role::kContributor;
  std::string name;
  int64_t expires_in_seconds = 0;  // 0: never
};

// The body of POST /tokens.
Result<TokenRequest> TokenFromBody(const BodyFields& body) {
  TokenRequest t;
  ASSIGN_OR_RETURN(std::string role, body.String("role", "contributor"));
  ASSIGN_OR_RETURN(t.name, body.String("name"));
  ASSIGN_OR_RETURN(t.expires_in_seconds, body.Int("expires_in_seconds", 0));
  ASSIGN_OR_RETURN(t.role, workspace::ParseRole(role));
  if (t.expires_in_seconds < 0 || t.expires_in_seconds > int64_t{100} * 366 * 86400) {
    return Err(
        InvalidArgumentError("'expires_in_seconds' must be between 0 (never) and 100 years"));
  }
  return t;
}

}  // namespace

void AccessResource::AddTo(Routes& routes) {
  routes_ = &routes;
  const std::string p = kApiPrefix;
  routes.Add("POST", p + "/tokens", RouteAccess::Write(Role::kOwner),
             [this](Request& r) { return CreateToken(r); });
  routes.Add("GET", p + "/tokens", RouteAccess::Secret(),
             [this](Request& r) { return ListTokens(r); });
  routes.Add("DELETE", p + "/tokens/{id}", RouteAccess::Write(Role::kOwner),
             [this](Request& r) { return RevokeToken(r); });
  routes.Add("GET", p + "/whoami", RouteAccess::Read(RunAccess::kAny),
             [this](Request& r) { return WhoAmI(r); });
  routes.Add("GET", p + "/audit", RouteAccess::Secret(), [this](Request& r) { return Audit(r); });
}

Response AccessResource::CreateToken(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto t = TokenFromBody(*body);
  if (!t.has_value()) return Error(t.error());
  auto creator = routes_->Caller(req);
  auto created = access_.CreateToken(t->role, t->name, t->expires_in_seconds * 1000,
                                     creator.has_value() ? creator->Describe() : "");
  if (!created.has_value()) return Error(created.error());
  Json out = TokenToJson(created->record);
  out["token"] = created->secret;
  return Response::FromJson(201, out);
}

Response AccessResource::ListTokens(Request&) {
  auto all = access_.ListTokens();
  if (!all.has_value()) return Error(all.error());
  Json out = Json::array();
  for (const auto& t : *all) out.push_back(TokenToJson(t));
  return Response::FromJson(200, {{"tokens", out}});
}

Response AccessResource::RevokeToken(Request& req) {
  Status st = access_.RevokeToken(req.Param("id"));
  if (!st.ok()) return Error(st);
  return Response::FromJson(200, {{"revoked", req.Param("id")}});
}

Response AccessResource::WhoAmI(Request& req) {
  auto who = routes_->Caller(req);
  if (!who.has_value()) return Error(who.error());
  Json out = {{"principal", who->Describe()}};
  if (who->kind == Principal::Kind::kUser) {
    out["kind"] = "user";
    out["role"] = std::string(workspace::RoleName(who->role));
    out["token_id"] = who->token_id;
  } else {
    out["kind"] = "run";
    out["run"] = who->run;
  }
  return Response::FromJson(200, out);
}

Response AccessResource::Audit(Request& req) {
  auto after = QueryInt(req, "after", 0);
  auto limit = QueryInt(req, "limit", 1000);
  if (!after.has_value()) return Error(after.error());
  if (!limit.has_value()) return Error(limit.error());
  auto records = access_.ListAudit(*after, static_cast<int>(std::min<int64_t>(*limit, 100000)));
  if (!records.has_value()) return Error(records.error());
  Json out = Json::array();
  for (const auto& r : *records) {
    out.push_back({{"id", r.id},
                   {"time", FormatIsoTime(r.time)},
                   {"time_ms", r.time},
                   {"principal", r.principal},
                   {"method", r.method},
                   {"path", r.path},
                   {"status", r.status},
                   {"remote", r.remote}});
  }
  return Response::FromJson(200, {{"records", out}});
}

}  // namespace gantry::api
