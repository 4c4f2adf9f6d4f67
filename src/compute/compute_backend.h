// ComputeBackend: how a run's runner gets started somewhere, watched, and stopped.
// Every backend launches the same `gantry runner`, so no other code runs user code.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/status.h"

namespace gantry::compute {

struct LaunchRequest {
  std::string run_name;
  std::string token;       // run-scoped token, handed to the runner in its environment
  std::string server_url;  // where the runner reports
  fs::path work_dir;       // runner scratch folder (local backends)
  // Extra environment for the runner and the job (node shape, CUDA_VISIBLE_DEVICES).
  std::map<std::string, std::string> env;
  // What a batch system (Slurm) is asked for; the local backend ignores it.
  struct Placement {
    int nodes = 1;
    int cpus = 0;                 // per node; 0: the partition's default
    int gpus = 0;                 // per node
    double memory_gb = 0;         // per node; 0: the partition's default
    int64_t timeout_seconds = 0;  // the job's limits.timeout; 0: none
    std::string partition, account, qos;
    std::vector<std::string> extra_args;  // each one `--flag=value`, as given on the target
    fs::path node_work_root;  // on the node: the runner's scratch and caches go under it
  } placement;
  // The PEM CA file the runner verifies an https:// server_url with; "": the system's CAs.
  std::string ca_file;
};

// What a backend needs later to find the launched runner again; stored with the run.
struct LaunchHandle {
  int64_t pid = 0;     // local backend: the runner's pid
  std::string job_id;  // batch backends: the job id (Slurm's), "" when none
};

// kPending: accepted by a batch system, waiting for nodes (the runner has not started).
// kUnknown: the backend cannot tell now (e.g. the Slurm controller does not answer); the
// caller should ask again later and change nothing.
enum class RunnerState { kPending, kRunning, kGone, kUnknown };

struct RunnerPoll {
  RunnerState state = RunnerState::kGone;
  // For people: why it is pending ("Slurm job 12 pending: Resources") or how it ended
  // ("Slurm job 12 ended as CANCELLED"); may be empty.
  std::string detail;
};

class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;
  // Starts the runner. Unavailable/FailedPrecondition when it cannot be started.
  virtual Result<LaunchHandle> Submit(const LaunchRequest& request) = 0;
  // Whether the runner still exists (or waits to start). Works for runners started by an
  // earlier server process.
  virtual RunnerPoll Poll(const LaunchHandle& handle) = 0;
  // Stops a runner and the user processes it left (process group `process_group`, 0 when
  // unknown, and for the local backend every process of the runner's session: the groups of
  // a distributed job's ranks). OK when they are already gone.
  virtual Status Kill(const LaunchHandle& handle, int64_t process_group) = 0;
  // Poll for batch jobs by id, many at once (a batch system answers them all with one
  // query): job id → its poll. Default: Poll for each.
  virtual std::map<std::string, RunnerPoll> PollJobs(const std::vector<std::string>& job_ids) {
    std::map<std::string, RunnerPoll> out;
    for (const auto& id : job_ids) out[id] = Poll(LaunchHandle{0, id});
    return out;
  }
  // Collects runners this process started that have exited since (so they do not linger as
  // zombies once their run is over and no longer polled). Called on every scheduler pass.
  virtual void Reap() {}
};

struct LocalBackendOptions {
  // The gantry executable to run as `gantry runner`. Default: this process's executable.
  fs::path executable;
};

// Runs runners as detached local processes (own session, so they outlive the server).
std::unique_ptr<ComputeBackend> NewLocalBackend(const LocalBackendOptions& options);

struct SlurmBackendOptions {
  // The gantry executable the nodes run as `gantry runner` (same path on every node).
  // Default: this process's executable.
  fs::path executable;
  // The Slurm commands; looked up on PATH when they have no slash.
  std::string sbatch = "sbatch";
  std::string scontrol = "scontrol";
  std::string squeue = "squeue";
  std::string scancel = "scancel";
};

// Submits each runner as a Slurm batch job (`sbatch --parsable`, named gantry-RUN; an older
// job of that name, left by a server that stopped before storing its id, is `scancel`ed
// first) whose one step `srun`s `gantry runner` on each of the job's nodes; watches it with
// `squeue` (one call for all of them) and `scontrol show job` (for a job that has ended);
// Kill is `scancel`.
std::unique_ptr<ComputeBackend> NewSlurmBackend(const SlurmBackendOptions& options);

}  // namespace gantry::compute
