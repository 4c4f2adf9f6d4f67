#include "workspace/scheduler.h"

#include "common/logging.h"

namespace gantry::workspace {

using jobs::RunStatus;

namespace {
const std::vector<std::string>& ActiveStatuses() {
  static const std::vector<std::string> kActive = {
      "Preparing", "Starting", "Running", "Finalizing", "CancelRequested"};
  return kActive;
}
}  // namespace

Scheduler::Scheduler(RunService* runs, compute::ComputeBackend* backend,
                     SchedulerOptions options)
    : runs_(runs), backend_(backend), options_(std::move(options)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() { thread_ = std::thread([this] { Loop(); }); }

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
  auto active = runs_->List({.statuses = ActiveStatuses(), .compute = "local"});
  if (!active.has_value()) {
    GLOG(Error) << "scheduler: cannot list active runs: " << active.error().ToString();
    return;
  }
  int busy = 0;
  for (const auto& run : *active) {
    compute::LaunchHandle handle{run.runner_pid};
    if (backend_->Poll(handle) == compute::RunnerState::kRunning) {
      ++busy;
      continue;
    }
    // The runner is gone. Re-read: it may have reported its final status just now.
    auto fresh = runs_->Get(run.name);
    if (!fresh.has_value()) continue;
    auto status = jobs::ParseRunStatus(fresh->status);
    if (status.has_value() && jobs::IsTerminal(*status)) continue;
    (void)backend_->Kill(handle, fresh->process_group);
    std::string reason = "the runner (pid " + std::to_string(run.runner_pid) +
                         ") exited without reporting a final status; see " +
                         (options_.runs_dir / run.name / "runner.log").string();
    GLOG(Warning) << "run " << run.name << ": " << reason;
    Status st = runs_->Fail(run.name, reason);
    if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
  }
  int free_slots = options_.local_slots - busy;
  if (free_slots <= 0) return;
  auto queued = runs_->List(
      {.statuses = {"Queued"}, .compute = "local", .limit = free_slots, .oldest_first = true});
  if (!queued.has_value()) return;
  for (const auto& run : *queued) Launch(run);
}

void Scheduler::Launch(const store::RunRecord& run) {
  auto token = runs_->BeginLaunch(run.name);
  if (!token.has_value()) {
    GLOG(Warning) << "run " << run.name << ": " << token.error().ToString();
    return;
  }
  compute::LaunchRequest request{run.name, *token, options_.server_url,
                                 options_.runs_dir / run.name};
  auto handle = backend_->Submit(request);
  if (!handle.has_value()) {
    (void)runs_->Fail(run.name, "cannot start the runner: " + handle.error().message());
    return;
  }
  Status st = runs_->SetRunnerPid(run.name, handle->pid);
  if (!st.ok()) GLOG(Error) << "run " << run.name << ": " << st.ToString();
}

}  // namespace gantry::workspace
