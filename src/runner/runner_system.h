// What the runner asks of the machine it runs on: monotonic time and waiting, starting and
// signalling processes, and the environment it was started with. Each comes in through
// RunnerOptions (null: the real one), so that the runner's time, retry, grace-period and
// process rules are unit-tested with a fake clock and a fake launcher (server_link_test.cc,
// job_processes_test.cc) and never sleep in a test.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/process.h"
#include "common/status.h"

namespace gantry::runner {

// Monotonic milliseconds and sleeping. The runner's loops wait only through SleepMs, so a
// fake's SleepMs simply moves its time on.
class RunnerClock {
 public:
  virtual ~RunnerClock() = default;
  virtual int64_t NowMs() = 0;
  virtual void SleepMs(int64_t ms) = 0;
};

// Starts the job's processes, reaps and signals them (common/process.h for the real one).
class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  virtual Result<pid_t> Spawn(const SpawnOptions& options) = 0;
  // nullopt while `pid` runs.
  virtual std::optional<ExitInfo> TryWait(pid_t pid) = 0;
  virtual ExitInfo WaitFor(pid_t pid) = 0;
  virtual Status SignalGroup(pid_t pgid, int sig) = 0;
  // `sig` to every process of the runner's session but the runner (what left its process
  // group, as MPI ranks do); nothing when the runner does not lead its session.
  virtual void SignalOwnSession(int sig) = 0;
  // SIGKILL to every process below the runner (a child subreaper): what the job left behind.
  // Returns how many there were.
  virtual int KillDescendants() = 0;
};

// The real ones; they live for the whole program.
RunnerClock* SystemClock();
ProcessLauncher* SystemLauncher();

// The environment the runner reads its settings from (GANTRY_BLOB_CACHE, GANTRY_ENV_CACHE,
// HOME) and that the job's environment starts from.
using EnvironmentMap = std::map<std::string, std::string>;
// The value of `name` in `env`, "" when absent.
std::string Lookup(const EnvironmentMap& env, const std::string& name);

}  // namespace gantry::runner
