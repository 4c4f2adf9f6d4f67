#include "api/endpoint_resource.h"

#include <map>

#include "api/views.h"
#include "common/url.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Role;
using workspace::RouteAccess;

namespace {

// The body of POST /endpoints.
Result<workspace::EndpointRequest> EndpointFromBody(const BodyFields& body) {
  if (!body.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  workspace::EndpointRequest e;
  ASSIGN_OR_RETURN(e.name, body.String("name"));
  ASSIGN_OR_RETURN(e.description, body.String("description"));
  ASSIGN_OR_RETURN(e.auth_mode, body.String("auth_mode", "key"));
  ASSIGN_OR_RETURN(e.tags, body.Object("tags", e.tags));
  return e;
}

// The body of PATCH /endpoints/NAME: only what it names changes.
Result<workspace::EndpointUpdate> UpdateFromBody(const BodyFields& body) {
  if (!body.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  workspace::EndpointUpdate u;
  if (body.json().contains("traffic")) u.traffic = body.json()["traffic"];
  if (body.json().contains("tags")) u.tags = body.json()["tags"];
  if (body.json().contains("description")) {
    ASSIGN_OR_RETURN(u.description, body.String("description"));
  }
  return u;
}

// The body of PUT /endpoints/NAME/deployments/DEPLOYMENT.
Result<workspace::DeploymentRequest> DeploymentFromBody(const BodyFields& body,
                                                        const Request& req) {
  if (!body.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  workspace::DeploymentRequest d;
  d.endpoint = req.Param("name");
  d.name = req.Param("deployment");
  ASSIGN_OR_RETURN(d.model, body.String("model"));
  ASSIGN_OR_RETURN(d.code_tree, body.String("code_tree"));
  ASSIGN_OR_RETURN(d.scoring_script, body.String("scoring_script"));
  ASSIGN_OR_RETURN(d.environment, body.String("environment"));
  ASSIGN_OR_RETURN(d.instance_type, body.String("instance_type"));
  ASSIGN_OR_RETURN(d.instance_count, body.Int("instance_count", d.instance_count));
  ASSIGN_OR_RETURN(d.max_batch_size, body.Int("max_batch_size", d.max_batch_size));
  ASSIGN_OR_RETURN(d.request_settings, body.Object("request_settings", d.request_settings));
  ASSIGN_OR_RETURN(d.environment_variables,
                   body.Object("environment_variables", d.environment_variables));
  if (body.json().contains("all_traffic")) {
    if (!body.json()["all_traffic"].is_boolean()) {
      return Err(InvalidArgumentError("field 'all_traffic' must be true or false"));
    }
    d.all_traffic = body.json()["all_traffic"].get<bool>();
  }
  return d;
}

Response Keys(const store::EndpointRecord& e) {
  return Response::FromJson(200,
                            {{"primaryKey", e.primary_key}, {"secondaryKey", e.secondary_key}});
}

}  // namespace

void EndpointResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/endpoints";
  const RouteAccess write = RouteAccess::Write(Role::kContributor);
  const RouteAccess owner = RouteAccess::Write(Role::kOwner);
  routes.Add("POST", p, write, [this](Request& r) { return Create(r); });
  routes.Add("GET", p, RouteAccess::Read(), [this](Request& r) { return List(r); });
  routes.Add("GET", p + "/{name}", RouteAccess::Read(), [this](Request& r) { return Get(r); });
  routes.Add("PATCH", p + "/{name}", write, [this](Request& r) { return Update(r); });
  routes.Add("DELETE", p + "/{name}", owner, [this](Request& r) { return Delete(r); });
  routes.Add("GET", p + "/{name}/keys", RouteAccess::Secret(),
             [this](Request& r) { return Keys(r); });
  routes.Add("POST", p + "/{name}/keys/regenerate", owner,
             [this](Request& r) { return RegenerateKey(r); });
  const std::string d = p + "/{name}/deployments";
  routes.Add("PUT", d + "/{deployment}", write, [this](Request& r) { return PutDeployment(r); });
  routes.Add("GET", d, RouteAccess::Read(), [this](Request& r) { return ListDeployments(r); });
  routes.Add("GET", d + "/{deployment}", RouteAccess::Read(),
             [this](Request& r) { return GetDeployment(r); });
  routes.Add("GET", d + "/{deployment}/logs", RouteAccess::Read(),
             [this](Request& r) { return DeploymentLogs(r); });
  routes.Add("DELETE", d + "/{deployment}", owner,
             [this](Request& r) { return DeleteDeployment(r); });
  // Scoring: /endpoints/NAME/score and every other model-server path (v2, v1, /). The
  // endpoint's own key (or token) is checked by EndpointService::Score.
  routes.Add("POST", "/endpoints/{name}/{path...}", RouteAccess::Open(),
             [this](Request& r) { return Score(r); });
  routes.Add("GET", "/endpoints/{name}/{path...}", RouteAccess::Open(),
             [this](Request& r) { return Score(r); });
}

Response EndpointResource::Create(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto e = EndpointFromBody(*body);
  if (!e.has_value()) return Error(e.error());
  auto created = endpoints_.CreateEndpoint(*e);
  if (!created.has_value()) return Error(created.error());
  return Response::FromJson(201, EndpointToJson(*created, BaseUrl(req)));
}

Response EndpointResource::List(Request& req) {
  auto all = endpoints_.ListEndpoints();
  if (!all.has_value()) return Error(all.error());
  Json out = Json::array();
  for (const auto& e : *all) out.push_back(EndpointToJson(e, BaseUrl(req)));
  return Response::FromJson(200, {{"endpoints", out}});
}

Response EndpointResource::Get(Request& req) {
  auto e = endpoints_.GetEndpoint(req.Param("name"));
  if (!e.has_value()) return Error(e.error());
  Json out = EndpointToJson(*e, BaseUrl(req));
  Json names = Json::array();
  if (auto deps = endpoints_.ListDeployments(e->name); deps.has_value()) {
    for (const auto& d : *deps)
      names.push_back({{"name", d.name}, {"provisioning_state", d.state}});
  }
  out["deployments"] = names;
  return Response::FromJson(200, out);
}

Response EndpointResource::Update(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto u = UpdateFromBody(*body);
  if (!u.has_value()) return Error(u.error());
  auto e = endpoints_.UpdateEndpoint(req.Param("name"), *u);
  if (!e.has_value()) return Error(e.error());
  return Response::FromJson(200, EndpointToJson(*e, BaseUrl(req)));
}

Response EndpointResource::Delete(Request& req) {
  Status st = endpoints_.DeleteEndpoint(req.Param("name"));
  if (!st.ok()) return Error(st);
  return Response::FromJson(200, {{"deleted", req.Param("name")}});
}

Response EndpointResource::Keys(Request& req) {
  auto e = endpoints_.GetEndpoint(req.Param("name"));
  if (!e.has_value()) return Error(e.error());
  return api::Keys(*e);
}

Response EndpointResource::RegenerateKey(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto which = body->String("key_type", "primary");
  if (!which.has_value()) return Error(which.error());
  auto e = endpoints_.RegenerateKey(req.Param("name"), *which);
  if (!e.has_value()) return Error(e.error());
  return api::Keys(*e);
}

Response EndpointResource::PutDeployment(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto d = DeploymentFromBody(*body, req);
  if (!d.has_value()) return Error(d.error());
  auto put = endpoints_.PutDeployment(*d);
  if (!put.has_value()) return Error(put.error());
  return Response::FromJson(put->generation == 1 ? 201 : 200,
                            DeploymentToJson(*put, endpoints_.Replicas(d->endpoint, d->name)));
}

Response EndpointResource::ListDeployments(Request& req) {
  auto all = endpoints_.ListDeployments(req.Param("name"));
  if (!all.has_value()) return Error(all.error());
  Json out = Json::array();
  for (const auto& d : *all)
    out.push_back(DeploymentToJson(d, endpoints_.Replicas(d.endpoint, d.name)));
  return Response::FromJson(200, {{"deployments", out}});
}

Response EndpointResource::GetDeployment(Request& req) {
  auto d = endpoints_.GetDeployment(req.Param("name"), req.Param("deployment"));
  if (!d.has_value()) return Error(d.error());
  return Response::FromJson(200, DeploymentToJson(*d, endpoints_.Replicas(d->endpoint, d->name)));
}

Response EndpointResource::DeploymentLogs(Request& req) {
  auto lines = QueryInt(req, "lines", 5000);
  if (!lines.has_value()) return Error(lines.error());
  auto text = endpoints_.DeploymentLogs(req.Param("name"), req.Param("deployment"), *lines);
  if (!text.has_value()) return Error(text.error());
  return Response::Text(200, *text);
}

Response EndpointResource::DeleteDeployment(Request& req) {
  Status st = endpoints_.DeleteDeployment(req.Param("name"), req.Param("deployment"));
  if (!st.ok()) return Error(st);
  return Response::FromJson(200, {{"deleted", req.Param("deployment")}});
}

Response EndpointResource::Score(Request& req) {
  std::string path = "/" + req.Param("path");
  if (!req.query.empty()) {
    std::string q;
    for (const auto& [k, v] : req.query)
      q += (q.empty() ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
    path += q;
  }
  // The inference protocols' own headers go to the model server and back.
  std::map<std::string, std::string> headers;
  for (const char* name : workspace::kForwardedHeaders) {
    if (std::string value = req.Header(name); !value.empty()) headers[name] = value;
  }
  auto result =
      endpoints_.Score(req.Param("name"), req.BearerToken(), req.Header("azureml-model-deployment"),
                       req.method, path, req.body, req.Header("content-type"), headers);
  if (!result.has_value()) {
    Response err = Error(result.error());
    if (result.error().code() == StatusCode::kUnauthenticated) {
      err.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    return err;
  }
  Response out;
  out.status = result->response.status;
  out.body = std::move(result->response.body);
  out.content_type =
      result->response.content_type.empty() ? "application/json" : result->response.content_type;
  out.headers.emplace_back("azureml-model-deployment", result->deployment);
  for (const auto& [name, value] : result->response.headers) out.headers.emplace_back(name, value);
  return out;
}

}  // namespace gantry::api
