#include "runner/server_link.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "runner/testing/fake_system.h"

namespace gantry::runner {
namespace {

using jobs::RunStatus;
using testing::FakeRunnerClock;

// A server that answers from scripted outcomes (OK by default) and records what it got.
class ScriptedServer : public RunControl {
 public:
  Result<Json> GetRun() override {
    ++run_reads;
    if (Status s = Next(); !s.ok()) return Err(s);
    return Json{{"name", "r1"}, {"status", run_status}};
  }
  Result<jobs::RunControlReply> PostStatus(const jobs::StatusReport& report) override {
    if (Status s = Next(); !s.ok()) return Err(s);
    delivered.push_back(std::string(jobs::RunStatusName(report.status)));
    return jobs::RunControlReply{.status = reply_status.empty() ? delivered.back() : reply_status};
  }
  Result<jobs::RunControlReply> Heartbeat() override {
    ++heartbeats;
    if (Status s = Next(); !s.ok()) return Err(s);
    return jobs::RunControlReply{.status = run_status, .cancel_requested = cancel};
  }
  Result<jobs::NodesView> PostNode(const jobs::NodeReport& report) override {
    if (Status s = Next(); !s.ok()) return Err(s);
    nodes.push_back(report);
    return jobs::NodesView{.run = {.status = run_status}};
  }

  // The next calls' outcomes, in order; afterwards every call succeeds.
  std::deque<Status> script;
  std::vector<std::string> delivered;
  std::vector<jobs::NodeReport> nodes;
  std::string run_status = "Running";
  std::string reply_status;
  bool cancel = false;
  int heartbeats = 0, run_reads = 0;

 private:
  Status Next() {
    if (script.empty()) return Status::Ok();
    Status s = script.front();
    script.pop_front();
    return s;
  }
};

class ServerLinkTest : public ::testing::Test {
 protected:
  ServerLink MakeLink(int wait_seconds = 5) {
    return ServerLink(&server_, &clock_,
                      ServerLinkOptions{.server_url = "http://127.0.0.1:1",
                                        .run_name = "r1",
                                        .server_wait_seconds = wait_seconds,
                                        .retry_every_ms = 1000,
                                        .on_cancel = [this] { ++cancels_; },
                                        .runner_signal = [this] { return signal_; }});
  }

  ScriptedServer server_;
  FakeRunnerClock clock_;
  int cancels_ = 0;
  int signal_ = 0;
};

TEST_F(ServerLinkTest, ReportsWaitOutAnOutageAndArriveInOrder) {
  ServerLink link = MakeLink();
  server_.script = {UnavailableError("connection refused")};
  link.EnqueueStatus({.status = RunStatus::kStarting});
  link.EnqueueStatus({.status = RunStatus::kRunning, .process_group = 42});
  link.Flush();
  EXPECT_TRUE(server_.delivered.empty());
  EXPECT_TRUE(link.down());
  // Not retried before the retry interval is over.
  clock_.Advance(999);
  EXPECT_FALSE(link.Usable());
  link.Flush();
  EXPECT_TRUE(server_.delivered.empty());
  clock_.Advance(1);
  EXPECT_TRUE(link.Usable());
  link.Flush();
  EXPECT_EQ(server_.delivered, (std::vector<std::string>{"Starting", "Running"}));
  EXPECT_FALSE(link.down());
  EXPECT_TRUE(link.idle());
}

TEST_F(ServerLinkTest, GivesUpOnlyAfterTheWaitSinceTheLastAnswer) {
  ServerLink link = MakeLink(/*wait_seconds=*/5);
  clock_.Advance(3000);
  link.Heartbeat();  // answered: the wait counts from here
  EXPECT_EQ(link.Observe(UnavailableError("gone")), false);
  clock_.Advance(4999);
  EXPECT_FALSE(link.GaveUp());
  clock_.Advance(1);
  EXPECT_TRUE(link.GaveUp());
  // The final reports get the whole wait again.
  link.RestartWait();
  EXPECT_FALSE(link.GaveUp());
}

TEST_F(ServerLinkTest, RetryWhileUnavailableTriesEverySecondUntilTheWaitIsOver) {
  ServerLink link = MakeLink(/*wait_seconds=*/3);
  int calls = 0;
  Status s = link.RetryWhileUnavailable([&] {
    ++calls;
    return UnavailableError("connection refused");
  });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "gave up after 3 s: connection refused");
  EXPECT_EQ(calls, 4);  // at 0, 1, 2 and 3 s
  EXPECT_EQ(clock_.slept(), 3000);

  // A server that comes back with an answer ends the retries with that answer.
  ServerLink fresh = MakeLink(/*wait_seconds=*/3);
  calls = 0;
  Status back = fresh.RetryWhileUnavailable(
      [&] { return ++calls < 3 ? UnavailableError("refused") : NotFoundError("no run 'r1'"); });
  EXPECT_EQ(back.code(), StatusCode::kNotFound);
  EXPECT_EQ(calls, 3);
}

TEST_F(ServerLinkTest, ASignalledRunnerStopsWaitingForTheServer) {
  ServerLink link = MakeLink();
  signal_ = 15;
  Status s = link.RetryWhileUnavailable([] { return UnavailableError("refused"); });
  EXPECT_EQ(s.message(), "stopped by signal 15 while the server was unreachable: refused");
  EXPECT_EQ(clock_.slept(), 0);
}

TEST_F(ServerLinkTest, ARefusedStatusThatAlreadyLandedIsNotSentAgain) {
  ServerLink link = MakeLink();
  server_.script = {FailedPreconditionError("Running cannot follow Running")};
  link.EnqueueStatus({.status = RunStatus::kRunning});
  link.Flush();
  EXPECT_EQ(server_.run_reads, 1);
  EXPECT_TRUE(link.idle());
  EXPECT_FALSE(link.final_refused());
  EXPECT_FALSE(link.stopped());
}

TEST_F(ServerLinkTest, ARefusedStatusOfARunThatEndedStopsTheRunner) {
  ServerLink link = MakeLink();
  server_.run_status = "Canceled";
  server_.script = {FailedPreconditionError("Canceled is final")};
  link.EnqueueStatus({.status = RunStatus::kFinalizing});
  link.EnqueueStatus({.status = RunStatus::kCompleted});
  link.Flush();
  EXPECT_TRUE(link.stopped());
  EXPECT_TRUE(link.idle());  // nothing more is sent
  EXPECT_TRUE(server_.delivered.empty());
}

TEST_F(ServerLinkTest, ARefusalBecauseOfAPendingCancelStopsTheJob) {
  ServerLink link = MakeLink();
  server_.run_status = "CancelRequested";
  server_.script = {FailedPreconditionError("not now")};
  link.EnqueueStatus({.status = RunStatus::kRunning});
  link.Flush();
  EXPECT_TRUE(link.cancel_requested());
  EXPECT_EQ(cancels_, 1);
}

TEST_F(ServerLinkTest, AFinalStatusTheServerRefusesIsRemembered) {
  ServerLink link = MakeLink();
  server_.script = {InvalidArgumentError("field 'error' must be a string")};
  link.EnqueueStatus({.status = RunStatus::kFailed, .error = "x"});
  link.Flush();
  EXPECT_TRUE(link.idle());
  EXPECT_TRUE(link.final_refused());
  EXPECT_FALSE(link.stopped());
}

TEST_F(ServerLinkTest, AnUnknownRunOrTokenStopsTheRunnerAndDropsTheQueue) {
  ServerLink link = MakeLink();
  server_.script = {PermissionDeniedError("the token is not this run's")};
  link.EnqueueStatus({.status = RunStatus::kStarting});
  link.EnqueueStatus({.status = RunStatus::kRunning});
  link.Flush();
  EXPECT_TRUE(link.stopped());
  EXPECT_TRUE(link.idle());
  EXPECT_TRUE(server_.delivered.empty());
  // A refused node report stops it the same way.
  ServerLink other = MakeLink();
  server_.script = {NotFoundError("no run 'r1'")};
  other.EnqueueNodeReport({.rank = 1, .state = jobs::NodeState::kSucceeded});
  other.Flush();
  EXPECT_TRUE(other.stopped());
}

TEST_F(ServerLinkTest, AHeartbeatCarriesTheCancelAndTheRunsEnd) {
  ServerLink link = MakeLink();
  link.Heartbeat();
  EXPECT_FALSE(link.cancel_requested());
  server_.cancel = true;
  link.Heartbeat();
  link.Heartbeat();
  EXPECT_TRUE(link.cancel_requested());
  EXPECT_EQ(cancels_, 1);  // once
  EXPECT_FALSE(link.stopped());
  server_.run_status = "Failed";
  link.Heartbeat();
  EXPECT_TRUE(link.stopped());
}

TEST_F(ServerLinkTest, AStatusAnswerSayingCancelRequestedStopsTheJob) {
  ServerLink link = MakeLink();
  server_.reply_status = "CancelRequested";  // the server took Running quietly
  link.EnqueueStatus({.status = RunStatus::kRunning});
  link.Flush();
  EXPECT_EQ(cancels_, 1);
}

TEST_F(ServerLinkTest, NodeReportsKeepTheirPlaceInTheQueue) {
  ServerLink link = MakeLink();
  server_.script = {UnavailableError("refused")};
  link.EnqueueNodeReport({.rank = 1, .state = jobs::NodeState::kFailed, .error = "boom"});
  link.Flush();
  EXPECT_TRUE(server_.nodes.empty());
  clock_.Advance(1000);
  link.Flush();
  ASSERT_EQ(server_.nodes.size(), 1u);
  EXPECT_EQ(server_.nodes[0].error, "boom");
  EXPECT_TRUE(link.idle());
}

}  // namespace
}  // namespace gantry::runner
