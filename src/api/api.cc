#include "api/api.h"

#include <utility>

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Principal;
using workspace::Role;
using workspace::RouteAccess;
using workspace::RunAccess;

Api::Api(ApiServices services, ApiOptions options)
    : services_(services),
      options_(std::move(options)),
      blob_resource_(services.blobs),
      run_resource_(services.runs),
      runner_resource_(services.runs),
      model_resource_(services.models),
      dataset_resource_(services.datasets),
      environment_resource_(services.environments),
      compute_resource_(services.computes),
      access_resource_(services.access),
      endpoint_resource_(services.endpoints),
      sweep_resource_(services.sweeps) {
  Add("GET", std::string(kApiPrefix) + "/health", RouteAccess::Open(),
      [this](Request& r) { return Health(r); });
  blob_resource_.AddTo(*this);
  run_resource_.AddTo(*this);
  runner_resource_.AddTo(*this);
  access_resource_.AddTo(*this);
  model_resource_.AddTo(*this);
  dataset_resource_.AddTo(*this);
  compute_resource_.AddTo(*this);
  environment_resource_.AddTo(*this);
  endpoint_resource_.AddTo(*this);
  sweep_resource_.AddTo(*this);
}

Response Api::Handle(Request& request) const { return router_.Route(request); }

Response Api::Health(Request&) const {
  return Response::FromJson(
      200, {{"status", "ok"}, {"workspace", options_.workspace_name}, {"version", "0.1.0"}});
}

void Api::Add(const std::string& method, const std::string& pattern, RouteAccess access,
              http::Handler handler) {
  router_.Add(method, pattern, [this, access, handler = std::move(handler)](Request& req) {
    return Guarded(access, handler, req);
  });
}

Result<Principal> Api::Caller(const Request& req) const {
  std::string credential = req.Credential();
  if (credential.empty()) {
    // With authentication off (a loopback-only server started with --no-auth) nobody needs
    // a credential: every caller acts as the owner.
    if (!options_.require_auth) return Principal::User(Role::kOwner, "none");
    return Principal::Anonymous();
  }
  if (credential.starts_with(workspace::RunService::kRunTokenPrefix)) {
    ASSIGN_OR_RETURN(workspace::RunTokenOwner owner,
                     services_.runs.AuthenticateRunToken(credential));
    return Principal::Run(std::move(owner.run), owner.ended);
  }
  return services_.access.Authenticate(credential);
}

// The one credential check: every route goes through Guarded, and so through here, before its
// handler; large uploads also before their body is read (BeforeBody).
Status Api::Check(const RouteAccess& access, const Request& req, Principal& who) const {
  if (!workspace::SameOrigin(req.Header("origin"), req.Header("host"))) {
    // A page in the user's browser must not drive the API of a server it is not served by.
    return PermissionDeniedError("cross-origin request refused: Origin '" + req.Header("origin") +
                                 "' is not this server");
  }
  if (access.open) return Status::Ok();
  auto caller = Caller(req);
  if (!caller.has_value()) return caller.error();
  who = std::move(*caller);
  return workspace::Authorize(who, access,
                              access.run == RunAccess::kOwnRun ? req.Param("name") : std::string());
}

namespace {
Response Refusal(const Status& st) {
  Response response = Response::FromStatus(st);
  if (st.code() == StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gantry\"");
  }
  return response;
}

bool IsBlobUpload(const std::string& method, const std::string& path) {
  return method == "PUT" && path.rfind(std::string(kApiPrefix) + "/blobs/", 0) == 0;
}
}  // namespace

Response Api::Guarded(const RouteAccess& access, const http::Handler& handler, Request& req) const {
  Principal who = Principal::Anonymous();
  Status allowed = Check(access, req, who);
  Response response = allowed.ok() ? handler(req) : Refusal(allowed);
  // The audit log keeps what people change, and every refused attempt to change something;
  // runners' own reports (logs, metrics, heartbeats) would drown it.
  if (access.audited && (who.kind != Principal::Kind::kRun || !allowed.ok())) {
    services_.access.Audit(who, req.method, req.path, response.status, req.remote_address);
  }
  return response;
}

std::optional<Response> Api::BeforeBody(const Request& head) const {
  if (BodyToFile(head.method, head.path).empty() &&
      BodyLimit(head.method, head.path) <= options_.max_json_bytes) {
    return std::nullopt;  // small bodies are checked with their route, after they arrive
  }
  Principal who = Principal::Anonymous();
  Status allowed = Check(BlobResource::UploadAccess(), head, who);
  if (allowed.ok()) return std::nullopt;
  return Refusal(allowed);
}

size_t Api::BodyLimit(const std::string& method, const std::string& path) const {
  return IsBlobUpload(method, path) ? options_.max_blob_bytes : options_.max_json_bytes;
}

std::string Api::BodyToFile(const std::string& method, const std::string& path) const {
  return IsBlobUpload(method, path) ? options_.upload_dir : "";
}

}  // namespace gantry::api
