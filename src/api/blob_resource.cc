#include "api/blob_resource.h"

#include "artifacts/tree.h"
#include "common/hashing.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::RouteAccess;
using workspace::RunAccess;

void BlobResource::AddTo(Routes& routes) {
  const std::string p = kApiPrefix;
  routes.Add("POST", p + "/blobs/missing", RouteAccess::Upload(),
             [this](Request& r) { return Missing(r); });
  routes.Add("PUT", p + "/blobs/{sha}", UploadAccess(), [this](Request& r) { return PutBlob(r); });
  routes.Add("GET", p + "/blobs/{sha}", RouteAccess::Read(RunAccess::kAny),
             [this](Request& r) { return GetBlob(r); });
  routes.Add("POST", p + "/trees", RouteAccess::Upload(),
             [this](Request& r) { return PutTree(r); });
  routes.Add("GET", p + "/trees/{id}", RouteAccess::Read(RunAccess::kAny),
             [this](Request& r) { return GetTree(r); });
}

Response BlobResource::Missing(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  if (!body->is_object() || !body->json().contains("blobs") || !body->json()["blobs"].is_array()) {
    return Error(InvalidArgumentError("field 'blobs' must be a list of SHA-256 ids"));
  }
  Json missing = Json::array();
  for (const auto& b : body->json()["blobs"]) {
    if (!b.is_string() || !IsSha256Hex(b.get<std::string>())) {
      return Error(InvalidArgumentError("field 'blobs' holds an invalid SHA-256 id"));
    }
    if (!blobs_.Has(b.get<std::string>())) missing.push_back(b);
  }
  return Response::FromJson(200, {{"missing", missing}});
}

Response BlobResource::PutBlob(Request& req) {
  const std::string& sha = req.Param("sha");
  if (!IsSha256Hex(sha)) return Error(InvalidArgumentError("'" + sha + "' is not a SHA-256 id"));
  Status st = req.body_file.empty() ? blobs_.PutExpecting(sha, req.body)
                                    : blobs_.PutFileExpecting(sha, req.body_file);
  if (!st.ok()) return Error(st);
  return Response::FromJson(201, {{"blob", sha}});
}

Response BlobResource::GetBlob(Request& req) {
  auto data = blobs_.Get(req.Param("sha"));
  if (!data.has_value()) return Error(data.error());
  return Response::Text(200, std::move(*data), "application/octet-stream");
}

Response BlobResource::PutTree(Request& req) {
  auto tree = artifacts::Tree::FromJson(req.body);
  if (!tree.has_value()) return Error(tree.error());
  auto id = artifacts::StoreUploadedTree(blobs_, *tree);
  if (!id.has_value()) return Error(id.error());
  return Response::FromJson(
      201, {{"id", *id}, {"files", tree->entries().size()}, {"bytes", tree->TotalBytes()}});
}

Response BlobResource::GetTree(Request& req) {
  auto tree = artifacts::LoadTree(blobs_, req.Param("id"));
  if (!tree.has_value()) return Error(tree.error());
  return Response::Text(200, tree->ToJson(), "application/json");
}

}  // namespace gantry::api
