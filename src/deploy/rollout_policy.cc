#include "deploy/rollout_policy.h"

#include <algorithm>

namespace gantry::deploy {

const char* ReplicaPhaseName(ReplicaPhase phase) {
  switch (phase) {
    case ReplicaPhase::kStarting:
      return "Starting";
    case ReplicaPhase::kReady:
      return "Ready";
    case ReplicaPhase::kRestarting:
      return "Restarting";
    case ReplicaPhase::kStopped:
      return "Stopped";
  }
  return "Unknown";
}

RolloutStep NextRolloutStep(const std::vector<ReplicaPhase>& replicas, bool ever_ready) {
  if (ever_ready || replicas.empty()) return RolloutStep::kWait;
  const bool all_ready = std::all_of(replicas.begin(), replicas.end(),
                                     [](ReplicaPhase p) { return p == ReplicaPhase::kReady; });
  return all_ready ? RolloutStep::kSucceed : RolloutStep::kWait;
}

ExitAction OnReplicaExit(bool ever_ready) {
  return ever_ready ? ExitAction::kRestartLater : ExitAction::kFailDeployment;
}

int64_t RestartDelayMs(int64_t crash_streak, const RolloutRules& rules) {
  const int64_t doublings = std::clamp<int64_t>(crash_streak - 1, 0, 20);
  return std::min<int64_t>(rules.max_backoff_ms, int64_t{1000} << doublings);
}

bool StartTimedOut(int64_t now_ms, int64_t started_at_ms, const RolloutRules& rules) {
  return now_ms - started_at_ms > rules.ready_timeout_ms;
}

bool HealthCheckDue(int64_t now_ms, int64_t last_health_at_ms, const RolloutRules& rules) {
  return now_ms - last_health_at_ms >= rules.health_interval_ms;
}

bool TooManyHealthFailures(int failures, const RolloutRules& rules) {
  return failures >= rules.health_failures_before_kill;
}

bool CrashStreakResets(int64_t now_ms, int64_t ready_at_ms, const RolloutRules& rules) {
  return now_ms - ready_at_ms > rules.stable_after_ms;
}

}  // namespace gantry::deploy
