// Fakes of the runner's seams (runner_system.h) for unit tests: a clock whose sleeps move
// time on, and a launcher that starts nothing and records the signals it was asked to send.
// Thread-compatible.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "runner/runner_system.h"

namespace gantry::runner::testing {

class FakeRunnerClock : public RunnerClock {
 public:
  int64_t NowMs() override { return now_; }
  void SleepMs(int64_t ms) override {
    now_ += ms;
    slept_ += ms;
  }
  void Advance(int64_t ms) { now_ += ms; }
  int64_t slept() const { return slept_; }

 private:
  int64_t now_ = 1'000'000;
  int64_t slept_ = 0;
};

class FakeLauncher : public ProcessLauncher {
 public:
  Result<pid_t> Spawn(const SpawnOptions& options) override {
    if (fail_spawn_) return Err(InternalError("no processes today"));
    pid_t pid = next_pid_++;
    spawned_.push_back({pid, options});
    return pid;
  }
  std::optional<ExitInfo> TryWait(pid_t pid) override {
    auto it = exits_.find(pid);
    if (it == exits_.end()) return std::nullopt;
    return it->second;
  }
  ExitInfo WaitFor(pid_t pid) override {
    if (auto e = TryWait(pid)) return *e;
    return ExitInfo{.code = 0, .signal = 9};
  }
  Status SignalGroup(pid_t pgid, int sig) override {
    signals_.push_back({pgid, sig});
    return Status::Ok();
  }
  void SignalOwnSession(int sig) override { session_signals_.push_back(sig); }
  int KillDescendants() override { return 0; }

  // The process `pid` exits with `exit`.
  void Exit(pid_t pid, ExitInfo exit) { exits_[pid] = exit; }
  void FailSpawns() { fail_spawn_ = true; }
  const std::vector<std::pair<pid_t, SpawnOptions>>& spawned() const { return spawned_; }
  // (process group, signal), in the order sent.
  const std::vector<std::pair<pid_t, int>>& signals() const { return signals_; }
  void ClearSignals() { signals_.clear(); }

 private:
  pid_t next_pid_ = 1000;
  bool fail_spawn_ = false;
  std::vector<std::pair<pid_t, SpawnOptions>> spawned_;
  std::map<pid_t, ExitInfo> exits_;
  std::vector<std::pair<pid_t, int>> signals_;
  std::vector<int> session_signals_;
};

}  // namespace gantry::runner::testing
