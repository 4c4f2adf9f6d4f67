#include "runner/job_processes.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <string>

#include "common/files.h"
#include "runner/testing/fake_system.h"

namespace gantry::runner {
namespace {

using testing::FakeLauncher;
using testing::FakeRunnerClock;

class JobProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gantry-job-processes-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(MakeDirs(dir_ / "wd").ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  JobProcessesOptions Options(jobs::DistributionPlan plan = {}) {
    return JobProcessesOptions{.run_name = "r1",
                               .work_dir = dir_,
                               .wd = dir_ / "wd",
                               .log_file = dir_ / "std_log.txt",
                               .command = "python train.py",
                               .plan = plan,
                               .grace_seconds = 10,
                               .timeout_seconds = 60,
                               .launcher = &launcher_,
                               .clock = &clock_};
  }

  static jobs::DistributionPlan Plan(const Json& resources, const Json& distribution) {
    auto plan = jobs::PlanDistribution(resources, distribution);
    EXPECT_TRUE(plan.has_value());
    return plan.value_or(jobs::DistributionPlan{});
  }

  fs::path dir_;
  FakeLauncher launcher_;
  FakeRunnerClock clock_;
};

TEST_F(JobProcessesTest, TheCommandRunsInItsOwnSessionInTheWorkingFolder) {
  JobProcesses job(Options());
  ASSERT_TRUE(job.Launch().ok());
  ASSERT_EQ(launcher_.spawned().size(), 1u);
  const SpawnOptions& spawned = launcher_.spawned()[0].second;
  EXPECT_EQ(spawned.argv.back(), "python train.py");
  EXPECT_EQ(spawned.argv[1], "-c");
  EXPECT_TRUE(spawned.new_session);
  EXPECT_EQ(spawned.cwd, dir_ / "wd");
  EXPECT_EQ(job.pid(), launcher_.spawned()[0].first);
  EXPECT_FALSE(job.Poll());
  launcher_.Exit(job.pid(), {.code = 0});
  EXPECT_TRUE(job.Poll());
  EXPECT_TRUE(job.succeeded());
}

TEST_F(JobProcessesTest, TheTimeoutSendsSigtermThenSigkillAfterTheGracePeriod) {
  JobProcesses job(Options());
  ASSERT_TRUE(job.Launch().ok());
  clock_.Advance(59'999);
  job.Supervise(clock_.NowMs(), 0, false);
  EXPECT_TRUE(launcher_.signals().empty());
  clock_.Advance(1);  // limits.timeout: 60 s
  job.Supervise(clock_.NowMs(), 0, false);
  ASSERT_EQ(launcher_.signals().size(), 1u);
  EXPECT_EQ(launcher_.signals()[0], std::make_pair(job.pid(), SIGTERM));
  EXPECT_EQ(job.kill_reason(), KillReason::kTimeout);
  // SIGKILL follows 10 s (the grace period) after the SIGTERM.
  clock_.Advance(9'999);
  job.Supervise(clock_.NowMs(), 0, false);
  EXPECT_EQ(launcher_.signals().size(), 1u);
  clock_.Advance(1);
  job.Supervise(clock_.NowMs(), 0, false);
  ASSERT_EQ(launcher_.signals().size(), 2u);
  EXPECT_EQ(launcher_.signals()[1], std::make_pair(job.pid(), SIGKILL));
}

TEST_F(JobProcessesTest, AStoppedJobGetsSigkillOnceTheGraceIsOver) {
  JobProcesses job(Options());
  ASSERT_TRUE(job.Launch().ok());
  job.OnCancel();
  EXPECT_EQ(job.kill_reason(), KillReason::kCancel);
  ASSERT_EQ(launcher_.signals().size(), 1u);
  EXPECT_EQ(launcher_.signals()[0].second, SIGTERM);
  const int64_t sigterm_at = clock_.NowMs();
  job.Supervise(sigterm_at + 9'999, 0, false);
  EXPECT_EQ(launcher_.signals().size(), 1u);
  job.Supervise(sigterm_at + 10'000, 0, false);
  job.Supervise(sigterm_at + 20'000, 0, false);
  ASSERT_EQ(launcher_.signals().size(), 2u);  // one SIGKILL, not one per pass
  EXPECT_EQ(launcher_.signals()[1], std::make_pair(job.pid(), SIGKILL));
  // A second stop request changes nothing.
  job.OnCancel();
  EXPECT_EQ(launcher_.signals().size(), 2u);
}

TEST_F(JobProcessesTest, ANegativeGraceKillsAtOnceAndACancelAfterTheExitSendsNothing) {
  JobProcessesOptions options = Options();
  options.grace_seconds = -1;
  JobProcesses job(options);
  ASSERT_TRUE(job.Launch().ok());
  launcher_.Exit(job.pid(), {.code = 0});
  ASSERT_TRUE(job.Poll());
  job.OnCancel();
  EXPECT_TRUE(launcher_.signals().empty());
  EXPECT_EQ(job.kill_reason(), KillReason::kNone);

  JobProcesses second(options);
  ASSERT_TRUE(second.Launch().ok());
  second.Supervise(clock_.NowMs(), /*runner_signal=*/SIGTERM, false);
  EXPECT_EQ(second.kill_reason(), KillReason::kRunnerSignal);
  // No grace: SIGKILL in the same pass, and only once.
  ASSERT_EQ(launcher_.signals().size(), 2u);
  EXPECT_EQ(launcher_.signals()[0], std::make_pair(second.pid(), SIGTERM));
  EXPECT_EQ(launcher_.signals()[1], std::make_pair(second.pid(), SIGKILL));
  second.Supervise(clock_.NowMs(), SIGTERM, false);
  EXPECT_EQ(launcher_.signals().size(), 2u);
}

TEST_F(JobProcessesTest, TheServerEndingTheRunStopsTheJob) {
  JobProcesses job(Options());
  ASSERT_TRUE(job.Launch().ok());
  job.Supervise(clock_.NowMs(), 0, /*server_ended=*/true);
  EXPECT_EQ(job.kill_reason(), KillReason::kServerEnded);
}

TEST_F(JobProcessesTest, AFailedStartIsNamed) {
  launcher_.FailSpawns();
  JobProcesses job(Options());
  Status s = job.Launch();
  EXPECT_EQ(s.message(), "cannot start the command: no processes today");
}

TEST_F(JobProcessesTest, TheFirstRankToFailStopsTheOthersAndIsNamed) {
  JobProcesses job(Options(Plan(Json{{"instance_count", 3}}, nullptr)));
  ASSERT_TRUE(job.Launch().ok());
  ASSERT_EQ(launcher_.spawned().size(), 3u);
  EXPECT_TRUE(launcher_.spawned()[0].second.new_process_group);
  const pid_t r0 = launcher_.spawned()[0].first, r1 = launcher_.spawned()[1].first,
              r2 = launcher_.spawned()[2].first;
  launcher_.Exit(r1, {.code = 3});
  EXPECT_FALSE(job.Poll());
  job.Supervise(clock_.NowMs(), 0, false);
  EXPECT_EQ(job.kill_reason(), KillReason::kRankFailed);
  EXPECT_EQ(launcher_.signals(),
            (std::vector<std::pair<pid_t, int>>{{r0, SIGTERM}, {r1, SIGTERM}, {r2, SIGTERM}}));
  launcher_.Exit(r0, {.code = 0, .signal = SIGTERM});
  launcher_.Exit(r2, {.code = 0, .signal = SIGTERM});
  ASSERT_TRUE(job.Poll());
  ASSERT_TRUE(job.Drain(1000));
  JobEnding ending;
  job.DescribeEnding(&ending, "", std::nullopt);
  EXPECT_EQ(ending.exit.code, 3);
  EXPECT_EQ(ending.kill_reason, KillReason::kRankFailed);
  EXPECT_EQ(ending.distributed_error,
            "rank 1 (node 1) exited with code 3; the other ranks were stopped");
  EXPECT_EQ(ending.distributed_exit_code, 3);
}

TEST_F(JobProcessesTest, AParameterServerJobEndsWithItsChief) {
  JobProcesses job(Options(
      Plan(Json{{"instance_count", 1}},
           Json{{"type", "tensorflow"}, {"worker_count", 1}, {"parameter_server_count", 1}})));
  ASSERT_TRUE(job.Launch().ok());
  ASSERT_EQ(launcher_.spawned().size(), 3u);  // chief, worker, ps
  const pid_t chief = launcher_.spawned()[0].first, worker = launcher_.spawned()[1].first,
              ps = launcher_.spawned()[2].first;
  launcher_.Exit(chief, {.code = 0});
  EXPECT_FALSE(job.Poll());
  const int64_t chief_end = clock_.NowMs();
  job.Supervise(chief_end, 0, false);
  EXPECT_EQ(launcher_.signals(),
            (std::vector<std::pair<pid_t, int>>{{worker, SIGTERM}, {ps, SIGTERM}}));
  // The worker ends on SIGTERM; the ps outlives the grace period and gets SIGKILL.
  launcher_.Exit(worker, {.code = 0, .signal = SIGTERM});
  EXPECT_FALSE(job.Poll());
  job.Supervise(chief_end + 9'999, 0, false);
  EXPECT_EQ(launcher_.signals().size(), 2u);
  job.Supervise(chief_end + 10'000, 0, false);
  ASSERT_EQ(launcher_.signals().size(), 3u);
  EXPECT_EQ(launcher_.signals()[2], std::make_pair(ps, SIGKILL));
  launcher_.Exit(ps, {.code = 0, .signal = SIGKILL});
  ASSERT_TRUE(job.Poll());
  // The tasks the runner stopped are no failure of the job.
  EXPECT_TRUE(job.succeeded());
  EXPECT_EQ(job.kill_reason(), KillReason::kNone);
}

}  // namespace
}  // namespace gantry::runner
