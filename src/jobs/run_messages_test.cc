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

TEST(RunMessagesTest, AStatusReportRoundTripsAndLeavesEmptyFieldsOut) {
  StatusReport r{.status = RunStatus::kFailed,
                 .error = "rank 1 exited with code 3",
                 .exit_code = 3,
                 .process_group = 4242};
  Json body = StatusReportToJson(r);
  EXPECT_EQ(body, Json({{"status", "Failed"},
                        {"error", "rank 1 exited with code 3"},
                        {"exit_code", 3},
                        {"process_group", 4242}}));
  auto back = StatusReportFromJson(body);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->status, RunStatus::kFailed);
  EXPECT_EQ(back->error, r.error);
  EXPECT_EQ(back->exit_code, 3);
  EXPECT_EQ(back->process_group, 4242);
  EXPECT_EQ(StatusReportToJson({.status = RunStatus::kStarting}), Json({{"status", "Starting"}}));
  auto none = StatusReportFromJson(Json({{"status", "Completed"}, {"exit_code", nullptr}}));
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->exit_code.has_value());
}

TEST(RunMessagesTest, ABadStatusReportNamesTheField) {
  auto message = [](const Json& body) {
    auto r = StatusReportFromJson(body);
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? std::string() : r.error().message();
  };
  EXPECT_NE(message(Json({{"status", "Done"}})).find("'Done'"), std::string::npos);
  EXPECT_EQ(message(Json({{"status", "Failed"}, {"exit_code", "3"}})),
            "field 'exit_code' must be an integer");
  EXPECT_EQ(message(Json({{"status", "Failed"}, {"exit_code", 1LL << 40}})),
            "field 'exit_code' is out of range: 1099511627776");
  EXPECT_EQ(message(Json({{"status", "Running"}, {"process_group", "12"}})),
            "field 'process_group' must be an integer");
  EXPECT_EQ(message(Json::array()), "the status report must be an object");
}

TEST(RunMessagesTest, AControlReplyReadsAnyAnswerThatCarriesTheRunsStatus) {
  auto reply = RunControlReplyFromJson(
      Json({{"name", "r1"}, {"status", "CancelRequested"}, {"cancel_requested", true}}));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, "CancelRequested");
  EXPECT_TRUE(reply->cancel_requested);
  auto run = RunControlReplyFromJson(Json({{"status", "Running"}}));  // a run object
  ASSERT_TRUE(run.has_value());
  EXPECT_FALSE(run->cancel_requested);
  EXPECT_FALSE(RunControlReplyFromJson(Json({{"cancel_requested", "yes"}})).has_value());
  EXPECT_FALSE(RunControlReplyFromJson(Json("Running")).has_value());
}

TEST(RunMessagesTest, NodeReportsAndTheNodesAnswerRoundTrip) {
  NodeReport report{.rank = 1,
                    .state = NodeState::kFailed,
                    .address = "10.0.0.2",
                    .error = "rank 3 (node 1) exited with code 2",
                    .exit_code = 2};
  Json body = NodeReportToJson(report);
  EXPECT_EQ(body, Json({{"state", "failed"},
                        {"address", "10.0.0.2"},
                        {"port", 0},
                        {"error", "rank 3 (node 1) exited with code 2"},
                        {"exit_code", 2}}));
  auto back = NodeReportFromJson(body, 1);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->rank, 1);
  EXPECT_EQ(back->state, NodeState::kFailed);
  EXPECT_EQ(back->exit_code, 2);
  auto bad = NodeReportFromJson(Json({{"state", "ready"}, {"port", "29500"}}), 0);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "field 'port' must be an integer");

  NodesView view{.run = {.status = "Starting"}, .node_count = 2};
  view.nodes.push_back({.rank = 0,
                        .state = NodeState::kReady,
                        .address = "10.0.0.1",
                        .port = 29500,
                        .updated_at = 17});
  view.nodes.push_back(*back);
  auto decoded = NodesViewFromJson(NodesViewToJson(view));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->run.status, "Starting");
  EXPECT_EQ(decoded->node_count, 2);
  ASSERT_EQ(decoded->nodes.size(), 2u);
  EXPECT_EQ(decoded->nodes[0].port, 29500);
  EXPECT_EQ(decoded->nodes[0].updated_at, 17);
  EXPECT_FALSE(decoded->nodes[0].exit_code.has_value());
  EXPECT_EQ(decoded->nodes[1].error, report.error);
}

TEST(RunMessagesTest, ANodeInAStateThisSideDoesNotKnowReadsAsNotStarted) {
  auto view = NodesViewFromJson(Json::parse(
      R"({"status":"Running","nodes":[{"rank":1,"state":"migrating","address":"a"}]})"));
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->nodes.size(), 1u);
  EXPECT_EQ(view->nodes[0].state, NodeState::kReady);
  EXPECT_FALSE(NodesViewFromJson(Json::parse(R"({"status":"Running","nodes":[{"state":"ready"}]})"))
                   .has_value());  // no rank
}

}  // namespace
}  // namespace gantry::jobs
