#include "deploy/rollout_policy.h"

#include <gtest/gtest.h>

namespace gantry::deploy {
namespace {

using P = ReplicaPhase;

TEST(RolloutPolicyTest, AGenerationSucceedsOnceWhenEveryReplicaIsReady) {
  EXPECT_EQ(NextRolloutStep({P::kReady, P::kReady}, false), RolloutStep::kSucceed);
  EXPECT_EQ(NextRolloutStep({P::kReady, P::kStarting}, false), RolloutStep::kWait);
  EXPECT_EQ(NextRolloutStep({P::kReady, P::kRestarting}, false), RolloutStep::kWait);
  // Once ready, a restart and recovery does not succeed again (nor stop anything twice).
  EXPECT_EQ(NextRolloutStep({P::kReady, P::kReady}, true), RolloutStep::kWait);
  // No replicas (a deployment being stopped): nothing to wait for, nothing to declare.
  EXPECT_EQ(NextRolloutStep({}, false), RolloutStep::kWait);
}

TEST(RolloutPolicyTest, AnExitBeforeTheFirstReadyFailsTheDeploymentAfterItRestarts) {
  EXPECT_EQ(OnReplicaExit(false), ExitAction::kFailDeployment);
  EXPECT_EQ(OnReplicaExit(true), ExitAction::kRestartLater);
}

TEST(RolloutPolicyTest, RestartsBackOffByDoublingUpToTheCap) {
  RolloutRules rules;  // cap 30 s
  EXPECT_EQ(RestartDelayMs(1, rules), 1000);
  EXPECT_EQ(RestartDelayMs(2, rules), 2000);
  EXPECT_EQ(RestartDelayMs(3, rules), 4000);
  EXPECT_EQ(RestartDelayMs(5, rules), 16000);
  EXPECT_EQ(RestartDelayMs(6, rules), 30000);
  EXPECT_EQ(RestartDelayMs(1000, rules), 30000);  // no overflow on a long streak
  rules.max_backoff_ms = 1500;
  EXPECT_EQ(RestartDelayMs(2, rules), 1500);
}

TEST(RolloutPolicyTest, AStartTimesOutOnlyPastTheReadyTimeout) {
  RolloutRules rules;
  rules.ready_timeout_ms = 5000;
  EXPECT_FALSE(StartTimedOut(15000, 10000, rules));  // exactly 5 s: not yet
  EXPECT_TRUE(StartTimedOut(15001, 10000, rules));
}

TEST(RolloutPolicyTest, HealthChecksComeEachIntervalAndTheThirdFailureKills) {
  RolloutRules rules;  // every 2 s, 3 failures
  EXPECT_FALSE(HealthCheckDue(11999, 10000, rules));
  EXPECT_TRUE(HealthCheckDue(12000, 10000, rules));
  EXPECT_FALSE(TooManyHealthFailures(2, rules));
  EXPECT_TRUE(TooManyHealthFailures(3, rules));
}

TEST(RolloutPolicyTest, TheCrashStreakStartsOverAfterAMinuteReady) {
  RolloutRules rules;
  EXPECT_FALSE(CrashStreakResets(70000, 10000, rules));  // exactly 60 s
  EXPECT_TRUE(CrashStreakResets(70001, 10000, rules));
}

TEST(RolloutPolicyTest, PhasesHaveTheNamesTheApiShows) {
  EXPECT_STREQ(ReplicaPhaseName(P::kStarting), "Starting");
  EXPECT_STREQ(ReplicaPhaseName(P::kReady), "Ready");
  EXPECT_STREQ(ReplicaPhaseName(P::kRestarting), "Restarting");
  EXPECT_STREQ(ReplicaPhaseName(P::kStopped), "Stopped");
}

}  // namespace
}  // namespace gantry::deploy
