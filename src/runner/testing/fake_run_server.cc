#include "runner/testing/fake_run_server.h"

#include "artifacts/tree.h"
#include "common/hashing.h"
#include "jobs/run_messages.h"
#include "jobs/run_status.h"

namespace gantry::runner::testing {

using http::Request;
using http::Response;

Result<std::unique_ptr<FakeRunServer>> FakeRunServer::Start(const std::string& token) {
  std::unique_ptr<FakeRunServer> fake(new FakeRunServer(token));
  fake->Route();
  ASSIGN_OR_RETURN(fake->server_, http::HttpServer::Start(
                                      {}, [f = fake.get()](Request& r) { return f->Handle(r); }));
  return fake;
}

FakeRunServer::FakeRunServer(std::string token) : token_(std::move(token)) {}

FakeRunServer::~FakeRunServer() {
  if (server_) server_->Stop();
}

std::string FakeRunServer::url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port());
}

Response FakeRunServer::Handle(Request& r) {
  std::function<void(const std::string&, const std::string&)> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hook = on_request_;
  }
  if (hook) hook(r.method, r.path);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_ && unavailable_(r.method, r.path)) {
      ++unavailable_answers_;
      return Response::FromStatus(UnavailableError("the fake server is away"));
    }
  }
  return router_.Route(r);
}

FakeRunServer::RunState* FakeRunServer::FindRun(const Request& r, Response* error) {
  auto it = runs_.find(r.Param("name"));
  if (it == runs_.end()) {
    *error = Response::FromStatus(NotFoundError("no run named '" + r.Param("name") + "'"));
    return nullptr;
  }
  return &it->second;
}

void FakeRunServer::Route() {
  const std::string api = "/api/v1";
  auto runner_only = [this](auto handler) {
    return [this, handler](Request& r) -> Response {
      if (r.BearerToken().empty()) return Response::FromStatus(UnauthenticatedError("no token"));
      if (r.BearerToken() != token_)
        return Response::FromStatus(PermissionDeniedError("bad token"));
      return handler(r);
    };
  };

  router_.Add("GET", api + "/runs/{name}", [this](Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    Response error;
    RunState* run = FindRun(r, &error);
    return run ? Response::FromJson(200, run->run) : error;
  });

  router_.Add("POST", api + "/runs/{name}/status", runner_only([this](Request& r) {
                std::string run_name, status;
                Response answer;
                {
                  std::lock_guard<std::mutex> lock(mu_);
                  Response error;
                  RunState* run = FindRun(r, &error);
                  if (!run) return error;
                  Result<Json> body = ParseJson(r.body);
                  if (!body) return Response::FromStatus(body.error());
                  Result<jobs::StatusReport> report = jobs::StatusReportFromJson(*body);
                  if (!report) return Response::FromStatus(report.error());
                  const jobs::RunStatus* to = &report->status;
                  Result<jobs::RunStatus> from =
                      jobs::ParseRunStatus(run->run["status"].get<std::string>());
                  if (quiet_while_cancel_requested_ && *from == jobs::RunStatus::kCancelRequested &&
                      !jobs::IsTerminal(*to)) {
                    return Response::FromJson(200, run->run);
                  }
                  if (Status s = jobs::CheckTransition(*from, *to); !s.ok())
                    return Response::FromStatus(s);
                  status = std::string(jobs::RunStatusName(*to));
                  run->run["status"] = status;
                  if (body->contains("error")) run->run["error"] = (*body)["error"];
                  if (body->contains("exit_code")) run->run["exit_code"] = (*body)["exit_code"];
                  run->history.push_back(status);
                  run->last_status_body = *body;
                  run_name = r.Param("name");
                  answer = Response::FromJson(200, run->run);
                }
                std::function<void(const std::string&, const std::string&)> hook;
                {
                  std::lock_guard<std::mutex> lock(mu_);
                  hook = on_status_;
                }
                if (hook) hook(run_name, status);
                return answer;
              }));

  router_.Add("POST", api + "/runs/{name}/heartbeat", runner_only([this](Request& r) {
                std::lock_guard<std::mutex> lock(mu_);
                Response error;
                RunState* run = FindRun(r, &error);
                if (!run) return error;
                ++run->heartbeats;
                return Response::FromJson(200, jobs::RunControlReplyToJson(
                                                   {.status = run->run["status"].get<std::string>(),
                                                    .cancel_requested = run->cancel_requested}));
              }));

  router_.Add("POST", api + "/runs/{name}/logs/{stream}", runner_only([this](Request& r) {
                std::string log;
                std::function<void(const std::string&, const std::string&)> hook;
                Response answer;
                {
                  std::lock_guard<std::mutex> lock(mu_);
                  Response error;
                  RunState* run = FindRun(r, &error);
                  if (!run) return error;
                  int64_t offset = std::stoll(r.Query("offset", "0"));
                  int64_t len = static_cast<int64_t>(run->log.size());
                  if (offset > len) return Response::FromStatus(FailedPreconditionError("gap"));
                  size_t skip = static_cast<size_t>(len - offset);
                  if (skip < r.body.size()) run->log += r.body.substr(skip);
                  log = run->log;
                  hook = on_log_;
                  answer = Response::FromJson(200, {{"length", run->log.size()}});
                }
                if (hook) hook(r.Param("name"), log);
                return answer;
              }));

  router_.Add("POST", api + "/runs/{name}/metrics", runner_only([this](Request& r) {
                std::lock_guard<std::mutex> lock(mu_);
                Response error;
                RunState* run = FindRun(r, &error);
                if (!run) return error;
                Result<Json> body = ParseJson(r.body);
                if (!body || !body->contains("metrics"))
                  return Response::FromStatus(InvalidArgumentError("metrics"));
                for (const Json& m : (*body)["metrics"]) run->metrics.push_back(m);
                return Response::FromJson(200, {{"accepted", (*body)["metrics"].size()}});
              }));

  router_.Add("POST", api + "/runs/{name}/tags", runner_only([this](Request& r) {
                std::lock_guard<std::mutex> lock(mu_);
                Response error;
                RunState* run = FindRun(r, &error);
                if (!run) return error;
                Result<Json> body = ParseJson(r.body);
                if (!body || !body->contains("tags"))
                  return Response::FromStatus(InvalidArgumentError("tags"));
                for (const auto& [k, v] : (*body)["tags"].items())
                  run->tags[k] = v.get<std::string>();
                return Response::FromJson(200, run->run);
              }));

  router_.Add("POST", api + "/runs/{name}/artifacts", runner_only([this](Request& r) {
                std::lock_guard<std::mutex> lock(mu_);
                Response error;
                RunState* run = FindRun(r, &error);
                if (!run) return error;
                Result<Json> body = ParseJson(r.body);
                if (!body) return Response::FromStatus(body.error());
                for (const Json& a : (*body)["artifacts"]) {
                  std::string blob = a["blob"].get<std::string>();
                  if (!blobs_.count(blob))
                    return Response::FromStatus(FailedPreconditionError("no blob " + blob));
                }
                for (const Json& a : (*body)["artifacts"]) {
                  run->artifacts[a["path"].get<std::string>()] = a["blob"].get<std::string>();
                }
                return Response::FromJson(200, {{"count", (*body)["artifacts"].size()}});
              }));

  router_.Add("POST", api + "/blobs/missing", [this](Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    Result<Json> body = ParseJson(r.body);
    if (!body) return Response::FromStatus(body.error());
    Json missing = Json::array();
    for (const Json& sha : (*body)["blobs"]) {
      if (!blobs_.count(sha.get<std::string>())) missing.push_back(sha);
    }
    return Response::FromJson(200, {{"missing", missing}});
  });

  router_.Add("PUT", api + "/blobs/{sha}", [this](Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Sha256Hex(r.body) != r.Param("sha")) {
      return Response::FromStatus(InvalidArgumentError("content does not match its name"));
    }
    blobs_[r.Param("sha")] = r.body;
    return Response::FromJson(201, {{"blob", r.Param("sha")}});
  });

  router_.Add("GET", api + "/blobs/{sha}", [this](Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blobs_.find(r.Param("sha"));
    if (it == blobs_.end()) return Response::FromStatus(NotFoundError("no blob"));
    return Response::Text(200, it->second, "application/octet-stream");
  });

  router_.Add("GET", api + "/trees/{id}", [this](Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blobs_.find(r.Param("id"));
    if (it == blobs_.end()) return Response::FromStatus(NotFoundError("no tree"));
    return Response::Text(200, it->second, "application/json");
  });
}

std::string FakeRunServer::PutBlob(const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string sha = Sha256Hex(data);
  blobs_[sha] = data;
  return sha;
}

std::string FakeRunServer::PutTree(const std::map<std::string, std::string>& files) {
  artifacts::Tree tree;
  for (const auto& [path, content] : files) {
    // A test fake: the tests name valid paths.
    (void)tree.Add({.path = path,
                    .blob = PutBlob(content),
                    .size = static_cast<int64_t>(content.size()),
                    .mode = path.ends_with(".sh") ? 0755u : 0644u});
  }
  return PutBlob(tree.ToJson());
}

void FakeRunServer::AddRun(const std::string& name, const Json& spec,
                           const std::string& snapshot_id, const Json& input_trees,
                           const std::string& status) {
  std::lock_guard<std::mutex> lock(mu_);
  RunState& run = runs_[name];
  run.run = {{"name", name}, {"experiment_name", "exp"},   {"status", status},
             {"spec", spec}, {"snapshot_id", snapshot_id}, {"input_trees", input_trees}};
}

void FakeRunServer::RequestCancel(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  RunState& run = runs_.at(name);
  run.cancel_requested = true;
  run.run["status"] = "CancelRequested";
}

void FakeRunServer::OnStatus(std::function<void(const std::string&, const std::string&)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  on_status_ = std::move(hook);
}

void FakeRunServer::OnLog(std::function<void(const std::string&, const std::string&)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  on_log_ = std::move(hook);
}

void FakeRunServer::OnRequest(std::function<void(const std::string&, const std::string&)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  on_request_ = std::move(hook);
}

void FakeRunServer::SetQuietWhileCancelRequested(bool quiet) {
  std::lock_guard<std::mutex> lock(mu_);
  quiet_while_cancel_requested_ = quiet;
}

void FakeRunServer::SetUnavailable(
    std::function<bool(const std::string&, const std::string&)> pred) {
  std::lock_guard<std::mutex> lock(mu_);
  unavailable_ = std::move(pred);
}

std::string FakeRunServer::CurrentStatus(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).run["status"].get<std::string>();
}

std::vector<std::string> FakeRunServer::StatusHistory(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).history;
}

Json FakeRunServer::LastStatusBody(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).last_status_body;
}

std::string FakeRunServer::Log(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).log;
}

std::vector<Json> FakeRunServer::Metrics(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).metrics;
}

std::map<std::string, std::string> FakeRunServer::Tags(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).tags;
}

std::map<std::string, std::string> FakeRunServer::Artifacts(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [path, blob] : runs_.at(name).artifacts) out[path] = blobs_.at(blob);
  return out;
}

int FakeRunServer::Heartbeats(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.at(name).heartbeats;
}

int FakeRunServer::UnavailableAnswers() {
  std::lock_guard<std::mutex> lock(mu_);
  return unavailable_answers_;
}

}  // namespace gantry::runner::testing
