// Scheduler: starts queued runs on their compute target in submission order, never more at
// once than the target's capacity (--slots for "local", max_nodes for a cluster), hands out
// GPUs through CUDA_VISIBLE_DEVICES when the machine has any, and watches started runners:
// a run whose runner is gone without a final report is marked Failed (or Canceled when a
// cancel was pending).
//
// Slurm targets are not throttled here: Slurm schedules. Every Queued run on one is submitted
// at once (sbatch) and stays Queued, its status detail showing Slurm's reason, until Slurm
// starts it; a job that ends without its runner's final report fails the run with Slurm's
// state; cancelling a run still pending in Slurm scancels it. max_nodes only bounds a job's
// instance_count (and multi-node Slurm jobs are refused for now).
//
// Thread-safe: one background thread does all the work; Start()/Stop() from one owner.
//
// It lives in src/workspace rather than src/jobs because it drives RunService directly.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "compute/compute_backend.h"
#include "workspace/compute_service.h"
#include "workspace/run_service.h"

namespace gantry::workspace {

struct SchedulerOptions {
  // URL runners use to reach this server.
  std::string server_url;
  // For an https:// server_url: the CA file runners verify it with ("": the system's CAs).
  std::string ca_file;
  // Runner scratch folders are created under it, one per run.
  fs::path runs_dir;
  // How often runners are checked when nothing else wakes the scheduler.
  int64_t poll_ms = 1000;
  // Where runners keep built environments (GANTRY_ENV_CACHE); empty: the runner's default.
  fs::path env_cache_dir;
  // Where runners keep the blobs they downloaded (GANTRY_BLOB_CACHE); empty: their default.
  fs::path blob_cache_dir;
  // GPUs on this machine; -1 detects them (NVIDIA device nodes).
  int gpu_count = -1;
};

class Scheduler {
 public:
  // `slurm` runs the jobs of slurm targets; null: they stay Queued (with a detail saying so).
  Scheduler(RunService* runs, ComputeService* computes, compute::ComputeBackend* backend,
            SchedulerOptions options, compute::ComputeBackend* slurm = nullptr);
  ~Scheduler();

  void Start();
  // Stops and joins the thread. Runners keep running. Idempotent.
  void Stop();
  // One pass: reap dead runners, then start what fits. Exposed for tests.
  void RunOnce();

 private:
  void Loop();
  void Launch(const store::RunRecord& run, const ComputeTarget& target, std::vector<int> gpus);
  // Slurm targets: submit new Queued runs, follow the submitted ones until Slurm starts them.
  void ScheduleSlurm(const ComputeTarget& target);
  void SubmitToSlurm(const store::RunRecord& run, const ComputeTarget& target);
  // An active run on a slurm target: fails it when its job ended unreported; scancels a job
  // still pending when its run was cancelled.
  void WatchSlurmRun(const store::RunRecord& run);
  // This pass's poll of a Slurm job: every job of the pass is asked for at once, on the
  // first call (slurm_job_ids_), and remembered until the next pass.
  compute::RunnerPoll SlurmPoll(const std::string& job_id);

  RunService* runs_;
  ComputeService* computes_;
  compute::ComputeBackend* backend_;
  SchedulerOptions options_;
  compute::ComputeBackend* slurm_;
  std::vector<std::string> slurm_job_ids_;  // scheduler thread only
  std::map<std::string, compute::RunnerPoll> slurm_polls_;
  bool slurm_polled_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gantry::workspace
