// How a job ended, decided from what the runner saw when its processes were gone: their exit,
// why the runner stopped them (if it did), a cancel request, the other nodes of a multi-node
// job. The result is the run's final status, its error text and the exit code reported with
// it. A pure function, unit-tested without processes (job_outcome_test.cc); the runner
// gathers the facts (the failed rank's text comes from its logs) and reports the outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/process.h"
#include "jobs/run_status.h"

namespace gantry::runner {

// How the job ended, as reported to the server.
struct Outcome {
  jobs::RunStatus status = jobs::RunStatus::kFailed;
  std::string error;
  std::optional<int> exit_code;
};

// Why the runner stopped the job's process group.
enum class KillReason {
  kNone,          // it did not: the job ended on its own
  kCancel,        // the run was canceled
  kTimeout,       // limits.timeout passed
  kRunnerSignal,  // the runner itself got SIGTERM/SIGINT
  kServerEnded,   // the server said the run is over
  kRankFailed,    // a rank of this node failed, so the others were stopped
  kPeerFailed,    // another node of a multi-node job failed
};

// What the runner knew when the job's processes had ended.
struct JobEnding {
  ExitInfo exit;  // the job's (a distributed job's launcher's or first failed rank's) exit
  KillReason kill_reason = KillReason::kNone;
  bool cancel_requested = false;  // the server had asked for a cancel
  int64_t timeout_seconds = 0;    // limits.timeout
  int runner_signal = 0;          // with kRunnerSignal: the signal the runner got
  bool multi_node = false;
  bool others_stopped = false;  // multi-node: the other nodes reported they were stopped
  // Multi-node: why another node failed ("" when none did), and its rank's exit code.
  std::string peer_failure;
  std::optional<int> peer_exit_code;
  // A distributed job that failed on its own: which rank failed and how (with its stderr
  // tail), and that rank's exit code. nullopt for a single-process job.
  std::optional<std::string> distributed_error;
  int distributed_exit_code = 0;
  std::string stderr_tail;  // a single-process job's last stderr lines
};

// The final status: Canceled when a cancel caused the ending (also a failure that follows a
// cancel request: the backend may signal the group before the runner hears of the cancel);
// Failed naming the timeout, the runner's signal, a peer's failure or the failed rank or
// command (with its stderr tail); Completed when everything exited 0.
Outcome DecideOutcome(const JobEnding& ending);

// The time rules while the job runs. limits.timeout: the job has run `timeout_seconds` (0 =
// no limit) or longer since it started, so the runner stops it (KillReason::kTimeout).
bool TimedOut(int64_t now_ms, int64_t started_ms, int64_t timeout_seconds);
// When the runner sends SIGKILL after stopping the job with SIGTERM at `sigterm_ms`: after the
// grace period (--grace-seconds; a negative one counts as none).
int64_t SigkillAtMs(int64_t sigterm_ms, int grace_seconds);

// "Terminated", "Killed", ... (strsignal's name of the signal).
std::string SignalName(int sig);

}  // namespace gantry::runner
