#include "runner/runner_system.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/clock.h"

namespace gantry::runner {
namespace {

class RealClock final : public RunnerClock {
 public:
  int64_t NowMs() override { return MonotonicMillis(); }
  void SleepMs(int64_t ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
};

class RealLauncher final : public ProcessLauncher {
 public:
  Result<pid_t> Spawn(const SpawnOptions& options) override { return gantry::Spawn(options); }
  std::optional<ExitInfo> TryWait(pid_t pid) override { return gantry::TryWait(pid); }
  ExitInfo WaitFor(pid_t pid) override { return gantry::WaitFor(pid); }
  Status SignalGroup(pid_t pgid, int sig) override { return gantry::SignalGroup(pgid, sig); }
  void SignalOwnSession(int sig) override {
    if (::getsid(0) != ::getpid()) return;
    // Best effort: whatever is still there is found by KillDescendants at the end.
    (void)SignalSession(::getpid(), sig, ::getpid());
  }
  int KillDescendants() override { return gantry::KillDescendants(); }
};

}  // namespace

RunnerClock* SystemClock() {
  static RealClock clock;
  return &clock;
}

ProcessLauncher* SystemLauncher() {
  static RealLauncher launcher;
  return &launcher;
}

std::string Lookup(const EnvironmentMap& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

}  // namespace gantry::runner
