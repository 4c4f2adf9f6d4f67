#include "runner/job_outcome.h"

#include <algorithm>
#include <cstring>

namespace gantry::runner {

std::string SignalName(int sig) {
  const char* name = ::strsignal(sig);
  return name != nullptr ? name : "unknown signal";
}

bool TimedOut(int64_t now_ms, int64_t started_ms, int64_t timeout_seconds) {
  return timeout_seconds > 0 && now_ms - started_ms >= timeout_seconds * 1000;
}

int64_t SigkillAtMs(int64_t sigterm_ms, int grace_seconds) {
  return sigterm_ms + static_cast<int64_t>(std::max(grace_seconds, 0)) * 1000;
}

Outcome DecideOutcome(const JobEnding& e) {
  const int code = e.exit.code;
  const bool succeeded = code == 0 && e.exit.signal == 0;
  Outcome o;
  o.exit_code = code;
  if (e.kill_reason == KillReason::kCancel ||
      (e.cancel_requested && e.kill_reason == KillReason::kNone && !succeeded)) {
    o.status = jobs::RunStatus::kCanceled;
    return o;
  }
  if (e.kill_reason == KillReason::kTimeout) {
    o.error = "timed out after " + std::to_string(e.timeout_seconds) + " s (limits.timeout)";
    return o;
  }
  if (e.kill_reason == KillReason::kRunnerSignal) {
    o.error = "the runner was stopped by signal " + std::to_string(e.runner_signal) + " (" +
              SignalName(e.runner_signal) + ")";
    return o;
  }
  // Multi-node: the other nodes were stopped by a cancel, or one of them failed.
  if (e.multi_node && e.cancel_requested && e.others_stopped &&
      e.kill_reason != KillReason::kRankFailed) {
    o.status = jobs::RunStatus::kCanceled;
    return o;
  }
  if (e.kill_reason == KillReason::kPeerFailed || (!e.peer_failure.empty() && succeeded)) {
    o.error = e.peer_failure;
    o.exit_code = e.peer_exit_code;
    return o;
  }
  if (succeeded) {
    o.status = jobs::RunStatus::kCompleted;
    return o;
  }
  if (e.distributed_error) {
    o.error = *e.distributed_error;
    o.exit_code = e.distributed_exit_code;
    return o;
  }
  o.error = e.exit.signal != 0 ? "command killed by signal " + std::to_string(e.exit.signal) +
                                     " (" + SignalName(e.exit.signal) + ")"
                               : "command exited with code " + std::to_string(code);
  if (!e.stderr_tail.empty()) o.error += ":\n" + e.stderr_tail;
  return o;
}

}  // namespace gantry::runner
