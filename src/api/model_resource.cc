#include "api/model_resource.h"

#include "api/views.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Principal;
using workspace::Role;
using workspace::RouteAccess;
using workspace::RunAccess;

namespace {

// The body of POST /models.
Result<workspace::RegisterModelRequest> RegisterFromBody(const BodyFields& body) {
  if (!body.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  workspace::RegisterModelRequest reg;
  store::ModelRecord& m = reg.model;
  ASSIGN_OR_RETURN(m.name, body.String("name"));
  ASSIGN_OR_RETURN(m.description, body.String("description"));
  ASSIGN_OR_RETURN(m.framework, body.String("framework"));
  ASSIGN_OR_RETURN(m.framework_version, body.String("framework_version"));
  ASSIGN_OR_RETURN(m.type, body.String("type", "custom_model"));
  ASSIGN_OR_RETURN(reg.tree_id, body.String("tree_id"));
  ASSIGN_OR_RETURN(reg.run_name, body.String("run"));
  ASSIGN_OR_RETURN(reg.run_path, body.String("path"));
  ASSIGN_OR_RETURN(auto tags, body.StringMap("tags"));
  ASSIGN_OR_RETURN(auto properties, body.StringMap("properties"));
  for (const auto& [k, v] : tags) m.tags[k] = v;
  for (const auto& [k, v] : properties) m.properties[k] = v;
  if (body.json().contains("resource_configuration")) {
    m.resource_configuration = body.json()["resource_configuration"];
    if (!m.resource_configuration.is_null() && !m.resource_configuration.is_object()) {
      return Err(InvalidArgumentError("field 'resource_configuration' must be an object"));
    }
  }
  if (body.json().contains("datasets")) {
    m.datasets = body.json()["datasets"];
    if (!m.datasets.is_array()) return Err(InvalidArgumentError("field 'datasets' must be a list"));
  }
  return reg;
}

// What a tags or properties change names: the version (path), its body and the "add" map.
struct Change {
  int64_t version = 0;
  BodyFields body;
  std::map<std::string, std::string> add;
};

Result<Change> ReadChange(const Request& req) {
  ASSIGN_OR_RETURN(int64_t version, VersionParam(req));
  ASSIGN_OR_RETURN(BodyFields body, BodyFields::Parse(req));
  ASSIGN_OR_RETURN(auto add, body.StringMap("add"));
  return Change{.version = version, .body = std::move(body), .add = std::move(add)};
}

}  // namespace

void ModelResource::AddTo(Routes& routes) {
  routes_ = &routes;
  const std::string p = std::string(kApiPrefix) + "/models";
  routes.Add("POST", p, RouteAccess::Write(Role::kContributor, RunAccess::kAny),
             [this](Request& r) { return Register(r); });
  AddVersionedReads<store::ModelRecord>(
      routes, p, "models", [this](const std::string& name) { return models_.List(name); },
      [this](const std::string& name, int64_t v) { return models_.Get(name, v); }, &ModelToJson);
  routes.Add("POST", p + "/{name}/versions/{version}/tags", RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return UpdateTags(r); });
  routes.Add("POST", p + "/{name}/versions/{version}/properties",
             RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return AddProperties(r); });
}

Response ModelResource::Register(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto reg = RegisterFromBody(*body);
  if (!reg.has_value()) return Error(reg.error());
  // A run's token registers models of its own run only.
  if (auto who = routes_->Caller(req);
      who.has_value() && who->kind == Principal::Kind::kRun && reg->run_name != who->run) {
    return Error(PermissionDeniedError("the token of run '" + who->run +
                                       "' may only register models from that run"));
  }
  auto model = models_.Register(std::move(*reg));
  if (!model.has_value()) return Error(model.error());
  return Response::FromJson(201, ModelToJson(*model));
}

Response ModelResource::UpdateTags(Request& req) {
  auto change = ReadChange(req);
  if (!change.has_value()) return Error(change.error());
  std::vector<std::string> remove;
  if (change->body.Has("remove")) {
    if (!change->body.json()["remove"].is_array()) {
      return Error(InvalidArgumentError("field 'remove' must be a list"));
    }
    for (const auto& k : change->body.json()["remove"]) {
      if (k.is_string()) remove.push_back(k.get<std::string>());
    }
  }
  auto m = models_.UpdateTags(req.Param("name"), change->version, change->add, remove);
  if (!m.has_value()) return Error(m.error());
  return Response::FromJson(200, ModelToJson(*m));
}

Response ModelResource::AddProperties(Request& req) {
  auto change = ReadChange(req);
  if (!change.has_value()) return Error(change.error());
  auto m = models_.AddProperties(req.Param("name"), change->version, change->add);
  if (!m.has_value()) return Error(m.error());
  return Response::FromJson(200, ModelToJson(*m));
}

}  // namespace gantry::api
