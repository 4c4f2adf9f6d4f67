#include "runner/job_outcome.h"

#include <gtest/gtest.h>

#include <csignal>

namespace gantry::runner {
namespace {

using jobs::RunStatus;

JobEnding Exited(int code, int signal = 0) {
  JobEnding e;
  e.exit = {code, signal};
  return e;
}

TEST(JobOutcomeTest, AllZeroCompletesWithExitCodeZero) {
  Outcome o = DecideOutcome(Exited(0));
  EXPECT_EQ(o.status, RunStatus::kCompleted);
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.exit_code, 0);
}

TEST(JobOutcomeTest, ACommandThatFailsNamesItsCodeAndStderrTail) {
  JobEnding e = Exited(3);
  e.stderr_tail = "ValueError: bad learning rate";
  Outcome o = DecideOutcome(e);
  EXPECT_EQ(o.status, RunStatus::kFailed);
  EXPECT_EQ(o.error, "command exited with code 3:\nValueError: bad learning rate");
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(DecideOutcome(Exited(1)).error, "command exited with code 1");  // no tail
}

TEST(JobOutcomeTest, ACommandKilledBySignalNamesTheSignal) {
  Outcome o = DecideOutcome(Exited(0, SIGKILL));
  EXPECT_EQ(o.status, RunStatus::kFailed);
  EXPECT_EQ(o.error, "command killed by signal 9 (" + SignalName(SIGKILL) + ")");
}

TEST(JobOutcomeTest, ACancelWinsOverTheExitItCaused) {
  JobEnding e = Exited(143);
  e.kill_reason = KillReason::kCancel;
  EXPECT_EQ(DecideOutcome(e).status, RunStatus::kCanceled);
  // The backend signalled the group before the runner stopped it: still the cancel's doing.
  JobEnding early = Exited(0, SIGTERM);
  early.cancel_requested = true;
  EXPECT_EQ(DecideOutcome(early).status, RunStatus::kCanceled);
  // A job that finished cleanly while a cancel was on its way completed.
  JobEnding done = Exited(0);
  done.cancel_requested = true;
  EXPECT_EQ(DecideOutcome(done).status, RunStatus::kCompleted);
}

TEST(JobOutcomeTest, ATimeoutFailsNamingTheLimit) {
  JobEnding e = Exited(0, SIGTERM);
  e.kill_reason = KillReason::kTimeout;
  e.timeout_seconds = 5;
  Outcome o = DecideOutcome(e);
  EXPECT_EQ(o.status, RunStatus::kFailed);
  EXPECT_EQ(o.error, "timed out after 5 s (limits.timeout)");
}

TEST(JobOutcomeTest, TheRunnersOwnSignalIsNamed) {
  JobEnding e = Exited(0, SIGTERM);
  e.kill_reason = KillReason::kRunnerSignal;
  e.runner_signal = SIGINT;
  EXPECT_EQ(DecideOutcome(e).error,
            "the runner was stopped by signal 2 (" + SignalName(SIGINT) + ")");
}

TEST(JobOutcomeTest, ADistributedFailureReportsTheFailedRankAndItsCode) {
  JobEnding e = Exited(1);
  e.distributed_error = "rank 1 exited with code 7; the other ranks were stopped:\nboom";
  e.distributed_exit_code = 7;
  Outcome o = DecideOutcome(e);
  EXPECT_EQ(o.status, RunStatus::kFailed);
  EXPECT_EQ(o.error, *e.distributed_error);
  EXPECT_EQ(o.exit_code, 7);
}

TEST(JobOutcomeTest, MultiNodeAPeerFailureExplainsThisNodesEnding) {
  // This node's ranks were stopped because another node failed.
  JobEnding stopped = Exited(0, SIGTERM);
  stopped.multi_node = true;
  stopped.kill_reason = KillReason::kPeerFailed;
  stopped.peer_failure = "node 1: rank 3 exited with code 2";
  stopped.peer_exit_code = 2;
  Outcome o = DecideOutcome(stopped);
  EXPECT_EQ(o.status, RunStatus::kFailed);
  EXPECT_EQ(o.error, "node 1: rank 3 exited with code 2");
  EXPECT_EQ(o.exit_code, 2);
  // This node's ranks all succeeded, but another node failed: the run failed.
  JobEnding clean = Exited(0);
  clean.multi_node = true;
  clean.peer_failure = "node 1: rank 3 exited with code 2";
  EXPECT_EQ(DecideOutcome(clean).status, RunStatus::kFailed);
}

TEST(JobOutcomeTest, MultiNodeACancelThatStoppedTheOtherNodesIsACancel) {
  JobEnding e = Exited(1);
  e.multi_node = true;
  e.cancel_requested = true;
  e.others_stopped = true;
  e.kill_reason = KillReason::kServerEnded;
  EXPECT_EQ(DecideOutcome(e).status, RunStatus::kCanceled);
  // Unless this node's own rank failed first: that failure is the outcome.
  e.kill_reason = KillReason::kRankFailed;
  e.distributed_error = "rank 0 exited with code 1";
  e.distributed_exit_code = 1;
  Outcome o = DecideOutcome(e);
  EXPECT_EQ(o.status, RunStatus::kFailed);
  EXPECT_EQ(o.error, "rank 0 exited with code 1");
}

TEST(JobOutcomeTest, TheTimeoutCountsFromTheStartAndZeroMeansNone) {
  EXPECT_FALSE(TimedOut(14'999, 10'000, 5));
  EXPECT_TRUE(TimedOut(15'000, 10'000, 5));  // exactly the limit: stopped
  EXPECT_FALSE(TimedOut(1'000'000'000, 0, 0));
}

TEST(JobOutcomeTest, SigkillFollowsSigtermAfterTheGracePeriod) {
  EXPECT_EQ(SigkillAtMs(10'000, 30), 40'000);
  EXPECT_EQ(SigkillAtMs(10'000, 0), 10'000);
  EXPECT_EQ(SigkillAtMs(10'000, -5), 10'000);  // a negative grace is none
}

}  // namespace
}  // namespace gantry::runner
