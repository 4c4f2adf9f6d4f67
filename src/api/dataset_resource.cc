#include "api/dataset_resource.h"

#include "api/views.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Role;
using workspace::RouteAccess;

namespace {

// The body of POST /datasets.
Result<workspace::RegisterDatasetRequest> RegisterFromBody(const BodyFields& body) {
  if (!body.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  workspace::RegisterDatasetRequest reg;
  ASSIGN_OR_RETURN(reg.name, body.String("name"));
  ASSIGN_OR_RETURN(reg.description, body.String("description"));
  ASSIGN_OR_RETURN(reg.tree_id, body.String("tree_id"));
  ASSIGN_OR_RETURN(reg.type, body.String("type", "uri_folder"));
  ASSIGN_OR_RETURN(reg.version, body.Int("version", 0));
  if (reg.version < 0) return Err(InvalidArgumentError("'version' must be positive"));
  ASSIGN_OR_RETURN(reg.create_new_version, body.Bool("create_new_version", reg.create_new_version));
  ASSIGN_OR_RETURN(auto tags, body.StringMap("tags"));
  for (const auto& [k, v] : tags) reg.tags[k] = v;
  ASSIGN_OR_RETURN(reg.urls, body.Strings("urls"));
  reg.sources = body.json().value("sources", Json::array());
  if (reg.sources.empty()) {
    for (const auto& u : reg.urls) reg.sources.push_back(u);
  }
  return reg;
}

}  // namespace

void DatasetResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/datasets";
  routes.Add("POST", p, RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Register(r); });
  AddVersionedReads<store::DatasetRecord>(
      routes, p, "datasets", [this](const std::string& name) { return datasets_.List(name); },
      [this](const std::string& name, int64_t v) { return datasets_.Get(name, v); },
      &DatasetToJson);
}

Response DatasetResource::Register(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto reg = RegisterFromBody(*body);
  if (!reg.has_value()) return Error(reg.error());
  reg->cancelled = [&req] { return req.ClientGone(); };
  auto d = datasets_.Register(*reg);
  if (!d.has_value()) return Error(d.error());
  return Response::FromJson(201, DatasetToJson(*d));
}

}  // namespace gantry::api
