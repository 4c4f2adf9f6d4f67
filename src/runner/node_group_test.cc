#include "runner/node_group.h"

#include <gtest/gtest.h>

namespace gantry::runner {
namespace {

using jobs::NodeReport;
using jobs::NodeState;
using jobs::NodesView;

NodesView View(std::vector<NodeReport> nodes) {
  return NodesView{.run = {.status = "Running"}, .node_count = 3, .nodes = std::move(nodes)};
}

TEST(NodeGroupTest, TheMeetingCompletesOnceEveryNodeGaveItsAddress) {
  Meeting partial = ReadMeeting(
      View({{.rank = 0, .address = "10.0.0.1", .port = 29500}, {.rank = 2, .address = ""}}), 3);
  EXPECT_FALSE(partial.complete);
  EXPECT_EQ(partial.missing, "1, 2");
  Meeting all = ReadMeeting(View({{.rank = 0, .address = "10.0.0.1", .port = 29500},
                                  {.rank = 1, .address = "10.0.0.2"},
                                  {.rank = 2, .address = "10.0.0.3"}}),
                            3);
  ASSERT_TRUE(all.complete);
  EXPECT_EQ(all.layout.hosts, (std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  EXPECT_EQ(all.layout.base_port, 29500);
}

TEST(NodeGroupTest, ANodeThatFailedBeforeTheStartEndsTheMeeting) {
  Meeting m = ReadMeeting(View({{.rank = 0, .address = "a"},
                                {.rank = 1, .state = NodeState::kFailed, .error = "no mpirun"}}),
                          3);
  EXPECT_FALSE(m.complete);
  EXPECT_EQ(m.failure, "node 1 failed before the job started: no mpirun");
}

TEST(NodeGroupTest, AllStartedAndAllEndedCountOnlyTheOtherNodes) {
  std::map<int64_t, int64_t> missing;
  PeerReading r = ReadPeers(View({{.rank = 0, .state = NodeState::kReady},
                                  {.rank = 1, .state = NodeState::kRunning},
                                  {.rank = 2, .state = NodeState::kSucceeded}}),
                            /*self=*/0, 3, /*leader=*/true, 0, &missing);
  EXPECT_TRUE(r.all_started);
  EXPECT_FALSE(r.others_ended);
  EXPECT_TRUE(r.failure.empty());
  PeerReading waiting =
      ReadPeers(View({{.rank = 1, .state = NodeState::kReady}}), 0, 3, true, 0, &missing);
  EXPECT_FALSE(waiting.all_started);
  PeerReading ended = ReadPeers(View({{.rank = 1, .state = NodeState::kSucceeded},
                                      {.rank = 2, .state = NodeState::kStopped}}),
                                0, 3, true, 0, &missing);
  EXPECT_TRUE(ended.others_ended);
  EXPECT_TRUE(ended.others_stopped);
}

TEST(NodeGroupTest, TheFirstFailedNodeIsReportedWithItsExitCode) {
  std::map<int64_t, int64_t> missing;
  PeerReading r = ReadPeers(View({{.rank = 1,
                                   .state = NodeState::kFailed,
                                   .error = "rank 3 (node 1) exited with code 2",
                                   .exit_code = 2},
                                  {.rank = 2, .state = NodeState::kFailed}}),
                            0, 3, true, 0, &missing);
  EXPECT_EQ(r.failure, "rank 3 (node 1) exited with code 2");
  EXPECT_EQ(r.failure_exit_code, 2);
  PeerReading unnamed = ReadPeers(View({{.rank = 2, .state = NodeState::kFailed}}), 1, 3,
                                  /*leader=*/false, 0, &missing);
  EXPECT_EQ(unnamed.failure, "node 2 failed");
}

TEST(NodeGroupTest, NodeZeroCountsANodeSilentForThirtySecondsAsLost) {
  std::map<int64_t, int64_t> missing;
  auto view = [](int64_t server_now, int64_t node1_at) {
    return View({{.rank = 0, .state = NodeState::kRunning, .updated_at = server_now},
                 {.rank = 1, .state = NodeState::kRunning, .updated_at = node1_at},
                 {.rank = 2, .state = NodeState::kSucceeded, .updated_at = 0}});
  };
  EXPECT_TRUE(ReadPeers(view(100'000, 70'000), 0, 3, true, 0, &missing).failure.empty());
  PeerReading lost = ReadPeers(view(100'001, 70'000), 0, 3, true, 0, &missing);
  EXPECT_EQ(lost.failure, "node 1 stopped reporting 30 s ago (its runner died or lost the server)");
  // Only node 0 judges; a node that ended is never lost.
  EXPECT_TRUE(ReadPeers(view(100'001, 70'000), 2, 3, false, 0, &missing).failure.empty());
}

TEST(NodeGroupTest, ANodeGoneFromTheServersAnswerIsLostAfterThirtySeconds) {
  std::map<int64_t, int64_t> missing;
  NodesView without_2 =
      View({{.rank = 0, .state = NodeState::kRunning}, {.rank = 1, .state = NodeState::kRunning}});
  EXPECT_TRUE(ReadPeers(without_2, 0, 3, true, 5'000, &missing).failure.empty());
  EXPECT_TRUE(ReadPeers(without_2, 0, 3, true, 35'000, &missing).failure.empty());
  EXPECT_EQ(ReadPeers(without_2, 0, 3, true, 35'001, &missing).failure,
            "node 2 stopped reporting (the server lost its state)");
  // Back in the answer: the count starts over.
  NodesView all = View({{.rank = 0}, {.rank = 1}, {.rank = 2}});
  EXPECT_TRUE(ReadPeers(all, 0, 3, true, 40'000, &missing).failure.empty());
  EXPECT_TRUE(ReadPeers(without_2, 0, 3, true, 60'000, &missing).failure.empty());
}

}  // namespace
}  // namespace gantry::runner
