#include "workspace/run_service.h"

#include <gtest/gtest.h>

#include <thread>

#include "artifacts/local_blob_store.h"
#include "common/files.h"

namespace gantry::workspace {
namespace {

using jobs::RunStatus;

class RunServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-run-service");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    runs_ = std::make_unique<RunService>(store_.get(), blobs_.get(), &clock_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  store::RunRecord SubmitEcho() {
    SubmitRequest req;
    req.spec.command = "echo hi";
    req.spec.experiment_name = "exp";
    auto run = runs_->Submit(req);
    EXPECT_TRUE(run.has_value()) << run.error().ToString();
    return *run;
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<RunService> runs_;
};

TEST_F(RunServiceTest, SubmitQueuesWithHistory) {
  auto run = SubmitEcho();
  EXPECT_EQ(run.status, "Queued");
  EXPECT_EQ(run.experiment_name, "exp");
  auto history = *runs_->History(run.name);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].status, "NotStarted");
  EXPECT_EQ(history[1].status, "Queued");
}

TEST_F(RunServiceTest, SubmitRejectsUnknownSnapshotAndCompute) {
  SubmitRequest req;
  req.spec.command = "echo";
  req.snapshot_id = std::string(64, 'a');
  EXPECT_EQ(runs_->Submit(req).error().code(), StatusCode::kFailedPrecondition);
  req.snapshot_id.clear();
  req.spec.compute = "gpu-cluster";
  auto r = runs_->Submit(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("gpu-cluster"), std::string::npos);
}

TEST_F(RunServiceTest, RunnerReportsNeedTheToken) {
  auto run = SubmitEcho();
  auto token = runs_->BeginLaunch(run.name);
  ASSERT_TRUE(token.has_value());
  StatusReport starting{RunStatus::kStarting};
  EXPECT_EQ(runs_->ReportStatus(run.name, "", starting).error().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(runs_->ReportStatus(run.name, "wrong", starting).error().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(runs_->ReportStatus(run.name, *token, starting).has_value());
  // Skipping Running is refused by the state machine.
  auto bad = runs_->ReportStatus(run.name, *token, {RunStatus::kCompleted});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kFailedPrecondition);
}

TEST_F(RunServiceTest, CancelQueuedIsImmediateAndActiveIsRequested) {
  auto queued = SubmitEcho();
  EXPECT_EQ(runs_->Cancel(queued.name)->status, "Canceled");
  EXPECT_EQ(runs_->Cancel(queued.name).error().code(), StatusCode::kFailedPrecondition);

  auto active = SubmitEcho();
  std::string token = *runs_->BeginLaunch(active.name);
  ASSERT_TRUE(runs_->ReportStatus(active.name, token, {RunStatus::kStarting}).has_value());
  ASSERT_TRUE(runs_->ReportStatus(active.name, token, {RunStatus::kRunning}).has_value());
  EXPECT_EQ(runs_->Cancel(active.name)->status, "CancelRequested");
  EXPECT_TRUE(runs_->Heartbeat(active.name, token)->cancel_requested);
  auto done = runs_->ReportStatus(active.name, token, {RunStatus::kCanceled});
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, "Canceled");
}

TEST_F(RunServiceTest, WaitForEventsWakesOnLogData) {
  auto run = SubmitEcho();
  std::string token = *runs_->BeginLaunch(run.name);
  auto first = *runs_->WaitForEvents(run.name, 0, 0, 0);
  EXPECT_EQ(first.events.size(), 3u);  // NotStarted, Queued, Preparing
  std::thread writer([&] {
    // The waiter may or may not be waiting yet; either way it must see the line.
    ASSERT_TRUE(
        runs_->AppendLog(run.name, token, jobs::kMergedLogStream, 0, "line 1\n").has_value());
  });
  auto next = *runs_->WaitForEvents(run.name, first.next, 0, 30000);
  writer.join();
  if (next.log.empty()) next = *runs_->WaitForEvents(run.name, first.next, 0, 30000);
  EXPECT_EQ(next.log, "line 1\n");
  EXPECT_EQ(next.offset, 7);
}

TEST_F(RunServiceTest, ArtifactsMustBeSafeAndUploaded) {
  auto run = SubmitEcho();
  std::string token = *runs_->BeginLaunch(run.name);
  std::string sha = *blobs_->Put("model");
  EXPECT_TRUE(runs_->AddArtifacts(run.name, token, {{"outputs/m.pt", sha, 5, 0644}}).ok());
  EXPECT_EQ(runs_->AddArtifacts(run.name, token, {{"../x", sha, 5, 0644}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      runs_->AddArtifacts(run.name, token, {{"outputs/y", std::string(64, 'b'), 5, 0644}}).code(),
      StatusCode::kFailedPrecondition);
}

TEST_F(RunServiceTest, AddedFilesNeverReplaceTheRunsOwn) {
  auto run = SubmitEcho();
  std::string token = *runs_->BeginLaunch(run.name);
  std::string model = *blobs_->Put("model");
  std::string image = *blobs_->Put("png");
  ASSERT_TRUE(runs_->AddArtifacts(run.name, token, {{"outputs/m.pt", model, 5, 0644}}).ok());

  // A new path is added, whatever the run's state; the runner's files are kept.
  ASSERT_TRUE(runs_->AddFiles(run.name, {{"images/acc.png", image, 3, 0644}}).ok());
  auto files = *runs_->Artifacts(run.name);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "images/acc.png");
  EXPECT_EQ(files[0].blob, image);
  EXPECT_EQ(files[1].path, "outputs/m.pt");

  // The same path, a path over a folder and one under a file are refused, adding nothing.
  Status again =
      runs_->AddFiles(run.name, {{"new.txt", image, 3, 0644}, {"images/acc.png", image, 3, 0644}});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("images/acc.png"), std::string::npos);
  EXPECT_EQ(runs_->AddFiles(run.name, {{"outputs", image, 3, 0644}}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(runs_->AddFiles(run.name, {{"outputs/m.pt/x", image, 3, 0644}}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(runs_->Artifacts(run.name)->size(), 2u);

  EXPECT_EQ(runs_->AddFiles(run.name, {{"../x", image, 3, 0644}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runs_->AddFiles(run.name, {{"a", image, 3, 0644}, {"a", image, 3, 0644}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runs_->AddFiles(run.name, {{"b", std::string(64, 'b'), 3, 0644}}).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(runs_->AddFiles("no-such-run", {{"b", image, 3, 0644}}).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gantry::workspace
