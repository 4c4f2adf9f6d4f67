// RunClient: the runner's typed view of the workspace server's REST API for one run
// (docs/rest-api.md): the run itself, its status, heartbeat and node reports (in the typed
// shapes of jobs/run_messages.h), logs, metrics, tags, artifacts,
// and the blob and tree endpoints it needs to download inputs and upload outputs.
//
// Every call carries the run's bearer token. Errors: Unavailable when the server cannot be
// reached (or answers 503): the caller keeps its data and retries later; any other answer
// comes back as the Status in the server's error body (FailedPrecondition for 412, ...).
//
// Thread-compatible: one owner thread (it wraps one keep-alive HttpClient).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "artifacts/tree.h"
#include "common/json.h"
#include "common/status.h"
#include "http/http_client.h"
#include "jobs/run_messages.h"
#include "runner/log_shipper.h"
#include "runner/metrics_relay.h"
#include "runner/server_link.h"

namespace gantry::runner {

struct RunClientOptions {
  // e.g. "http://127.0.0.1:8765"
  std::string server_url;
  std::string run_name;
  // Run-scoped bearer token.
  std::string token;
  // For an https:// server: the PEM CA file its certificate is verified with ("" : the
  // system's CAs).
  std::string ca_file;
  // Log stream that AppendLog writes to.
  std::string log_stream = jobs::kMergedLogStream;
  // Names this sender's metric record stream when several send to one run (a multi-node
  // job's nodes: "node_1"); "" for the run's only one.
  std::string metrics_sender;
  // Per-request timeout.
  int timeout_ms = 20'000;
};

class RunClient : public LogSink, public MetricsSink, public RunControl {
 public:
  // InvalidArgument for a malformed server URL.
  static Result<std::unique_ptr<RunClient>> Create(const RunClientOptions& options);

  // RunControl (server_link.h): the run, its status, heartbeat and, for multi-node jobs,
  // the node reports (POST /runs/{name}/nodes/{rank}). A malformed answer is Internal.
  Result<Json> GetRun() override;
  Result<jobs::RunControlReply> PostStatus(const jobs::StatusReport& report) override;
  Result<jobs::RunControlReply> Heartbeat() override;
  Result<jobs::NodesView> PostNode(const jobs::NodeReport& report) override;

  // LogSink: POST /runs/{name}/logs/{stream}?offset=N, to options.log_stream.
  Result<int64_t> AppendLog(int64_t offset, std::string_view data) override;
  // The same, to another stream of the run (a distributed job's per-rank logs).
  Result<int64_t> AppendLogTo(const std::string& stream, int64_t offset, std::string_view data);
  // MetricsSink: POST /runs/{name}/metrics and /tags.
  Status PostMetrics(const Json& metrics, int64_t through) override;
  Status PostTags(const Json& tags) override;
  // Whether an answer to PostMetrics said a cancel is pending (a sweep's policy stopped the
  // run on those points); reading it clears it. The runner then heartbeats at once.
  bool TakeCancelHint() { return cancel_hint_.exchange(false); }

  // GET /trees/{id}, validated.
  Result<artifacts::Tree> GetTree(const std::string& id);
  // GET /blobs/{sha}: the raw bytes.
  Result<std::string> GetBlob(const std::string& sha);
  // POST /blobs/missing: which of `shas` the server lacks.
  Result<std::vector<std::string>> MissingBlobs(const std::vector<std::string>& shas);
  // PUT /blobs/{sha}.
  Status PutBlob(const std::string& sha, const std::string& data);
  // POST /runs/{name}/artifacts, in several requests when there are many entries.
  // FailedPrecondition when a blob is missing.
  Status PostArtifacts(const std::vector<artifacts::TreeEntry>& entries);

 private:
  RunClient(RunClientOptions options, std::unique_ptr<http::HttpClient> http);
  // Sends JSON (invalid UTF-8 replaced, never thrown) and parses a JSON answer.
  Result<Json> CallJson(const std::string& method, const std::string& path, const Json& body);
  std::string RunPath(std::string_view suffix) const;

  RunClientOptions options_;
  std::unique_ptr<http::HttpClient> http_;
  std::atomic<bool> cancel_hint_{false};
};

// A LogSink for one named log stream of the run, through a RunClient it does not own.
class RunLogStream : public LogSink {
 public:
  RunLogStream(RunClient* client, std::string stream)
      : client_(client), stream_(std::move(stream)) {}
  Result<int64_t> AppendLog(int64_t offset, std::string_view data) override {
    return client_->AppendLogTo(stream_, offset, data);
  }

 private:
  RunClient* client_;
  std::string stream_;
};

}  // namespace gantry::runner
