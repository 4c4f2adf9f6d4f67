#include "jobs/run_status.h"

#include <string>

namespace gantry::jobs {

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kNotStarted:
      return "NotStarted";
    case RunStatus::kQueued:
      return "Queued";
    case RunStatus::kPreparing:
      return "Preparing";
    case RunStatus::kStarting:
      return "Starting";
    case RunStatus::kRunning:
      return "Running";
    case RunStatus::kFinalizing:
      return "Finalizing";
    case RunStatus::kCompleted:
      return "Completed";
    case RunStatus::kFailed:
      return "Failed";
    case RunStatus::kCancelRequested:
      return "CancelRequested";
    case RunStatus::kCanceled:
      return "Canceled";
  }
  return "Unknown";
}

Result<RunStatus> ParseRunStatus(std::string_view name) {
  for (RunStatus s : kAllRunStatuses) {
    if (RunStatusName(s) == name) return s;
  }
  return Err(InvalidArgumentError("unknown run status '" + std::string(name) + "'"));
}

bool IsTerminal(RunStatus status) {
  return status == RunStatus::kCompleted || status == RunStatus::kFailed ||
         status == RunStatus::kCanceled;
}

namespace {

bool Allowed(RunStatus from, RunStatus to) {
  using enum RunStatus;
  switch (from) {
    case kNotStarted:
      return to == kQueued || to == kFailed || to == kCanceled;
    case kQueued:
      return to == kPreparing || to == kFailed || to == kCanceled || to == kCancelRequested;
    case kPreparing:
      return to == kStarting || to == kFailed || to == kCancelRequested;
    case kStarting:
      return to == kRunning || to == kFailed || to == kCancelRequested;
    case kRunning:
      return to == kFinalizing || to == kFailed || to == kCancelRequested;
    case kFinalizing:
      return to == kCompleted || to == kFailed || to == kCancelRequested;
    // The process may finish on its own while the cancel is in flight.
    case kCancelRequested:
      return to == kCanceled || to == kFailed || to == kCompleted;
    case kCompleted:
    case kFailed:
    case kCanceled:
      return false;
  }
  return false;
}

}  // namespace

Status CheckTransition(RunStatus from, RunStatus to) {
  if (Allowed(from, to)) return Status::Ok();
  return FailedPreconditionError("cannot move run from " + std::string(RunStatusName(from)) +
                                 " to " + std::string(RunStatusName(to)));
}

Result<RunStatus> CancelTarget(RunStatus current) {
  switch (current) {
    case RunStatus::kNotStarted:
    case RunStatus::kQueued:
      return RunStatus::kCanceled;
    case RunStatus::kPreparing:
    case RunStatus::kStarting:
    case RunStatus::kRunning:
    case RunStatus::kFinalizing:
    case RunStatus::kCancelRequested:
      return RunStatus::kCancelRequested;
    case RunStatus::kCompleted:
    case RunStatus::kFailed:
    case RunStatus::kCanceled:
      break;
  }
  return Err(FailedPreconditionError("cannot cancel a run that is already " +
                                     std::string(RunStatusName(current))));
}

const std::vector<std::string>& ActiveRunStatusNames() {
  static const std::vector<std::string> kActive = [] {
    std::vector<std::string> names;
    for (RunStatus s : {RunStatus::kQueued, RunStatus::kPreparing, RunStatus::kStarting,
                        RunStatus::kRunning, RunStatus::kFinalizing, RunStatus::kCancelRequested}) {
      names.emplace_back(RunStatusName(s));
    }
    return names;
  }();
  return kActive;
}

}  // namespace gantry::jobs
