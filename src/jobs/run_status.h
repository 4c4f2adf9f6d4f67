// The lifecycle of a run: Azure ML's run statuses and the one state machine that says which
// status may follow which. Every component that changes a run's status (scheduler, compute
// backends, the cancel endpoint) asks CheckTransition first, so the rules live only here.
//
//   NotStarted -> Queued -> Preparing -> Starting -> Running -> Finalizing -> Completed
//   any non-terminal -> Failed; NotStarted/Queued -> Canceled;
//   Queued..Finalizing -> CancelRequested -> Canceled | Failed | Completed.
//
// Thread-safe: stateless functions.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace gantry::jobs {

enum class RunStatus {
  kNotStarted,
  kQueued,
  kPreparing,
  kStarting,
  kRunning,
  kFinalizing,
  kCompleted,
  kFailed,
  kCancelRequested,
  kCanceled,
};

inline constexpr std::array<RunStatus, 10> kAllRunStatuses = {
    RunStatus::kNotStarted, RunStatus::kQueued,  RunStatus::kPreparing,
    RunStatus::kStarting,   RunStatus::kRunning, RunStatus::kFinalizing,
    RunStatus::kCompleted,  RunStatus::kFailed,  RunStatus::kCancelRequested,
    RunStatus::kCanceled};

// Azure ML's spelling, e.g. "NotStarted", "CancelRequested".
std::string_view RunStatusName(RunStatus status);
// Inverse of RunStatusName (exact, case-sensitive). InvalidArgument naming the value otherwise.
Result<RunStatus> ParseRunStatus(std::string_view name);
// Completed, Failed and Canceled: the run will never change again.
bool IsTerminal(RunStatus status);
// The names of the statuses of a run that holds or waits for compute: Queued, Preparing,
// Starting, Running, Finalizing, CancelRequested.
const std::vector<std::string>& ActiveRunStatusNames();
// OK when a run may move from `from` to `to`; FailedPrecondition
// "cannot move run from X to Y" otherwise (including from == to).
Status CheckTransition(RunStatus from, RunStatus to);
// The status a cancel request moves a run in `current` to: Canceled for a run that has not
// started work (NotStarted, Queued), CancelRequested for an active one (the backend must stop
// it first; a run already in CancelRequested stays there, so a repeated cancel is a no-op for
// the caller to detect), FailedPrecondition for a terminal run.
Result<RunStatus> CancelTarget(RunStatus current);

}  // namespace gantry::jobs
