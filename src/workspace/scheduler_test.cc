#include "workspace/scheduler.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "workspace/testing/fake_backend.h"

namespace gantry::workspace {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-scheduler");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    runs_ = std::make_unique<RunService>(store_.get(), blobs_.get(), &clock_);
    scheduler_ = std::make_unique<Scheduler>(
        runs_.get(), &backend_,
        SchedulerOptions{.local_slots = 2, .server_url = "http://x", .runs_dir = dir_ / "runs"});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Submit() {
    SubmitRequest req;
    req.spec.command = "true";
    return runs_->Submit(req)->name;
  }
  std::string StatusOf(const std::string& name) { return runs_->Get(name)->status; }

  fs::path dir_;
  FakeClock clock_;
  testing::FakeBackend backend_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<RunService> runs_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, StartsInSubmissionOrderUpToTheSlots) {
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(Submit());
  scheduler_->RunOnce();
  ASSERT_EQ(backend_.launched.size(), 2u);
  EXPECT_EQ(backend_.launched[0].run_name, names[0]);
  EXPECT_EQ(backend_.launched[1].run_name, names[1]);
  EXPECT_EQ(StatusOf(names[0]), "Preparing");
  EXPECT_EQ(StatusOf(names[2]), "Queued");
  EXPECT_EQ(backend_.launched[0].work_dir, dir_ / "runs" / names[0]);

  // The first run finishes properly; its slot goes to the third run.
  std::string token = backend_.launched[0].token;
  for (auto s : {jobs::RunStatus::kStarting, jobs::RunStatus::kRunning,
                 jobs::RunStatus::kFinalizing, jobs::RunStatus::kCompleted}) {
    ASSERT_TRUE(runs_->ReportStatus(names[0], token, {s}).has_value());
  }
  backend_.Die(1000);
  scheduler_->RunOnce();
  EXPECT_EQ(StatusOf(names[0]), "Completed");
  ASSERT_EQ(backend_.launched.size(), 3u);
  EXPECT_EQ(backend_.launched[2].run_name, names[2]);
  EXPECT_EQ(StatusOf(names[3]), "Queued");
}

TEST_F(SchedulerTest, DeadRunnerFailsItsRunWithAReason) {
  std::string name = Submit();
  scheduler_->RunOnce();
  std::string token = backend_.launched[0].token;
  ASSERT_TRUE(runs_->ReportStatus(name, token, {jobs::RunStatus::kStarting}).has_value());
  ASSERT_TRUE(runs_->ReportStatus(name, token, {jobs::RunStatus::kRunning, "", "", std::nullopt, 4242})
                  .has_value());
  backend_.Die(1000);
  scheduler_->RunOnce();
  auto run = *runs_->Get(name);
  EXPECT_EQ(run.status, "Failed");
  EXPECT_NE(run.error.find("exited without reporting"), std::string::npos);
  ASSERT_EQ(backend_.killed_groups.size(), 1u);
  EXPECT_EQ(backend_.killed_groups[0], 4242);  // its user processes are cleaned up
}

TEST_F(SchedulerTest, LaunchFailureFailsTheRun) {
  std::string name = Submit();
  backend_.FailNextSubmit();
  scheduler_->RunOnce();
  auto run = *runs_->Get(name);
  EXPECT_EQ(run.status, "Failed");
  EXPECT_NE(run.error.find("no gantry binary"), std::string::npos);
}

TEST_F(SchedulerTest, StopJoinsTheThread) {
  scheduler_->Start();
  std::string name = Submit();
  // Submission wakes the thread; wait on the service's change signal, not on time.
  uint64_t seen = runs_->change_count();
  for (int i = 0; i < 100 && StatusOf(name) == "Queued"; ++i) seen = runs_->WaitForChange(seen, 100);
  EXPECT_EQ(StatusOf(name), "Preparing");
  scheduler_->Stop();
}

}  // namespace
}  // namespace gantry::workspace
