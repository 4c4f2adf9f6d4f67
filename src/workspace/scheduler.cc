#include "workspace/scheduler.h"

#include <map>
#include <set>

#include "common/logging.h"
#include "jobs/run_spec.h"

namespace gantry::workspace {

using jobs::RunStatus;

namespace {
const std::vector<std::string>& ActiveStatuses() {
  static const std::vector<std::string> kActive = {"Preparing", "Starting", "Running", "Finalizing",
                                                   "CancelRequested"};
  return kActive;
}

// The nodes a run occupies at once: its resources.instance_count (1 when absent; the spec
// was validated at submission).
int NodesOf(const store::RunRecord& run) {
  Result<jobs::RunSpec> spec = jobs::RunSpecFromJson(run.spec);
  return spec.has_value() ? static_cast<int>(spec->plan.instance_count) : 1;
}

// The GPUs a run's runner was given (none when it has none or its spec is unreadable).
std::vector<int> GpusOf(const store::RunRecord& run) {
  Result<jobs::RunSpec> spec = jobs::RunSpecFromJson(run.spec);
  return spec.has_value() ? spec->gpus : std::vector<int>{};
}

std::string Join(const std::vector<int>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}
}  // namespace

Scheduler::Scheduler(RunService* runs, ComputeService* computes, compute::ComputeBackend* backend,
                     SchedulerOptions options, compute::ComputeBackend* slurm)
    : runs_(runs),
      computes_(computes),
      backend_(backend),
      options_(std::move(options)),
      slurm_(slurm) {
  if (options_.gpu_count < 0) options_.gpu_count = compute::DetectGpuCount();
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  if (stopping_.exchange(true)) return;
  runs_->WakeAll();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  uint64_t seen = runs_->change_count();
  while (!stopping_) {
    RunOnce();
    seen = runs_->WaitForChange(seen, options_.poll_ms);
  }
}

void Scheduler::RunOnce() {
  backend_->Reap();
  // A sweep's parent run has no runner: its trials are the runs to watch.
  auto active = runs_->List({.statuses = ActiveStatuses(), .kind = "command"});
  if (!active.has_value()) {
    GLOG(Error) << "scheduler: cannot list active runs: " << active.error().ToString();
    return;
  }
  auto targets = computes_->List();
  if (!targets.has_value()) {
    GLOG(Error) << "scheduler: cannot list compute targets: " << targets.error().ToString();
    return;
  }
  std::set<std::string> slurm_targets;
  for (const auto& t : *targets) {
    if (t.is_slurm()) slurm_targets.insert(t.record.name);
  }
  // The Slurm jobs this pass may ask about, polled together on first use.
  slurm_job_ids_.clear();
  slurm_polls_.clear();
  slurm_polled_ = false;
  for (const auto& run : *active) {
    if (!run.launch_id.empty()) slurm_job_ids_.push_back(run.launch_id);
  }
  if (!slurm_targets.empty()) {
    if (auto queued = runs_->List({.statuses = {"Queued"}}); queued.has_value()) {
      for (const auto& run : *queued) {
        if (!run.launch_id.empty()) slurm_job_ids_.push_back(run.launch_id);
      }
    }
  }
  std::map<std::string, int> busy;
  std::set<int> gpus_in_use;
  for (const auto& run : *active) {
    if (slurm_targets.count(run.compute) || !run.launch_id.empty()) {
      WatchSlurmRun(run);
      continue;
    }
    compute::LaunchHandle handle{run.runner_pid, ""};
    if (backend_->Poll(handle).state == compute::RunnerState::kRunning) {
      busy[run.compute] += NodesOf(run);
      for (int g : GpusOf(run)) gpus_in_use.insert(g);
      continue;
    }
    // The runner is gone. Re-read: it may have reported its final status just now.
    auto fresh = runs_->Get(run.name);
    if (!fresh.has_value()) continue;
    auto status = jobs::ParseRunStatus(fresh->status);
    if (status.has_value() && jobs::IsTerminal(*status)) continue;
    // It may have ended already; the run is failed below either way.
    (void)backend_->Kill(handle, fresh->process_group);
    std::string reason = "the runner (pid " + std::to_string(run.runner_pid) +
                         ") exited without reporting a final status; see " +
                         (options_.runs_dir / run.name / "runner.log").string();
    GLOG(Warning) << "run " << run.name << ": " << reason;
    Status st = runs_->Fail(run.name, reason);
    if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
  }
  for (const auto& target : *targets) {
    if (target.is_slurm()) {
      ScheduleSlurm(target);
      continue;
    }
    int free_slots = target.capacity - busy[target.record.name];
    if (free_slots <= 0) continue;
    auto queued = runs_->List({.statuses = {"Queued"},
                               .compute = target.record.name,
                               .limit = free_slots,
                               .oldest_first = true});
    if (!queued.has_value()) continue;
    for (const auto& run : *queued) {
      const int nodes = NodesOf(run);
      if (Status fits = CheckNodesFit(target, nodes); !fits.ok()) {
        // Queued before the target shrank (a restart with fewer --slots): it can never start.
        Status st = runs_->Fail(run.name, fits.message());
        if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
        continue;
      }
      // A distributed run is placed whole or not at all; until its nodes are free it waits,
      // and so do the runs behind it on this target (submission order).
      if (nodes > free_slots) break;
      std::vector<int> gpus;
      int want = options_.gpu_count > 0 ? target.shape.gpus * nodes : 0;
      if (target.record.name == kLocalCompute) want = 0;  // "local" shares the machine as is
      for (int g = 0; g < options_.gpu_count && static_cast<int>(gpus.size()) < want; ++g) {
        if (!gpus_in_use.count(g)) gpus.push_back(g);
      }
      // Not enough free GPUs for this node shape: it waits, and so do the runs behind it
      // on this target (submission order).
      if (static_cast<int>(gpus.size()) < want) break;
      gpus_in_use.insert(gpus.begin(), gpus.end());
      free_slots -= nodes;
      Launch(run, target, gpus);
    }
  }
}

void Scheduler::Launch(const store::RunRecord& run, const ComputeTarget& target,
                       std::vector<int> gpus) {
  auto token = runs_->BeginLaunch(run.name);
  if (!token.has_value()) {
    GLOG(Warning) << "run " << run.name << ": " << token.error().ToString();
    return;
  }
  compute::LaunchRequest request{
      run.name, *token, options_.server_url, options_.runs_dir / run.name, {}};
  request.ca_file = options_.ca_file;
  request.env["GANTRY_COMPUTE"] = target.record.name;
  if (!options_.env_cache_dir.empty()) {
    request.env["GANTRY_ENV_CACHE"] = options_.env_cache_dir.string();
  }
  if (!options_.blob_cache_dir.empty()) {
    request.env["GANTRY_BLOB_CACHE"] = options_.blob_cache_dir.string();
  }
  request.env["GANTRY_VM_SIZE"] = target.shape.name;
  request.env["GANTRY_NODE_CPUS"] = std::to_string(target.shape.cpus);
  request.env["GANTRY_NODE_GPUS"] = std::to_string(target.shape.gpus);
  if (target.record.name != kLocalCompute && options_.gpu_count > 0) {
    // The node's GPUs, or none at all for a CPU shape.
    request.env["CUDA_VISIBLE_DEVICES"] = Join(gpus);
  }
  auto handle = backend_->Submit(request);
  if (!handle.has_value()) {
    // Refused only when the run ended meanwhile (a cancel): that end stands.
    (void)runs_->Fail(run.name, "cannot start the runner: " + handle.error().message());
    return;
  }
  Status st = runs_->SetRunnerPid(run.name, handle->pid, gpus);
  if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
}

compute::RunnerPoll Scheduler::SlurmPoll(const std::string& job_id) {
  if (!slurm_polled_) {
    slurm_polled_ = true;
    slurm_polls_ = slurm_->PollJobs(slurm_job_ids_);
  }
  if (auto it = slurm_polls_.find(job_id); it != slurm_polls_.end()) return it->second;
  return slurm_->Poll({0, job_id});
}

void Scheduler::WatchSlurmRun(const store::RunRecord& run) {
  if (slurm_ == nullptr || run.launch_id.empty()) return;
  compute::LaunchHandle handle{0, run.launch_id};
  compute::RunnerPoll poll = SlurmPoll(run.launch_id);
  if (poll.state == compute::RunnerState::kRunning ||
      poll.state == compute::RunnerState::kUnknown) {
    return;
  }
  if (poll.state == compute::RunnerState::kPending) {
    // Cancelled while Slurm still held it: no runner will hear of the cancel, so scancel.
    if (run.status != jobs::RunStatusName(RunStatus::kCancelRequested)) return;
    if (Status st = slurm_->Kill(handle, 0); !st.ok()) {
      GLOG(Warning) << "run " << run.name << ": " << st.ToString();
      return;
    }
    Status st =
        runs_->Fail(run.name, "canceled while waiting in Slurm (job " + run.launch_id + ")");
    if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
    return;
  }
  // The job is over. Re-read: its runner may have reported the final status just now.
  auto fresh = runs_->Get(run.name);
  if (!fresh.has_value()) return;
  auto status = jobs::ParseRunStatus(fresh->status);
  if (status.has_value() && jobs::IsTerminal(*status)) return;
  std::string reason = poll.detail + " before its runner reported a final status";
  GLOG(Warning) << "run " << run.name << ": " << reason;
  Status st = runs_->Fail(run.name, reason);
  if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
}

void Scheduler::ScheduleSlurm(const ComputeTarget& target) {
  auto queued =
      runs_->List({.statuses = {"Queued"}, .compute = target.record.name, .oldest_first = true});
  if (!queued.has_value()) return;
  for (const auto& run : *queued) {
    if (slurm_ == nullptr) {
      // A detail line only, refused when the run moved on meanwhile.
      (void)runs_->SetQueuedDetail(run.name, "this server has no Slurm backend");
      continue;
    }
    if (run.launch_id.empty()) {
      if (Status fits = CheckNodesFit(target, NodesOf(run)); !fits.ok()) {
        Status st = runs_->Fail(run.name, fits.message());
        if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
        continue;
      }
      SubmitToSlurm(run, target);
      continue;
    }
    compute::RunnerPoll poll = SlurmPoll(run.launch_id);
    Status st;
    switch (poll.state) {
      case compute::RunnerState::kPending:
        st = runs_->SetQueuedDetail(run.name, poll.detail);
        break;
      case compute::RunnerState::kRunning:
        st = runs_->MarkBatchJobStarted(run.name, poll.detail);
        break;
      case compute::RunnerState::kGone:
        if (auto fresh = runs_->Get(run.name);
            fresh.has_value() && fresh->status == jobs::RunStatusName(RunStatus::kQueued)) {
          st = runs_->Fail(run.name, poll.detail + " before its runner started");
        }
        break;
      case compute::RunnerState::kUnknown:
        break;
    }
    if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
  }
}

void Scheduler::SubmitToSlurm(const store::RunRecord& run, const ComputeTarget& target) {
  auto token = runs_->IssueQueuedToken(run.name);
  if (!token.has_value()) {
    GLOG(Warning) << "run " << run.name << ": " << token.error().ToString();
    return;
  }
  // The nodes may reach the server by another URL, and find its CA at another path.
  std::string server_url = target.Property("server_url");
  if (server_url.empty()) server_url = options_.server_url;
  std::string ca_file = target.Property("ca_file");
  if (ca_file.empty()) ca_file = options_.ca_file;
  compute::LaunchRequest request{run.name, *token, server_url, options_.runs_dir / run.name, {}};
  request.ca_file = ca_file;
  auto& place = request.placement;
  place.nodes = NodesOf(run);
  place.cpus = target.shape.cpus;
  place.gpus = target.shape.gpus;
  place.memory_gb = target.shape.memory_gb;
  const Json job = run.spec.is_object() ? run.spec.value("job", Json::object()) : Json::object();
  if (job.is_object() && job.contains("limits") && job["limits"].is_object()) {
    place.timeout_seconds = job["limits"].value("timeout", int64_t{0});
  }
  place.partition = target.Property("partition");
  place.account = target.Property("account");
  place.qos = target.Property("qos");
  for (const auto& a : target.record.properties.value("sbatch_args", Json::array())) {
    if (a.is_string()) place.extra_args.push_back(a.get<std::string>());
  }
  std::string root = target.Property("node_work_dir");
  place.node_work_root = root.empty() ? fs::path("/tmp") : fs::path(root);
  // Node-local caches: the server's workspace folder is not on the nodes.
  request.env["GANTRY_COMPUTE"] = target.record.name;
  request.env["GANTRY_ENV_CACHE"] = (place.node_work_root / "gantry-envs").string();
  request.env["GANTRY_BLOB_CACHE"] = (place.node_work_root / "gantry-blobs").string();
  request.env["GANTRY_VM_SIZE"] = target.shape.name;
  request.env["GANTRY_NODE_CPUS"] = std::to_string(target.shape.cpus);
  request.env["GANTRY_NODE_GPUS"] = std::to_string(target.shape.gpus);
  auto handle = slurm_->Submit(request);
  if (!handle.has_value()) {
    // Refused only when the run ended meanwhile (a cancel): that end stands.
    (void)runs_->Fail(run.name, "cannot submit to Slurm: " + handle.error().message());
    return;
  }
  if (Status st = runs_->SetLaunchId(run.name, handle->job_id); !st.ok()) {
    // Canceled while sbatch ran: the job must not run.
    GLOG(Warning) << "run " << run.name << ": " << st.ToString() << "; cancelling Slurm job "
                  << handle->job_id;
    // Best effort: a job that does not exist (or ended) needs no cancel.
    (void)slurm_->Kill(*handle, 0);
    return;
  }
  // A detail line only, refused when the run moved on meanwhile.
  (void)runs_->SetQueuedDetail(run.name, "submitted to Slurm as job " + handle->job_id);
}

}  // namespace gantry::workspace
