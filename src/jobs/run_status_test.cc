#include "jobs/run_status.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace gantry::jobs {
namespace {

using enum RunStatus;

TEST(RunStatusTest, NamesRoundTrip) {
  for (RunStatus s : kAllRunStatuses) {
    auto parsed = ParseRunStatus(RunStatusName(s));
    ASSERT_TRUE(parsed.has_value()) << RunStatusName(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(RunStatusName(kCancelRequested), "CancelRequested");
  EXPECT_EQ(RunStatusName(kNotStarted), "NotStarted");
  auto bad = ParseRunStatus("running");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("'running'"), std::string::npos);
}

TEST(RunStatusTest, TerminalStatuses) {
  std::set<RunStatus> terminal;
  for (RunStatus s : kAllRunStatuses) {
    if (IsTerminal(s)) terminal.insert(s);
  }
  EXPECT_EQ(terminal, (std::set<RunStatus>{kCompleted, kFailed, kCanceled}));
}

TEST(RunStatusTest, TransitionTableIsExactlyAzureMlLifecycle) {
  const std::set<std::pair<RunStatus, RunStatus>> allowed = {
      {kNotStarted, kQueued},
      {kNotStarted, kFailed},
      {kNotStarted, kCanceled},
      {kQueued, kPreparing},
      {kQueued, kFailed},
      {kQueued, kCanceled},
      {kQueued, kCancelRequested},
      {kPreparing, kStarting},
      {kPreparing, kFailed},
      {kPreparing, kCancelRequested},
      {kStarting, kRunning},
      {kStarting, kFailed},
      {kStarting, kCancelRequested},
      {kRunning, kFinalizing},
      {kRunning, kFailed},
      {kRunning, kCancelRequested},
      {kFinalizing, kCompleted},
      {kFinalizing, kFailed},
      {kFinalizing, kCancelRequested},
      {kCancelRequested, kCanceled},
      {kCancelRequested, kFailed},
      {kCancelRequested, kCompleted},
  };
  for (RunStatus from : kAllRunStatuses) {
    for (RunStatus to : kAllRunStatuses) {
      Status s = CheckTransition(from, to);
      bool expected = allowed.contains({from, to});
      EXPECT_EQ(s.ok(), expected) << RunStatusName(from) << " -> " << RunStatusName(to);
      if (!expected) {
        EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
      }
    }
  }
}

TEST(RunStatusTest, ForbiddenTransitionsExplainThemselves) {
  Status s = CheckTransition(kQueued, kRunning);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "cannot move run from Queued to Running");
  EXPECT_FALSE(CheckTransition(kRunning, kCompleted).ok());  // must finalize first
  EXPECT_FALSE(CheckTransition(kRunning, kCanceled).ok());   // must request cancel first
  EXPECT_FALSE(CheckTransition(kNotStarted, kCancelRequested).ok());
  EXPECT_FALSE(CheckTransition(kRunning, kRunning).ok());
  EXPECT_FALSE(CheckTransition(kCancelRequested, kRunning).ok());
}

TEST(RunStatusTest, TerminalRunsNeverChange) {
  for (RunStatus from : {kCompleted, kFailed, kCanceled}) {
    for (RunStatus to : kAllRunStatuses) {
      EXPECT_FALSE(CheckTransition(from, to).ok())
          << RunStatusName(from) << " -> " << RunStatusName(to);
    }
  }
}

TEST(RunStatusTest, CancelTarget) {
  EXPECT_EQ(CancelTarget(kNotStarted), kCanceled);
  EXPECT_EQ(CancelTarget(kQueued), kCanceled);
  for (RunStatus s : {kPreparing, kStarting, kRunning, kFinalizing, kCancelRequested}) {
    EXPECT_EQ(CancelTarget(s), kCancelRequested) << RunStatusName(s);
  }
  for (RunStatus s : {kCompleted, kFailed, kCanceled}) {
    auto target = CancelTarget(s);
    ASSERT_FALSE(target.has_value());
    EXPECT_EQ(target.error().code(), StatusCode::kFailedPrecondition);
  }
  // Every target a cancel produces from a state that changes is a legal transition.
  for (RunStatus s : kAllRunStatuses) {
    auto target = CancelTarget(s);
    if (target.has_value() && *target != s) {
      EXPECT_TRUE(CheckTransition(s, *target).ok()) << RunStatusName(s);
    }
  }
}

}  // namespace
}  // namespace gantry::jobs
