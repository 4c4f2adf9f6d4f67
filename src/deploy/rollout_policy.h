// The rules by which the EndpointController rolls a deployment's replicas out and keeps them
// serving, as pure functions of what it observed (as TF Serving's aspired-version policies
// decide from the versions' states): when a generation is ready, what a replica's exit
// means, how long a restart waits, when a start has taken too long and when a replica has
// failed enough health checks. The controller carries the decisions out (processes, probes,
// the store). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace gantry::deploy {

// A replica's phase as the controller tracks it.
enum class ReplicaPhase { kStarting, kReady, kRestarting, kStopped };
// "Starting", "Ready", "Restarting", "Stopped" (what a deployment's replicas show).
const char* ReplicaPhaseName(ReplicaPhase phase);

struct RolloutRules {
  int64_t ready_timeout_ms = 300'000;   // a replica not ready by then is killed
  int64_t health_interval_ms = 2000;    // between health checks of a ready replica
  int health_failures_before_kill = 3;  // failed health checks in a row
  int64_t max_backoff_ms = 30'000;      // the longest wait before a restart
  int64_t stable_after_ms = 60'000;     // ready this long: the crash streak starts over
};

// What a generation's replicas call for.
enum class RolloutStep {
  kWait,     // some are not ready yet (or the generation was ready before)
  kSucceed,  // every replica is ready for the first time: the deployment Succeeded, and the
             // previous generation (kept serving during an update) can stop
};
RolloutStep NextRolloutStep(const std::vector<ReplicaPhase>& replicas, bool ever_ready);

// What a replica's exit (or a failed start) means.
enum class ExitAction {
  kFailDeployment,  // the generation was never ready: it failed, with the replica's error
  kRestartLater,    // it served before: start it again after RestartDelayMs
};
ExitAction OnReplicaExit(bool ever_ready);

// The wait before restart number `crash_streak` (1 = the first crash in a row): 1 s, 2 s,
// 4 s ... doubling up to `rules.max_backoff_ms`.
int64_t RestartDelayMs(int64_t crash_streak, const RolloutRules& rules);

// A starting replica that is still not ready `ready_timeout_ms` after its start.
bool StartTimedOut(int64_t now_ms, int64_t started_at_ms, const RolloutRules& rules);

// A ready replica whose last health check is `health_interval_ms` old or older.
bool HealthCheckDue(int64_t now_ms, int64_t last_health_at_ms, const RolloutRules& rules);

// After this many failed health checks in a row a replica is killed (and then restarted).
bool TooManyHealthFailures(int failures, const RolloutRules& rules);

// A replica ready for longer than `stable_after_ms`: its crash streak starts over, so that
// a crash much later waits 1 s again.
bool CrashStreakResets(int64_t now_ms, int64_t ready_at_ms, const RolloutRules& rules);

}  // namespace gantry::deploy
