// Api: the REST resources of the workspace server (docs/rest-api.md). Each handler parses
// the request, calls one service method and renders the answer; rules live in the services.
// Thread-safe: handlers are called concurrently; all state is in the services.
#pragma once

#include <optional>
#include <string>

#include "artifacts/blob_store.h"
#include "http/router.h"
#include "workspace/access_policy.h"
#include "workspace/access_service.h"
#include "workspace/compute_service.h"
#include "workspace/dataset_service.h"
#include "workspace/endpoint_service.h"
#include "workspace/environment_service.h"
#include "workspace/model_service.h"
#include "workspace/run_service.h"

namespace gantry::api {

struct ApiOptions {
  std::string workspace_name = "default";
  // Largest JSON body; larger → 413.
  size_t max_json_bytes = 16u << 20;
  // Largest single blob upload; larger → 413.
  size_t max_blob_bytes = 1u << 30;
  // Every route but health and scoring needs a credential. false (`gantry server --no-auth`,
  // loopback only) lets every caller act as the owner.
  bool require_auth = true;
  // Folder on the blob store's filesystem (LocalBlobStore::temp_dir()) that blob uploads are
  // streamed to instead of memory; "" keeps them in memory.
  std::string upload_dir;
};

class Api {
 public:
  // `access` and `runs` must not be null; any other service may be, and its routes then
  // answer 404.
  Api(workspace::AccessService* access, workspace::RunService* runs,
      workspace::ModelService* models, workspace::DatasetService* datasets,
      workspace::ComputeService* computes, workspace::EnvironmentService* environments,
      artifacts::BlobStore* blobs, ApiOptions options);

  // Adds the online-endpoint resources under /api/v1/endpoints and the scoring routes
  // /endpoints/NAME/... (forwarded to a deployment's model server). Call before serving.
  void AddEndpointRoutes(workspace::EndpointService* endpoints);

  // Dispatches one request.
  http::Response Handle(http::Request& request) const;
  // Body limit for a request line, for HttpServerOptions::body_limit.
  size_t BodyLimit(const std::string& method, const std::string& path) const;
  // Where a request's body is streamed, for HttpServerOptions::body_to_file: upload_dir for
  // blob uploads, else "" (memory).
  std::string BodyToFile(const std::string& method, const std::string& path) const;
  // For HttpServerOptions::before_body: refuses a large upload (a blob) whose credential does
  // not allow it before its body is read; nullopt lets the request go on.
  std::optional<http::Response> BeforeBody(const http::Request& head) const;

 private:
  using AddRoute = std::function<void(const std::string&, const std::string&,
                                      workspace::RouteAccess, http::Handler)>;
  // Registers a route behind the credential check (Guarded): the only way routes are added.
  void Add(const std::string& method, const std::string& pattern, workspace::RouteAccess access,
           http::Handler handler);
  AddRoute Adder();
  http::Response Guarded(const workspace::RouteAccess& access, const http::Handler& handler,
                         http::Request& request) const;
  // Origin, credential and role for `access`; fills `who` once the caller is known.
  Status Check(const workspace::RouteAccess& access, const http::Request& request,
               workspace::Principal& who) const;
  // Who sent the request: a person's token, a run's token, or nobody. Unauthenticated for a
  // credential that is not valid.
  Result<workspace::Principal> Caller(const http::Request& request) const;

  void AddRoutes();
  void AddAccessRoutes();
  void AddModelRoutes();
  void AddDatasetRoutes();
  void AddComputeRoutes();
  void AddEnvironmentRoutes();

  workspace::AccessService* access_;
  workspace::RunService* runs_;
  workspace::ModelService* models_;
  workspace::DatasetService* datasets_;
  workspace::ComputeService* computes_;
  workspace::EnvironmentService* environments_;
  workspace::EndpointService* endpoints_ = nullptr;
  artifacts::BlobStore* blobs_;
  ApiOptions options_;
  http::Router router_;
};

// The JSON shape of a run (see docs/rest-api.md).
Json RunToJson(const store::RunRecord& run);
// The JSON shape of a dataset version.
Json DatasetToJson(const store::DatasetRecord& dataset);
// The JSON shape of an endpoint; `base_url` ("http://HOST:PORT") makes its scoring URI.
Json EndpointToJson(const store::EndpointRecord& endpoint, const std::string& base_url);
// The JSON shape of a deployment, with its replicas' live state.
Json DeploymentToJson(const store::DeploymentRecord& deployment, const Json& replicas);
// The JSON shape of a model version.
Json ModelToJson(const store::ModelRecord& model);

}  // namespace gantry::api
