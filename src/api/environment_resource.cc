#include "api/environment_resource.h"

#include "api/views.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Role;
using workspace::RouteAccess;

void EnvironmentResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/environments";
  routes.Add("POST", p, RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Register(r); });
  AddVersionedReads<store::EnvironmentRecord>(
      routes, p, "environments", [this](const std::string&) { return environments_.List(); },
      [this](const std::string& name, int64_t v) { return environments_.Get(name, v); },
      &EnvironmentToJson);
}

Response EnvironmentResource::Register(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto name = body->String("name");
  auto description = body->String("description");
  if (!name.has_value()) return Error(name.error());
  if (!description.has_value()) return Error(description.error());
  auto e = environments_.Register(*name, body->json().value("spec", Json::object()), *description);
  if (!e.has_value()) return Error(e.error());
  return Response::FromJson(201, EnvironmentToJson(*e));
}

}  // namespace gantry::api
