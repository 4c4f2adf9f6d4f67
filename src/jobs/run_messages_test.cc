#include "jobs/run_messages.h"

#include <gtest/gtest.h>

namespace gantry::jobs {
namespace {

TEST(RunMessagesTest, NodeStatesRoundTripAndUnknownOnesAreNamed) {
  for (NodeState s : {NodeState::kReady, NodeState::kRunning, NodeState::kSucceeded,
                      NodeState::kFailed, NodeState::kStopped}) {
    auto parsed = ParseNodeState(NodeStateName(s));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, s);
  }
  auto bad = ParseNodeState("done");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(),
            "node state 'done' is not one of ready, running, succeeded, failed, stopped");
}

TEST(RunMessagesTest, OnlySucceededFailedAndStoppedAreFinal) {
  EXPECT_FALSE(IsFinalNodeState(NodeState::kReady));
  EXPECT_FALSE(IsFinalNodeState(NodeState::kRunning));
  EXPECT_TRUE(IsFinalNodeState(NodeState::kSucceeded));
  EXPECT_TRUE(IsFinalNodeState(NodeState::kFailed));
  EXPECT_TRUE(IsFinalNodeState(NodeState::kStopped));
}

TEST(RunMessagesTest, PerNodeLogStreamsAreNamedAndRecognised) {
  EXPECT_EQ(NodeLogStream(3), "std_log_node_3.txt");
  EXPECT_EQ(NodeOfLogStream("std_log_node_3.txt"), 3);
  EXPECT_EQ(NodeOfLogStream(NodeLogStream(120)), 120);
  EXPECT_FALSE(NodeOfLogStream(kMergedLogStream).has_value());
  EXPECT_FALSE(NodeOfLogStream("std_log_node_.txt").has_value());
  EXPECT_FALSE(NodeOfLogStream("std_log_node_-1.txt").has_value());
  EXPECT_FALSE(NodeOfLogStream("std_log_node_1234567.txt").has_value());  // over 6 digits
  EXPECT_FALSE(NodeOfLogStream("std_log_process_0.txt").has_value());
}

}  // namespace
}  // namespace gantry::jobs
