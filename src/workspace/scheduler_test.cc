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
    computes_ = std::make_unique<ComputeService>(store_.get(), &clock_, /*local_slots=*/2);
    runs_ =
        std::make_unique<RunService>(store_.get(), blobs_.get(), &clock_, nullptr, computes_.get());
    scheduler_ = std::make_unique<Scheduler>(
        runs_.get(), computes_.get(), &backend_,
        SchedulerOptions{.server_url = "http://x", .runs_dir = dir_ / "runs", .gpu_count = 2});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Submit(const std::string& compute = "local", int64_t instances = 1) {
    SubmitRequest req;
    req.spec.command = "true";
    req.spec.compute = compute;
    if (instances > 1) req.spec.resources = Json{{"instance_count", instances}};
    auto run = runs_->Submit(req);
    EXPECT_TRUE(run.has_value()) << run.error().ToString();
    return run->name;
  }
  std::string StatusOf(const std::string& name) { return runs_->Get(name)->status; }

  fs::path dir_;
  FakeClock clock_;
  testing::FakeBackend backend_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<ComputeService> computes_;
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
  ASSERT_TRUE(
      runs_->ReportStatus(name, token, {jobs::RunStatus::kRunning, "", "", std::nullopt, 4242})
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

TEST_F(SchedulerTest, ClustersRunUpToMaxNodesWithTheirGpus) {
  ASSERT_TRUE(
      computes_->Create({"gpu-cluster", "amlcompute", "STANDARD_NC6", 0, 4, 120, 0}).has_value());
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(Submit("gpu-cluster"));
  scheduler_->RunOnce();
  // Four nodes allowed, but the machine has two GPUs and each NC6 node takes one.
  ASSERT_EQ(backend_.launched.size(), 2u);
  EXPECT_EQ(backend_.launched[0].env.at("CUDA_VISIBLE_DEVICES"), "0");
  EXPECT_EQ(backend_.launched[1].env.at("CUDA_VISIBLE_DEVICES"), "1");
  EXPECT_EQ(backend_.launched[0].env.at("GANTRY_NODE_CPUS"), "6");
  EXPECT_EQ(StatusOf(names[2]), "Queued");
  // The first run ends; its GPU goes to the third.
  std::string token = backend_.launched[0].token;
  ASSERT_TRUE(runs_->ReportStatus(names[0], token, {jobs::RunStatus::kFailed}).has_value());
  backend_.Die(1000);
  scheduler_->RunOnce();
  ASSERT_EQ(backend_.launched.size(), 3u);
  EXPECT_EQ(backend_.launched[2].env.at("CUDA_VISIBLE_DEVICES"), "0");
  auto unknown = runs_->Submit({.spec = jobs::JobSpec{.command = "true", .compute = "nope"}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
}

TEST_F(SchedulerTest, ADistributedRunStartsOnlyWhenAllItsNodesAreFreeAndHoldsThemAll) {
  const std::string single = Submit();
  const std::string pair = Submit("local", 2);
  const std::string after = Submit();
  scheduler_->RunOnce();
  // Two slots, one taken: the 2-instance run is not placed partially, and the run behind it
  // waits too (submission order).
  ASSERT_EQ(backend_.launched.size(), 1u);
  EXPECT_EQ(StatusOf(pair), "Queued");
  EXPECT_EQ(StatusOf(after), "Queued");
  ASSERT_TRUE(runs_->ReportStatus(single, backend_.launched[0].token, {jobs::RunStatus::kFailed})
                  .has_value());
  backend_.Die(1000);
  scheduler_->RunOnce();
  ASSERT_EQ(backend_.launched.size(), 2u);
  EXPECT_EQ(backend_.launched[1].run_name, pair);
  // It holds both slots while it runs.
  scheduler_->RunOnce();
  EXPECT_EQ(backend_.launched.size(), 2u);
  EXPECT_EQ(StatusOf(after), "Queued");
}

TEST_F(SchedulerTest, MoreInstancesThanTheTargetsNodesAreRefusedAtSubmission) {
  SubmitRequest req;
  req.spec.command = "true";
  req.spec.resources = Json{{"instance_count", 3}};
  auto local = runs_->Submit(req);
  ASSERT_FALSE(local.has_value());
  EXPECT_EQ(local.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(local.error().message().find("instance_count is 3"), std::string::npos);
  EXPECT_NE(local.error().message().find("at most 2 node(s) (gantry server --slots 2)"),
            std::string::npos);

  ASSERT_TRUE(
      computes_->Create({"cpu-cluster", "amlcompute", "STANDARD_D2_V2", 0, 4, 120, 0}).has_value());
  req.spec.compute = "cpu-cluster";
  req.spec.resources = Json{{"instance_count", 5}};
  auto cluster = runs_->Submit(req);
  ASSERT_FALSE(cluster.has_value());
  EXPECT_NE(cluster.error().message().find("at most 4 node(s) (max_nodes 4)"), std::string::npos);
  req.spec.resources = Json{{"instance_count", 4}};
  EXPECT_TRUE(runs_->Submit(req).has_value());
}

TEST_F(SchedulerTest, StopJoinsTheThread) {
  scheduler_->Start();
  std::string name = Submit();
  // Submission wakes the thread; wait on the service's change signal, not on time.
  uint64_t seen = runs_->change_count();
  for (int i = 0; i < 100 && StatusOf(name) == "Queued"; ++i)
    seen = runs_->WaitForChange(seen, 100);
  EXPECT_EQ(StatusOf(name), "Preparing");
  scheduler_->Stop();
}

namespace slurm_path {

// A batch system whose jobs' states the test sets.
class FakeSlurm : public compute::ComputeBackend {
 public:
  Result<compute::LaunchHandle> Submit(const compute::LaunchRequest& request) override {
    launched.push_back(request);
    std::string id = std::to_string(100 + launched.size());
    state[id] = {compute::RunnerState::kPending, "Slurm job " + id + " pending: Resources"};
    return compute::LaunchHandle{0, id};
  }
  compute::RunnerPoll Poll(const compute::LaunchHandle& h) override { return state[h.job_id]; }
  Status Kill(const compute::LaunchHandle& h, int64_t) override {
    cancelled.push_back(h.job_id);
    return Status::Ok();
  }
  std::vector<compute::LaunchRequest> launched;
  std::map<std::string, compute::RunnerPoll> state;
  std::vector<std::string> cancelled;
};

class SlurmSchedulerTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    scheduler_ = std::make_unique<Scheduler>(
        runs_.get(), computes_.get(), &backend_,
        SchedulerOptions{.server_url = "http://x", .runs_dir = dir_ / "runs", .gpu_count = 0},
        &slurm_);
    store::ComputeRecord c;
    c.name = "hpc";
    c.type = "slurm";
    c.vm_size = "";
    c.max_nodes = 2;
    c.properties = Json{{"cpus", 3}, {"partition", "p1"}, {"server_url", "http://10.0.0.1:9"}};
    ASSERT_TRUE(computes_->Create(c).has_value());
  }
  FakeSlurm slurm_;
};

TEST_F(SlurmSchedulerTest, EveryRunGoesToSlurmAndWaitsQueuedWithItsReason) {
  std::string a = Submit("hpc"), b = Submit("hpc"), c = Submit("hpc");
  scheduler_->RunOnce();
  ASSERT_EQ(slurm_.launched.size(), 3u);  // not throttled by max_nodes
  EXPECT_TRUE(backend_.launched.empty());
  EXPECT_EQ(slurm_.launched[0].server_url, "http://10.0.0.1:9");
  EXPECT_EQ(slurm_.launched[0].placement.cpus, 3);
  EXPECT_EQ(slurm_.launched[0].placement.partition, "p1");
  EXPECT_EQ(runs_->Get(a)->launch_id, "101");
  scheduler_->RunOnce();
  EXPECT_EQ(StatusOf(a), "Queued");
  EXPECT_EQ(runs_->Get(a)->status_detail, "Slurm job 101 pending: Resources");

  slurm_.state["101"] = {compute::RunnerState::kRunning, "Slurm job 101 running on n1"};
  slurm_.state["102"] = {compute::RunnerState::kGone, "Slurm job 102 ended as NODE_FAIL"};
  scheduler_->RunOnce();
  EXPECT_EQ(StatusOf(a), "Preparing");
  EXPECT_EQ(StatusOf(b), "Failed");
  EXPECT_NE(runs_->Get(b)->error.find("NODE_FAIL"), std::string::npos);

  // Cancel while pending: scancel, then Canceled.
  ASSERT_EQ(runs_->Cancel(c)->status, "CancelRequested");
  scheduler_->RunOnce();
  EXPECT_EQ(slurm_.cancelled, std::vector<std::string>{"103"});
  EXPECT_EQ(StatusOf(c), "Canceled");

  // The running job ends without its runner's report.
  slurm_.state["101"] = {compute::RunnerState::kGone, "Slurm job 101 ended as TIMEOUT"};
  scheduler_->RunOnce();
  EXPECT_EQ(StatusOf(a), "Failed");
  EXPECT_NE(runs_->Get(a)->error.find("TIMEOUT"), std::string::npos);
}

TEST_F(SlurmSchedulerTest, MultiNodeJobsAskSlurmForAllTheirNodes) {
  SubmitRequest req;
  req.spec.command = "true";
  req.spec.compute = "hpc";
  req.spec.resources = Json{{"instance_count", 2}};
  req.spec.distribution = Json{{"type", "pytorch"}, {"process_count_per_instance", 2}};
  auto run = runs_->Submit(req);
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  scheduler_->RunOnce();
  ASSERT_EQ(slurm_.launched.size(), 1u);
  EXPECT_EQ(slurm_.launched[0].placement.nodes, 2);
}

TEST_F(SlurmSchedulerTest, MoreNodesThanTheTargetAllowsIsRefused) {
  SubmitRequest req;
  req.spec.command = "true";
  req.spec.compute = "hpc";
  req.spec.resources = Json{{"instance_count", 3}};
  auto run = runs_->Submit(req);
  ASSERT_FALSE(run.has_value());
  EXPECT_NE(run.error().message().find("max_nodes 2"), std::string::npos) << run.error().message();
}

}  // namespace slurm_path

}  // namespace
}  // namespace gantry::workspace
