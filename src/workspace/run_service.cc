#include "workspace/run_service.h"

#include <chrono>
#include <set>

#include "artifacts/tree.h"
#include "common/files.h"
#include "common/hashing.h"
#include "common/ids.h"
#include "common/names.h"
#include "jobs/distribution.h"
#include "jobs/run_spec.h"

namespace gantry::workspace {

using jobs::RunStatus;
using store::RunRecord;

RunService::RunService(store::MetadataStore* store, artifacts::BlobStore* blobs, Clock* clock,
                       DatasetService* datasets, ComputeService* computes,
                       EnvironmentService* environments)
    : store_(store),
      blobs_(blobs),
      clock_(clock),
      datasets_(datasets),
      computes_(computes),
      environments_(environments) {}

Result<RunRecord> RunService::Submit(const SubmitRequest& original) {
  SubmitRequest request = original;
  const jobs::JobSpec& spec = request.spec;
  // A run's name becomes a folder on the server and on each node; an experiment's groups
  // runs in URLs. Display names stay free text.
  if (!spec.name.empty()) RETURN_IF_ERROR(ValidateName("run name", spec.name));
  if (!spec.experiment_name.empty()) {
    RETURN_IF_ERROR(ValidateName("experiment name", spec.experiment_name));
  }
  // Dataset references in inputs become the dataset version's pinned tree; the run records
  // which versions it used (lineage).
  jobs::RunSpec resolved;
  for (const auto& [name, input] : spec.inputs) {
    if (input.kind == jobs::InputSpec::Kind::kLiteral || !jobs::IsAssetReference(input.path)) {
      continue;
    }
    if (datasets_ == nullptr) {
      return Err(InvalidArgumentError("input '" + name + "': datasets are not available here"));
    }
    auto dataset = datasets_->Resolve(input.path);
    if (!dataset.has_value()) return Err(dataset.error().WithPrefix("input '" + name + "'"));
    request.input_trees[name] = dataset->tree_id;
    resolved.datasets.push_back(
        {.input = name, .name = dataset->name, .version = dataset->version});
  }
  if (spec.command.empty()) return Err(InvalidArgumentError("field 'command' is required"));
  RETURN_IF_ERROR(jobs::ValidatePlaceholders(spec));
  if (!request.snapshot_id.empty()) {
    if (!blobs_->Has(request.snapshot_id)) {
      return Err(FailedPreconditionError("snapshot " + request.snapshot_id +
                                         " is not in the artifact store; upload it first"));
    }
  }
  for (const auto& [name, input] : spec.inputs) {
    if (input.kind == jobs::InputSpec::Kind::kLiteral) continue;
    auto it = request.input_trees.find(name);
    if (it == request.input_trees.end()) {
      return Err(InvalidArgumentError("input '" + name + "' has no uploaded tree in input_trees"));
    }
    if (!blobs_->Has(it->second)) {
      return Err(FailedPreconditionError("tree " + it->second + " of input '" + name +
                                         "' is not in the artifact store"));
    }
  }
  // A registered or curated environment is pinned at submission: the run keeps the exact
  // spec (and its build hash) it was submitted with.
  if (jobs::IsAssetReference(spec.environment)) {
    if (environments_ == nullptr) {
      return Err(InvalidArgumentError("environment '" + spec.environment +
                                      "': registered environments are not available here"));
    }
    auto env = environments_->Resolve(spec.environment);
    if (!env.has_value()) return Err(env.error().WithPrefix("environment"));
    resolved.environment = jobs::PinnedEnvironment{
        .name = env->name, .version = env->version, .hash = env->hash, .spec = env->spec};
  }
  RunRecord run;
  run.name = spec.name.empty() ? NewRunName() : spec.name;
  run.experiment_name = spec.experiment_name.empty() ? "Default" : spec.experiment_name;
  run.display_name = spec.display_name.empty() ? run.name : spec.display_name;
  run.compute = spec.compute.empty() ? "local" : spec.compute;
  if (computes_ != nullptr) {
    auto target = computes_->Get(run.compute);
    if (!target.has_value()) {
      return Err(target.error().WithPrefix("compute"));
    }
    ASSIGN_OR_RETURN(resolved.plan, jobs::PlanDistribution(spec.resources, spec.distribution));
    RETURN_IF_ERROR(CheckNodesFit(*target, resolved.plan.instance_count));
  } else if (run.compute != kLocalCompute) {
    return Err(InvalidArgumentError("compute '" + run.compute +
                                    "' does not exist; this workspace has: local"));
  }
  run.status = std::string(jobs::RunStatusName(RunStatus::kNotStarted));
  resolved.job = spec;
  resolved.input_trees = request.input_trees;
  run.spec = jobs::RunSpecToJson(resolved);
  run.snapshot_id = request.snapshot_id;
  run.tags = Json::object();
  for (const auto& [k, v] : spec.tags) run.tags[k] = v;
  run.parent = request.parent;
  for (const auto& [k, v] : request.properties) run.properties[k] = v;
  run.created_at = run.updated_at = clock_->NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(store_->runs().CreateRun(run));
    RETURN_IF_ERROR(
        Transition(run, RunStatus::kQueued, "waiting for compute '" + run.compute + "'"));
  }
  Notify();
  return run;
}

Result<RunRecord> RunService::Get(const std::string& name) { return store_->runs().GetRun(name); }

Result<RunDescription> RunService::Describe(const std::string& name) {
  RunDescription d;
  ASSIGN_OR_RETURN(d.run, store_->runs().GetRun(name));
  d.history = History(name).value_or(std::vector<store::StatusEvent>{});
  d.latest_metrics = LatestMetrics(name).value_or(std::vector<store::MetricPoint>{});
  d.logs = Logs(name).value_or(std::vector<std::pair<std::string, int64_t>>{});
  return d;
}

Result<std::string> RunService::ReadArtifact(const std::string& name, const std::string& path) {
  if (!IsSafeRelativePath(path)) {
    return Err(InvalidArgumentError("artifact path '" + path + "' must stay inside the run"));
  }
  ASSIGN_OR_RETURN(std::vector<store::ArtifactRecord> list, Artifacts(name, path));
  for (const auto& a : list) {
    if (a.path == path) return blobs_->Get(a.blob);
  }
  return Err(NotFoundError("run '" + name + "' has no artifact '" + path + "'"));
}

Result<std::vector<RunRecord>> RunService::List(const store::RunFilter& filter) {
  return store_->runs().ListRuns(filter);
}

Result<std::vector<store::StatusEvent>> RunService::History(const std::string& name) {
  return store_->runs().GetStatusHistory(name);
}

Result<std::vector<std::pair<std::string, int64_t>>> RunService::Logs(const std::string& name) {
  return store_->logs().ListLogs(name);
}

Result<std::string> RunService::ReadLog(const std::string& name, const std::string& stream,
                                        int64_t offset, int64_t max_bytes) {
  return store_->logs().ReadLog(name, stream, offset, max_bytes);
}

Result<std::vector<store::MetricPoint>> RunService::Metrics(const std::string& name,
                                                            const std::string& key) {
  return store_->metrics().GetMetrics(name, key);
}

Result<std::vector<store::MetricPoint>> RunService::LatestMetrics(const std::string& name) {
  return store_->metrics().LatestMetrics(name);
}

Result<std::vector<store::ArtifactRecord>> RunService::Artifacts(const std::string& name,
                                                                 const std::string& prefix) {
  return store_->artifacts().ListArtifacts(name, prefix);
}

Result<std::string> RunService::FolderTree(const std::string& name, const std::string& folder) {
  RETURN_IF_ERROR(store_->runs().GetRun(name));
  const std::string prefix = folder + "/";
  ASSIGN_OR_RETURN(auto list, store_->artifacts().ListArtifacts(name, prefix));
  artifacts::Tree tree;
  for (const auto& a : list) {
    if (!a.path.starts_with(prefix)) continue;
    RETURN_IF_ERROR(tree.Add({a.path.substr(prefix.size()), a.blob, a.size, a.mode}));
  }
  return artifacts::StoreTree(*blobs_, tree);
}

Status RunService::Transition(RunRecord& run, RunStatus to, const std::string& detail) {
  ASSIGN_OR_RETURN(RunStatus from, jobs::ParseRunStatus(run.status));
  Status check = jobs::CheckTransition(from, to);
  if (!check.ok()) return check.WithPrefix("run '" + run.name + "'");
  int64_t now = clock_->NowMillis();
  run.status = std::string(jobs::RunStatusName(to));
  run.status_detail = detail;
  run.updated_at = now;
  if (to == RunStatus::kRunning && run.started_at == 0) run.started_at = now;
  if (jobs::IsTerminal(to)) run.ended_at = now;
  RETURN_IF_ERROR(store_->runs().UpdateRun(run, store::StatusEvent{run.status, now, detail}));
  ++status_changes_;
  if (jobs::IsTerminal(to)) {
    {
      // Set even when not cached, so that a concurrent TokenOf cannot cache the run as live.
      std::lock_guard<std::mutex> lock(tokens_mu_);
      tokens_[run.name] = {run.token_hash, true};
    }
    std::lock_guard<std::mutex> lock(nodes_mu_);
    nodes_.erase(run.name);
    std::erase_if(merged_, [&](const auto& entry) { return entry.first.first == run.name; });
  }
  return Status::Ok();
}

Result<RunRecord> RunService::CreateSweep(RunRecord run) {
  run.kind = "sweep";
  run.status = std::string(jobs::RunStatusName(RunStatus::kRunning));
  run.created_at = run.updated_at = run.started_at = clock_->NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(store_->runs().CreateRun(run));
  }
  ++status_changes_;
  Notify();
  return run;
}

Status RunService::EndSweep(const std::string& name, RunStatus to, const std::string& detail,
                            const std::string& error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    ASSIGN_OR_RETURN(RunStatus current, jobs::ParseRunStatus(run.status));
    if (jobs::IsTerminal(current)) return Status::Ok();
    if (!error.empty()) run.error = error;
    if (to == RunStatus::kCompleted && current == RunStatus::kRunning) {
      RETURN_IF_ERROR(Transition(run, RunStatus::kFinalizing, "every trial has ended"));
    }
    // A sweep whose cancel was pending ends Canceled whatever its trials did.
    if (current == RunStatus::kCancelRequested) to = RunStatus::kCanceled;
    RETURN_IF_ERROR(Transition(run, to, detail));
  }
  Notify();
  return Status::Ok();
}

Status RunService::SetProperties(const std::string& name,
                                 const std::map<std::string, std::string>& properties) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  for (const auto& [k, v] : properties) run.properties[k] = v;
  return store_->runs().UpdateRun(run, std::nullopt);
}

Status RunService::AppendServerLog(const std::string& name, std::string_view text) {
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    ASSIGN_OR_RETURN(auto logs, store_->logs().ListLogs(name));
    int64_t length = 0;
    for (const auto& [s, len] : logs) {
      if (s == jobs::kMergedLogStream) length = len;
    }
    RETURN_IF_ERROR(store_->logs().AppendLog(name, jobs::kMergedLogStream, length, text));
  }
  Notify();
  return Status::Ok();
}

Result<RunRecord> RunService::Cancel(const std::string& name, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    ASSIGN_OR_RETURN(RunStatus current, jobs::ParseRunStatus(run.status));
    auto target = jobs::CancelTarget(current);
    if (!target.has_value()) {
      return Err(target.error().WithPrefix("run '" + name + "' is already " + run.status));
    }
    // Queued in a batch system: its job must be canceled there first (the scheduler does it).
    if (current == RunStatus::kQueued && !run.launch_id.empty()) {
      target = RunStatus::kCancelRequested;
    }
    if (*target != current) {
      if (*target == RunStatus::kCanceled) run.error = "canceled before it started";
      if (*target == RunStatus::kCanceled && !reason.empty()) run.error = reason;
      RETURN_IF_ERROR(
          Transition(run, *target, reason.empty() ? "cancel requested by the user" : reason));
    }
  }
  Notify();
  return store_->runs().GetRun(name);
}

Result<RunService::TokenEntry> RunService::TokenOf(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(tokens_mu_);
    auto it = tokens_.find(name);
    if (it != tokens_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  auto status = jobs::ParseRunStatus(run.status);
  TokenEntry entry{run.token_hash, status.has_value() && jobs::IsTerminal(*status)};
  if (!entry.hash.empty()) {
    std::lock_guard<std::mutex> lock(tokens_mu_);
    tokens_.try_emplace(name, entry);
  }
  return entry;
}

Status RunService::CheckToken(const std::string& name, const std::string& token) {
  if (token.empty()) {
    return UnauthenticatedError("this endpoint needs the run's token (Authorization: Bearer)");
  }
  ASSIGN_OR_RETURN(TokenEntry entry, TokenOf(name));
  if (entry.hash.empty() || Sha256Hex(token) != entry.hash) {
    return PermissionDeniedError("the token is not valid for run '" + name + "'");
  }
  return Status::Ok();
}

std::string RunService::NewRunToken(const std::string& name) {
  return std::string(kRunTokenPrefix) + NewSecretToken() + name;
}

Result<RunTokenOwner> RunService::AuthenticateRunToken(const std::string& token) {
  constexpr size_t kSecretEnd = sizeof(kRunTokenPrefix) - 1 + 64;
  if (!token.starts_with(kRunTokenPrefix) || token.size() <= kSecretEnd) {
    return Err(UnauthenticatedError("the credential is not a run token"));
  }
  std::string name = token.substr(kSecretEnd);
  auto entry = TokenOf(name);
  if (!entry.has_value() || entry->hash.empty() || Sha256Hex(token) != entry->hash) {
    return Err(UnauthenticatedError("the run token is not valid"));
  }
  return RunTokenOwner{std::move(name), entry->ended};
}

Result<RunRecord> RunService::ReportStatus(const std::string& name, const std::string& token,
                                           const StatusReport& report) {
  RETURN_IF_ERROR(CheckToken(name, token));
  RunRecord run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(run, store_->runs().GetRun(name));
    ASSIGN_OR_RETURN(RunStatus current, jobs::ParseRunStatus(run.status));
    RunStatus to = report.status;
    // A run whose cancel was requested finishes as Canceled whatever the runner saw last.
    if (current == RunStatus::kCancelRequested && !jobs::IsTerminal(to)) {
      run.process_group = report.process_group ? report.process_group : run.process_group;
      RETURN_IF_ERROR(store_->runs().UpdateRun(run, std::nullopt));
      return run;
    }
    // A batch job's runner may report before the scheduler has seen the job start.
    if (current == RunStatus::kQueued && !run.launch_id.empty() && to != RunStatus::kQueued &&
        to != RunStatus::kPreparing) {
      RETURN_IF_ERROR(Transition(run, RunStatus::kPreparing, "the Slurm job started"));
    }
    if (report.process_group) run.process_group = report.process_group;
    if (report.exit_code) run.exit_code = report.exit_code;
    if (!report.error.empty()) run.error = report.error;
    run.last_heartbeat = clock_->NowMillis();
    RETURN_IF_ERROR(Transition(run, to, report.detail));
  }
  Notify();
  return run;
}

Result<RunControlReply> RunService::Heartbeat(const std::string& name, const std::string& token) {
  RETURN_IF_ERROR(CheckToken(name, token));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  run.last_heartbeat = clock_->NowMillis();
  RETURN_IF_ERROR(store_->runs().UpdateRun(run, std::nullopt));
  return RunControlReply{run.status,
                         run.status == jobs::RunStatusName(RunStatus::kCancelRequested)};
}

Result<NodesView> RunService::NodesOf(const RunRecord& run) {
  NodesView view;
  view.run.status = run.status;
  view.run.cancel_requested = run.status == jobs::RunStatusName(RunStatus::kCancelRequested);
  Result<jobs::RunSpec> spec = jobs::RunSpecFromJson(run.spec);
  view.node_count = spec.has_value() ? spec->plan.instance_count : 1;
  std::lock_guard<std::mutex> lock(nodes_mu_);
  if (auto it = nodes_.find(run.name); it != nodes_.end()) {
    for (const auto& [rank, report] : it->second) view.nodes.push_back(report);
  }
  return view;
}

Result<NodesView> RunService::ReportNode(const std::string& name, const std::string& token,
                                         NodeReport report) {
  RETURN_IF_ERROR(CheckToken(name, token));
  if (report.port < 0 || report.port > 65535) {
    return Err(InvalidArgumentError("port " + std::to_string(report.port) + " is not a TCP port"));
  }
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  ASSIGN_OR_RETURN(NodesView view, NodesOf(run));
  if (report.rank < 0 || report.rank >= view.node_count) {
    return Err(InvalidArgumentError(
        "node rank " + std::to_string(report.rank) + " is outside run '" + name +
        "', which has resources.instance_count " + std::to_string(view.node_count)));
  }
  ASSIGN_OR_RETURN(RunStatus current, jobs::ParseRunStatus(run.status));
  if (jobs::IsTerminal(current)) return view;  // the run is over: nothing to coordinate
  report.updated_at = clock_->NowMillis();
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    nodes_[name][report.rank] = report;
  }
  return NodesOf(run);
}

Result<NodesView> RunService::Nodes(const std::string& name) {
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  return NodesOf(run);
}

void RunService::MergeNodeLog(const std::string& name, const std::string& stream, int64_t offset,
                              int64_t length) {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  // A stream first seen here (e.g. after a server restart) is merged from this append on.
  auto [it, inserted] = merged_.try_emplace({name, stream}, offset);
  int64_t& through = it->second;
  if (length <= through) return;
  auto text = store_->logs().ReadLog(name, stream, through, length - through);
  if (!text.has_value()) return;
  size_t end = text->rfind('\n');
  if (end == std::string::npos) return;  // no complete line yet
  auto logs = store_->logs().ListLogs(name);
  if (!logs.has_value()) return;
  int64_t merged_length = 0;
  for (const auto& [s, len] : *logs) {
    if (s == jobs::kMergedLogStream) merged_length = len;
  }
  if (store_->logs()
          .AppendLog(name, jobs::kMergedLogStream, merged_length,
                     std::string_view(*text).substr(0, end + 1))
          .has_value()) {
    through += static_cast<int64_t>(end + 1);
  }
}

Result<int64_t> RunService::AppendLog(const std::string& name, const std::string& token,
                                      const std::string& stream, int64_t offset,
                                      std::string_view data) {
  RETURN_IF_ERROR(CheckToken(name, token));
  if (!IsSafeRelativePath(stream)) {
    return Err(InvalidArgumentError("log stream name '" + stream + "' is not a safe path"));
  }
  if (offset < 0) return Err(InvalidArgumentError("offset must not be negative"));
  ASSIGN_OR_RETURN(int64_t length, store_->logs().AppendLog(name, stream, offset, data));
  if (jobs::NodeOfLogStream(stream)) MergeNodeLog(name, stream, offset, length);
  Notify();
  return length;
}

Status RunService::AppendMetrics(const std::string& name, const std::string& token,
                                 std::vector<store::MetricPoint> points, int64_t through,
                                 const std::string& sender) {
  RETURN_IF_ERROR(CheckToken(name, token));
  int64_t now = clock_->NowMillis();
  for (auto& p : points) {
    if (p.key.empty()) return InvalidArgumentError("a metric has an empty 'key'");
    if (p.timestamp == 0) p.timestamp = now;
  }
  if (sender.size() > 64 ||
      sender.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
          std::string::npos) {
    return InvalidArgumentError("sender '" + sender +
                                "' must be up to 64 letters, digits, '_' or '-'");
  }
  RETURN_IF_ERROR(store_->metrics().AppendMetrics(name, points, through, sender));
  if (metrics_observer_ != nullptr) metrics_observer_->OnMetrics(name, points);
  return Status::Ok();
}

Result<RunRecord> RunService::SetTags(const std::string& name, const std::string& token,
                                      const std::map<std::string, std::string>& tags) {
  RETURN_IF_ERROR(CheckToken(name, token));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  for (const auto& [k, v] : tags) run.tags[k] = v;
  RETURN_IF_ERROR(store_->runs().UpdateRun(run, std::nullopt));
  return run;
}

Status RunService::AddArtifacts(const std::string& name, const std::string& token,
                                const std::vector<store::ArtifactRecord>& artifacts) {
  RETURN_IF_ERROR(CheckToken(name, token));
  for (const auto& a : artifacts) {
    if (!IsSafeRelativePath(a.path)) {
      return InvalidArgumentError("artifact path '" + a.path + "' must stay inside the run");
    }
    if (!blobs_->Has(a.blob)) {
      return FailedPreconditionError("blob " + a.blob + " of artifact '" + a.path +
                                     "' is not in the artifact store; upload it first");
    }
  }
  return store_->artifacts().PutArtifacts(name, artifacts);
}

Status RunService::AddFiles(const std::string& name,
                            const std::vector<store::ArtifactRecord>& files) {
  if (auto run = store_->runs().GetRun(name); !run.has_value()) return run.error();
  std::set<std::string> paths;
  for (const auto& f : files) {
    if (!IsSafeRelativePath(f.path)) {
      return InvalidArgumentError("file path '" + f.path + "' must stay inside the run");
    }
    if (!paths.insert(f.path).second) {
      return InvalidArgumentError("file path '" + f.path + "' is given twice");
    }
    if (!blobs_->Has(f.blob)) {
      return FailedPreconditionError("blob " + f.blob + " of file '" + f.path +
                                     "' is not in the artifact store; upload it first");
    }
  }
  // One writer at a time, so that two callers cannot both see a path as free.
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : files) {
    ASSIGN_OR_RETURN(auto existing, store_->artifacts().ListArtifacts(name, f.path));
    for (const auto& e : existing) {
      // A file of that name, or a folder that the new file would have to replace.
      if (e.path == f.path || e.path.starts_with(f.path + "/")) {
        return AlreadyExistsError("run '" + name + "' already has a file '" + e.path +
                                  "'; files added to a run never replace its own");
      }
    }
    // Nor a file where the new one needs a folder.
    for (size_t slash = f.path.find('/'); slash != std::string::npos;
         slash = f.path.find('/', slash + 1)) {
      std::string parent = f.path.substr(0, slash);
      ASSIGN_OR_RETURN(auto above, store_->artifacts().ListArtifacts(name, parent));
      for (const auto& e : above) {
        if (e.path == parent) {
          return AlreadyExistsError("run '" + name + "' already has a file '" + parent +
                                    "', so it cannot hold '" + f.path + "'");
        }
      }
    }
  }
  return store_->artifacts().PutArtifacts(name, files);
}

Result<RunEvents> RunService::WaitForEvents(const std::string& name, size_t since, int64_t offset,
                                            int64_t wait_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    uint64_t seen = change_count();
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    ASSIGN_OR_RETURN(auto history, store_->runs().GetStatusHistory(name));
    ASSIGN_OR_RETURN(std::string log,
                     store_->logs().ReadLog(name, jobs::kMergedLogStream, offset, 1 << 20));
    RunEvents ev;
    ev.status = run.status;
    auto status = jobs::ParseRunStatus(run.status);
    ev.terminal = status.has_value() && jobs::IsTerminal(*status);
    for (size_t i = since; i < history.size(); ++i) ev.events.push_back(history[i]);
    ev.next = std::max(since, history.size());
    ev.offset = offset + static_cast<int64_t>(log.size());
    ev.log = std::move(log);
    if (!ev.events.empty() || !ev.log.empty() || ev.terminal ||
        std::chrono::steady_clock::now() >= deadline) {
      return ev;
    }
    std::unique_lock<std::mutex> lock(change_mu_);
    if (shutting_down_) return ev;
    change_cv_.wait_until(lock, deadline, [&] { return changes_ != seen || shutting_down_; });
  }
}

Result<std::string> RunService::BeginLaunch(const std::string& name) {
  std::string token = NewRunToken(name);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    run.token_hash = Sha256Hex(token);
    run.last_heartbeat = clock_->NowMillis();
    RETURN_IF_ERROR(Transition(run, RunStatus::kPreparing, "starting the runner"));
  }
  {
    std::lock_guard<std::mutex> lock(tokens_mu_);
    tokens_[name] = {Sha256Hex(token), false};
  }
  Notify();
  return token;
}

Status RunService::SetRunnerPid(const std::string& name, int64_t runner_pid,
                                const std::vector<int>& gpus) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  run.runner_pid = runner_pid;
  if (!gpus.empty()) {
    ASSIGN_OR_RETURN(jobs::RunSpec spec, jobs::RunSpecFromJson(run.spec));
    spec.gpus = gpus;
    run.spec = jobs::RunSpecToJson(spec);
  }
  return store_->runs().UpdateRun(run, std::nullopt);
}

Result<std::string> RunService::IssueQueuedToken(const std::string& name) {
  std::string token = NewRunToken(name);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    if (run.status != jobs::RunStatusName(RunStatus::kQueued)) {
      return Err(FailedPreconditionError("run '" + name + "' is " + run.status + ", not Queued"));
    }
    run.token_hash = Sha256Hex(token);
    run.last_heartbeat = clock_->NowMillis();
    RETURN_IF_ERROR(store_->runs().UpdateRun(run, std::nullopt));
  }
  std::lock_guard<std::mutex> lock(tokens_mu_);
  tokens_[name] = {Sha256Hex(token), false};
  return token;
}

Status RunService::SetLaunchId(const std::string& name, const std::string& launch_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  ASSIGN_OR_RETURN(RunStatus current, jobs::ParseRunStatus(run.status));
  if (jobs::IsTerminal(current)) {
    return FailedPreconditionError("run '" + name + "' is already " + run.status);
  }
  run.launch_id = launch_id;
  return store_->runs().UpdateRun(run, std::nullopt);
}

Status RunService::SetQueuedDetail(const std::string& name, const std::string& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
  if (run.status != jobs::RunStatusName(RunStatus::kQueued) || run.status_detail == detail) {
    return Status::Ok();
  }
  run.status_detail = detail;
  run.updated_at = clock_->NowMillis();
  return store_->runs().UpdateRun(run, std::nullopt);
}

Status RunService::MarkBatchJobStarted(const std::string& name, const std::string& detail) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    if (run.status != jobs::RunStatusName(RunStatus::kQueued)) return Status::Ok();
    RETURN_IF_ERROR(Transition(run, RunStatus::kPreparing, detail));
  }
  Notify();
  return Status::Ok();
}

Status RunService::Fail(const std::string& name, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(RunRecord run, store_->runs().GetRun(name));
    ASSIGN_OR_RETURN(RunStatus current, jobs::ParseRunStatus(run.status));
    if (jobs::IsTerminal(current)) return Status::Ok();
    run.error = reason;
    // A run whose cancel was pending ends Canceled: that is what the user asked for.
    RunStatus to =
        current == RunStatus::kCancelRequested ? RunStatus::kCanceled : RunStatus::kFailed;
    RETURN_IF_ERROR(Transition(run, to, reason));
  }
  Notify();
  return Status::Ok();
}

uint64_t RunService::change_count() {
  std::lock_guard<std::mutex> lock(change_mu_);
  return changes_;
}

uint64_t RunService::WaitForChange(uint64_t seen, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(change_mu_);
  change_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return changes_ != seen; });
  return changes_;
}

void RunService::Notify() {
  {
    std::lock_guard<std::mutex> lock(change_mu_);
    ++changes_;
  }
  change_cv_.notify_all();
}

void RunService::WakeAll() { Notify(); }

void RunService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(change_mu_);
    shutting_down_ = true;
  }
  Notify();
}

}  // namespace gantry::workspace
