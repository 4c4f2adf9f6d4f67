// Api: the REST resources of the workspace server (docs/rest-api.md). Each handler reads the
// request (request_fields.h), calls one service method and renders the answer (views.h);
// rules live in the services. Thread-safe: handlers are called concurrently; all state is in
// the services.
#pragma once

#include <optional>
#include <string>

#include "api/access_resource.h"
#include "api/blob_resource.h"
#include "api/compute_resource.h"
#include "api/dataset_resource.h"
#include "api/endpoint_resource.h"
#include "api/environment_resource.h"
#include "api/model_resource.h"
#include "api/routes.h"
#include "api/run_resource.h"
#include "api/runner_resource.h"
#include "api/sweep_resource.h"
#include "api/views.h"
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

// Every service the API serves; none may be missing.
struct ApiServices {
  workspace::AccessService& access;
  workspace::RunService& runs;
  workspace::ModelService& models;
  workspace::DatasetService& datasets;
  workspace::ComputeService& computes;
  workspace::EnvironmentService& environments;
  workspace::EndpointService& endpoints;
  workspace::SweepService& sweeps;
  artifacts::BlobStore& blobs;
};

// The REST API: one resource class per noun (blob_resource.h, run_resource.h, ...) adds its
// named handlers through Routes; Api puts each behind the one credential check (Guarded) and
// dispatches requests.
class Api final : private Routes {
 public:
  Api(ApiServices services, ApiOptions options);

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
  // Routes: registers a route behind the credential check (Guarded), the only way routes are
  // added; Caller tells who sent a request.
  void Add(const std::string& method, const std::string& pattern, workspace::RouteAccess access,
           http::Handler handler) override;
  Result<workspace::Principal> Caller(const http::Request& request) const override;

  http::Response Guarded(const workspace::RouteAccess& access, const http::Handler& handler,
                         http::Request& request) const;
  // Origin, credential and role for `access`; fills `who` once the caller is known.
  Status Check(const workspace::RouteAccess& access, const http::Request& request,
               workspace::Principal& who) const;
  http::Response Health(http::Request& request) const;

  ApiServices services_;
  ApiOptions options_;
  http::Router router_;
  BlobResource blob_resource_;
  RunResource run_resource_;
  RunnerResource runner_resource_;
  ModelResource model_resource_;
  DatasetResource dataset_resource_;
  EnvironmentResource environment_resource_;
  ComputeResource compute_resource_;
  AccessResource access_resource_;
  EndpointResource endpoint_resource_;
  SweepResource sweep_resource_;
};

}  // namespace gantry::api
