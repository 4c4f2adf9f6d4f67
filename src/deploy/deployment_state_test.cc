#include "deploy/deployment_state.h"

#include <gtest/gtest.h>

namespace gantry::deploy {
namespace {

using S = DeploymentState;

TEST(DeploymentStateTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (S s : {S::kCreating, S::kUpdating, S::kSucceeded, S::kFailed, S::kDeleting}) {
    EXPECT_EQ(ParseDeploymentState(DeploymentStateName(s)), s);
  }
  EXPECT_EQ(DeploymentStateName(S::kSucceeded), "Succeeded");
  EXPECT_FALSE(ParseDeploymentState("succeeded").has_value());
  EXPECT_FALSE(ParseDeploymentState("Running").has_value());
}

TEST(DeploymentStateTest, ANewGenerationEndsSucceededOrFailed) {
  for (S from : {S::kCreating, S::kUpdating}) {
    EXPECT_TRUE(CheckDeploymentTransition(from, S::kSucceeded).ok());
    EXPECT_TRUE(CheckDeploymentTransition(from, S::kFailed).ok());
    EXPECT_TRUE(CheckDeploymentTransition(from, S::kDeleting).ok());
    EXPECT_FALSE(CheckDeploymentTransition(from, S::kCreating).ok());
  }
  EXPECT_FALSE(CheckDeploymentTransition(S::kCreating, S::kUpdating).ok());
}

TEST(DeploymentStateTest, AFailedDeploymentOnlyMovesOnByAnUpdateOrADelete) {
  EXPECT_TRUE(CheckDeploymentTransition(S::kFailed, S::kUpdating).ok());
  EXPECT_TRUE(CheckDeploymentTransition(S::kFailed, S::kDeleting).ok());
  Status st = CheckDeploymentTransition(S::kFailed, S::kSucceeded);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "a deployment cannot go from Failed to Succeeded");
}

TEST(DeploymentStateTest, ASucceededDeploymentComesBackAfterARestartOrIsUpdated) {
  EXPECT_TRUE(CheckDeploymentTransition(S::kSucceeded, S::kSucceeded).ok());
  EXPECT_TRUE(CheckDeploymentTransition(S::kSucceeded, S::kFailed).ok());
  EXPECT_TRUE(CheckDeploymentTransition(S::kSucceeded, S::kUpdating).ok());
  EXPECT_FALSE(CheckDeploymentTransition(S::kSucceeded, S::kCreating).ok());
}

TEST(DeploymentStateTest, NothingFollowsDeleting) {
  for (S to : {S::kCreating, S::kUpdating, S::kSucceeded, S::kFailed, S::kDeleting}) {
    EXPECT_FALSE(CheckDeploymentTransition(S::kDeleting, to).ok());
  }
}

}  // namespace
}  // namespace gantry::deploy
