// ComputeBackend: how a run's runner gets started somewhere, watched, and stopped.
// Every backend launches the same `gantry runner`, so no other code runs user code.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

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
};

// What a backend needs later to find the launched runner again; stored with the run.
struct LaunchHandle {
  int64_t pid = 0;
};

enum class RunnerState { kRunning, kGone };

class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;
  // Starts the runner. Unavailable/FailedPrecondition when it cannot be started.
  virtual Result<LaunchHandle> Submit(const LaunchRequest& request) = 0;
  // Whether the runner still exists. Works for runners started by an earlier server process.
  virtual RunnerState Poll(const LaunchHandle& handle) = 0;
  // Stops a runner and the user processes it left (process group `process_group`, 0 when
  // unknown, and for the local backend every process of the runner's session: the groups of
  // a distributed job's ranks). OK when they are already gone.
  virtual Status Kill(const LaunchHandle& handle, int64_t process_group) = 0;
};

struct LocalBackendOptions {
  // The gantry executable to run as `gantry runner`. Default: this process's executable.
  fs::path executable;
};

// Runs runners as detached local processes (own session, so they outlive the server).
std::unique_ptr<ComputeBackend> NewLocalBackend(const LocalBackendOptions& options);

}  // namespace gantry::compute
