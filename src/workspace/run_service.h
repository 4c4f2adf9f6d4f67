// RunService: the business rules for runs — submission, the status state machine applied to
// every change, cancel, the runner's reports (status, logs, metrics, tags, artifacts), and
// waiting for news. HTTP handlers and the scheduler call it; it includes neither Beast nor
// SQL. Thread-safe: status changes of all runs are serialized by one mutex (they are rare);
// log and metric appends go straight to the store, which is thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "artifacts/blob_store.h"
#include "common/clock.h"
#include "jobs/job_spec.h"
#include "jobs/run_messages.h"
#include "jobs/run_status.h"
#include "store/metadata_store.h"
#include "workspace/compute_service.h"
#include "workspace/dataset_service.h"
#include "workspace/environment_service.h"

namespace gantry::workspace {

struct SubmitRequest {
  jobs::JobSpec spec;
  std::string snapshot_id;                         // "" when the job has no code
  std::map<std::string, std::string> input_trees;  // uri input name → tree id
  std::string parent;                              // a sweep's trial: the sweep's name
  std::map<std::string, std::string> properties;
};

// Told of every batch of metrics a run reports, once it is stored (the sweep's early
// termination judges trials there). Called on the reporting request's thread, without
// RunService's locks held.
class MetricsObserver {
 public:
  virtual ~MetricsObserver() = default;
  virtual void OnMetrics(const std::string& run, const std::vector<store::MetricPoint>& points) = 0;
};

// What runners report and are told (jobs/run_messages.h): one shape for the API, the runner
// and the test fakes.
using jobs::NodeReport;
using jobs::NodesView;
using jobs::RunControlReply;
using jobs::StatusReport;

// What GET /runs/NAME shows: the run, its status history, the latest value of each metric and
// its log streams with their sizes.
struct RunDescription {
  store::RunRecord run;
  std::vector<store::StatusEvent> history;
  std::vector<store::MetricPoint> latest_metrics;
  std::vector<std::pair<std::string, int64_t>> logs;  // stream → size
};

struct RunEvents {
  std::string status;
  std::vector<store::StatusEvent> events;  // history from the requested index on
  size_t next = 0;                         // index to ask from next time
  std::string log;                         // std_log.txt bytes from the requested offset
  int64_t offset = 0;                      // offset to ask from next time
  bool terminal = false;
};

struct RunTokenOwner {
  std::string run;
  bool ended = false;  // Completed, Failed or Canceled
};

class RunService {
 public:
  // `datasets` resolves dataset references in job inputs; may be null (then they are refused).
  // `computes` validates compute names (null: only "local").
  RunService(store::MetadataStore* store, artifacts::BlobStore* blobs, Clock* clock,
             DatasetService* datasets = nullptr, ComputeService* computes = nullptr,
             EnvironmentService* environments = nullptr);

  // Creates a Queued run. InvalidArgument for a bad spec, FailedPrecondition when the
  // snapshot or an input tree is not in the artifact store.
  Result<store::RunRecord> Submit(const SubmitRequest& request);
  Result<store::RunRecord> Get(const std::string& name);
  Result<std::vector<store::RunRecord>> List(const store::RunFilter& filter);
  Result<std::vector<store::StatusEvent>> History(const std::string& name);
  // Read-through accessors for a run's logs, metrics and artifacts.
  Result<std::vector<std::pair<std::string, int64_t>>> Logs(const std::string& name);
  Result<std::string> ReadLog(const std::string& name, const std::string& stream, int64_t offset,
                              int64_t max_bytes);
  Result<std::vector<store::MetricPoint>> Metrics(const std::string& name,
                                                  const std::string& key = "");
  Result<std::vector<store::MetricPoint>> LatestMetrics(const std::string& name);
  // NotFound for an unknown run; the history, metrics and logs it cannot read are left empty.
  Result<RunDescription> Describe(const std::string& name);
  // The bytes of artifact `path` of the run: InvalidArgument for a path that leaves the run,
  // NotFound naming the artifact when the run has none at that path.
  Result<std::string> ReadArtifact(const std::string& name, const std::string& path);
  Result<std::vector<store::ArtifactRecord>> Artifacts(const std::string& name,
                                                       const std::string& prefix = "");
  // The run's artifacts under `folder`/ (e.g. "outputs") as a stored tree, the prefix
  // removed: what a resumed sweep trial receives of the trial it resumes. An empty tree when
  // there are none; NotFound for an unknown run.
  Result<std::string> FolderTree(const std::string& name, const std::string& folder);
  // Queued → Canceled; active → CancelRequested (the runner stops the job); finished →
  // FailedPrecondition.
  // `reason` is the status detail recorded with the cancel ("" = "cancel requested by the
  // user"): a sweep's early termination says which policy stopped the trial and why.
  Result<store::RunRecord> Cancel(const std::string& name, const std::string& reason = "");

  // Sweeps (issue 12). A sweep's parent run has no runner: it is created Running (kind
  // "sweep") and ended by the sweep service with EndSweep (Completed through Finalizing,
  // Failed with `error`, or Canceled once its cancel was requested).
  Result<store::RunRecord> CreateSweep(store::RunRecord run);
  Status EndSweep(const std::string& name, jobs::RunStatus to, const std::string& detail,
                  const std::string& error = "");
  // Adds or replaces server-set properties of a run (a sweep's best trial, a trial's stop
  // reason). NotFound for an unknown run.
  Status SetProperties(const std::string& name,
                       const std::map<std::string, std::string>& properties);
  // Appends `text` to the run's std_log.txt from the server itself (a sweep's log of its
  // trials). Serialized with other server-side appends.
  Status AppendServerLog(const std::string& name, std::string_view text);
  // Set once, before the server takes requests.
  void SetMetricsObserver(MetricsObserver* observer) { metrics_observer_ = observer; }
  // Files a person (or the run itself) adds to a run, in any state: an image logged from a
  // notebook after the run ended, say. Unlike the runner's AddArtifacts it never replaces a
  // file: AlreadyExists naming the first path the run already has, and then nothing is
  // added. NotFound for an unknown run, InvalidArgument for a path outside the run,
  // FailedPrecondition for a blob not in the artifact store.
  Status AddFiles(const std::string& name, const std::vector<store::ArtifactRecord>& files);

  // A run-scoped token is "gtr_", 64 hex digits, then the run's name; only its hash is
  // stored. Returns the run it belongs to and whether that run has ended. Unauthenticated
  // when it is malformed or not the run's current token.
  static constexpr char kRunTokenPrefix[] = "gtr_";
  Result<RunTokenOwner> AuthenticateRunToken(const std::string& token);

  // Runner reports; each checks the run-scoped token (Unauthenticated/PermissionDenied).
  Result<store::RunRecord> ReportStatus(const std::string& name, const std::string& token,
                                        const StatusReport& report);
  Result<RunControlReply> Heartbeat(const std::string& name, const std::string& token);
  // A node runner's report (multi-node jobs): records it and answers every node's last
  // report. InvalidArgument naming the field for an unknown state or a rank outside the job's
  // resources.instance_count. Node reports live in this process's memory (a restarted server
  // relearns them: runners repeat theirs every heartbeat); they are dropped when the run ends.
  Result<NodesView> ReportNode(const std::string& name, const std::string& token,
                               NodeReport report);
  Result<NodesView> Nodes(const std::string& name);
  Result<int64_t> AppendLog(const std::string& name, const std::string& token,
                            const std::string& stream, int64_t offset, std::string_view data);
  // `through`: see MetadataStore::AppendMetrics (0 = no resend protection).
  Status AppendMetrics(const std::string& name, const std::string& token,
                       std::vector<store::MetricPoint> points, int64_t through = 0,
                       const std::string& sender = "");
  Result<store::RunRecord> SetTags(const std::string& name, const std::string& token,
                                   const std::map<std::string, std::string>& tags);
  Status AddArtifacts(const std::string& name, const std::string& token,
                      const std::vector<store::ArtifactRecord>& artifacts);

  // Long poll: answers at once when there are status events after `since`, log bytes after
  // `offset`, or the run is finished; otherwise waits up to `wait_ms` for news.
  Result<RunEvents> WaitForEvents(const std::string& name, size_t since, int64_t offset,
                                  int64_t wait_ms);

  // Scheduler side. Moves a Queued run to Preparing and returns a new run-scoped token (only
  // its hash is stored). Done before the runner starts, so its first report is accepted.
  Result<std::string> BeginLaunch(const std::string& name);
  // Records the started runner's pid and the GPUs handed to it.
  Status SetRunnerPid(const std::string& name, int64_t runner_pid,
                      const std::vector<int>& gpus = {});
  // Batch backends (Slurm), where a run stays Queued while the batch system holds its job:
  // returns a new run-scoped token for a Queued run without changing its status.
  Result<std::string> IssueQueuedToken(const std::string& name);
  // Records the batch job's id. FailedPrecondition when the run finished meanwhile (a cancel
  // while sbatch ran): the caller then cancels the job.
  Status SetLaunchId(const std::string& name, const std::string& launch_id);
  // Updates a Queued run's status detail (why the batch system holds it); no-op otherwise.
  Status SetQueuedDetail(const std::string& name, const std::string& detail);
  // Queued → Preparing once the batch job runs; no-op when the run is no longer Queued (its
  // runner's first report already moved it).
  Status MarkBatchJobStarted(const std::string& name, const std::string& detail);
  // Moves a non-finished run to Failed with `reason` (runner died, launch failed).
  Status Fail(const std::string& name, const std::string& reason);
  // Bumps when anything a scheduler cares about changes (new run, run finished, cancel).
  uint64_t change_count();
  // Bumps only when a run is created or changes status (not for logs or metrics): what a
  // sweep's decisions depend on.
  uint64_t status_change_count() const { return status_changes_.load(); }
  // Blocks until change_count() != seen or `timeout_ms` passes; returns the new count.
  uint64_t WaitForChange(uint64_t seen, int64_t timeout_ms);
  // Wakes every waiter.
  void WakeAll();
  // Makes every current and future WaitForEvents answer at once (server shutdown).
  void Shutdown();

 private:
  struct TokenEntry {
    std::string hash;  // SHA-256 of the run's current token
    bool ended = false;
  };
  Result<TokenEntry> TokenOf(const std::string& name);
  Status CheckToken(const std::string& name, const std::string& token);
  static std::string NewRunToken(const std::string& name);
  // Applies a transition through the state machine and stores it with its event.
  Status Transition(store::RunRecord& run, jobs::RunStatus to, const std::string& detail);
  void Notify();
  Result<NodesView> NodesOf(const store::RunRecord& run);
  // Appends the complete lines `stream` (a node's log) gained to std_log.txt.
  void MergeNodeLog(const std::string& name, const std::string& stream, int64_t offset,
                    int64_t length);

  store::MetadataStore* store_;
  artifacts::BlobStore* blobs_;
  Clock* clock_;
  DatasetService* datasets_;
  ComputeService* computes_;
  EnvironmentService* environments_;
  MetricsObserver* metrics_observer_ = nullptr;

  std::mutex mu_;  // serializes read-modify-write of run rows
  std::mutex tokens_mu_;
  std::map<std::string, TokenEntry> tokens_;  // guarded by tokens_mu_; cache of the store
  std::mutex change_mu_;
  std::condition_variable change_cv_;
  uint64_t changes_ = 0;  // guarded by change_mu_
  std::atomic<uint64_t> status_changes_{0};
  bool shutting_down_ = false;  // guarded by change_mu_
  std::mutex nodes_mu_;
  // run → rank → last report; guarded by nodes_mu_.
  std::map<std::string, std::map<int64_t, NodeReport>> nodes_;
  // (run, node log stream) → how far it has been merged into std_log.txt; guarded by
  // nodes_mu_ (which also serializes the merges).
  std::map<std::pair<std::string, std::string>, int64_t> merged_;
};

}  // namespace gantry::workspace
