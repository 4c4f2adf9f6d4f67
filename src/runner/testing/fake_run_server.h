// FakeRunServer: an in-process stand-in for the workspace server's REST endpoints that a
// runner uses (docs/rest-api.md): runs, status (checked by the real run state machine),
// heartbeat, logs, metrics, tags, artifacts, blobs and trees. It keeps everything in memory
// and lets a test request a cancel, make the server unreachable (503) for chosen requests,
// and read back what the runner delivered.
//
// Thread-safe: the HTTP server calls it from its connection threads while the test reads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "http/http_server.h"
#include "http/router.h"

namespace gantry::runner::testing {

class FakeRunServer {
 public:
  // Listens on a free loopback port; runner endpoints require Bearer `token`.
  static Result<std::unique_ptr<FakeRunServer>> Start(const std::string& token);
  ~FakeRunServer();

  // "http://127.0.0.1:PORT"
  std::string url() const;

  // Stores bytes; returns their SHA-256.
  std::string PutBlob(const std::string& data);
  // Stores a tree of path → content (mode 0644, or 0755 for paths ending in ".sh"); returns
  // its id.
  std::string PutTree(const std::map<std::string, std::string>& files);
  // Adds a run in Preparing, as the server leaves it when it launches a runner.
  void AddRun(const std::string& name, const Json& spec, const std::string& snapshot_id = "",
              const Json& input_trees = Json::object(), const std::string& status = "Preparing");

  // Cancels like POST /runs/{name}/cancel on an active run.
  void RequestCancel(const std::string& name);
  // Called (outside the server's lock) after each accepted status change.
  void OnStatus(std::function<void(const std::string& run, const std::string& status)> hook);
  // Called (outside the server's lock) after each log append, with the whole log so far.
  void OnLog(std::function<void(const std::string& run, const std::string& log)> hook);
  // Called (outside the server's lock) before each request is handled.
  void OnRequest(std::function<void(const std::string& method, const std::string& path)> hook);
  // Like the real server: while a cancel is pending, non-final status posts are answered 200
  // (with the run, status CancelRequested) instead of 412.
  void SetQuietWhileCancelRequested(bool quiet);
  // Requests for which `pred(method, path)` is true are answered 503 until it says otherwise.
  void SetUnavailable(std::function<bool(const std::string& method, const std::string& path)> pred);

  // What the runner delivered.
  std::string CurrentStatus(const std::string& name);
  // Statuses the runner moved the run through, in order.
  std::vector<std::string> StatusHistory(const std::string& name);
  // Body of the last accepted status post.
  Json LastStatusBody(const std::string& name);
  std::string Log(const std::string& name);
  std::vector<Json> Metrics(const std::string& name);
  std::map<std::string, std::string> Tags(const std::string& name);
  // Artifact path → content.
  std::map<std::string, std::string> Artifacts(const std::string& name);
  int Heartbeats(const std::string& name);
  int UnavailableAnswers();

 private:
  struct RunState {
    Json run;
    std::vector<std::string> history;
    Json last_status_body;
    std::string log;
    std::vector<Json> metrics;
    std::map<std::string, std::string> tags;
    std::map<std::string, std::string> artifacts;  // path → blob
    bool cancel_requested = false;
    int heartbeats = 0;
  };

  FakeRunServer(std::string token);
  void Route();
  http::Response Handle(http::Request& r);
  // Run named in the request, or an error response; caller holds mu_.
  RunState* FindRun(const http::Request& r, http::Response* error);

  std::string token_;
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;

  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, RunState> runs_;
  std::function<bool(const std::string&, const std::string&)> unavailable_;
  std::function<void(const std::string&, const std::string&)> on_status_;
  std::function<void(const std::string&, const std::string&)> on_log_;
  std::function<void(const std::string&, const std::string&)> on_request_;
  bool quiet_while_cancel_requested_ = false;
  int unavailable_answers_ = 0;
};

}  // namespace gantry::runner::testing
