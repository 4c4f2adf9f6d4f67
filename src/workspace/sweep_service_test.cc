// The sweep service over a real RunService and an in-memory store, with no processes: trials
// are moved through their statuses and report metrics as runners would.
#include "workspace/sweep_service.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "common/files.h"

namespace gantry::workspace {
namespace {

using jobs::RunStatus;

class SweepServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-sweep-service");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    runs_ = std::make_unique<RunService>(store_.get(), blobs_.get(), &clock_);
    sweeps_ = std::make_unique<SweepService>(runs_.get(), &clock_,
                                             SweepOptions{.new_seed = [] { return 99u; }});
    runs_->SetMetricsObserver(sweeps_.get());
  }
  void TearDown() override { fs::remove_all(dir_); }

  store::RunRecord Submit(const char* json) {
    auto job = sweep::SweepJob::FromJson(Json::parse(json));
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    auto run = sweeps_->Submit({.job = *job});
    EXPECT_TRUE(run.has_value()) << run.error().ToString();
    return *run;
  }
  std::vector<store::RunRecord> Trials(const std::string& sweep) {
    return *runs_->List({.parent = sweep, .oldest_first = true});
  }
  // Starts a trial as the scheduler and its runner would; returns its token.
  std::string Start(const std::string& trial) {
    std::string token = *runs_->BeginLaunch(trial);
    for (RunStatus s : {RunStatus::kStarting, RunStatus::kRunning}) {
      EXPECT_TRUE(runs_->ReportStatus(trial, token, {.status = s}).has_value());
    }
    return token;
  }
  void Log(const std::string& trial, const std::string& token, double value) {
    ASSERT_TRUE(runs_->AppendMetrics(trial, token, {{.key = "acc", .value = value}}).ok());
  }
  void End(const std::string& trial, const std::string& token, RunStatus status) {
    if (status == RunStatus::kCompleted) {
      ASSERT_TRUE(
          runs_->ReportStatus(trial, token, {.status = RunStatus::kFinalizing}).has_value());
    }
    ASSERT_TRUE(runs_->ReportStatus(trial, token, {.status = status, .exit_code = 0}).has_value());
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<RunService> runs_;
  std::unique_ptr<SweepService> sweeps_;
};

constexpr char kGrid[] = R"({
  "name": "sw",
  "trial": {"command": "python t.py --bs ${{search_space.bs}}"},
  "search_space": {"bs": {"type": "choice", "values": [64, 16, 32]}},
  "sampling_algorithm": "grid",
  "objective": {"primary_metric": "acc", "goal": "maximize"},
  "early_termination": {"type": "bandit", "slack_factor": 0.1},
  "limits": {"max_concurrent_trials": 2}})";

TEST_F(SweepServiceTest, StartsTrialsWithinTheLimitsAndStopsTheCondemnedOnTheirPoint) {
  store::RunRecord sweep = Submit(kGrid);
  EXPECT_EQ(sweep.kind, "sweep");
  EXPECT_EQ(sweep.status, "Running");
  EXPECT_EQ(sweep.properties["space_size"], "3");
  auto trials = Trials("sw");
  ASSERT_EQ(trials.size(), 2u);  // max_concurrent_trials
  EXPECT_EQ(trials[0].name, "sw_0");
  EXPECT_EQ(trials[0].status, "Queued");
  EXPECT_EQ(trials[1].spec["job"]["command"], "python t.py --bs 16");
  EXPECT_EQ(trials[1].spec["job"]["environment_variables"]["AZUREML_SWEEP_bs"], "16");
  std::string t0 = Start("sw_0"), t1 = Start("sw_1");
  Log("sw_0", t0, 0.8);
  Log("sw_1", t1, 0.7);  // under 0.8 / 1.1: stopped in this very call
  store::RunRecord stopped = *runs_->Get("sw_1");
  EXPECT_EQ(stopped.status, "CancelRequested");
  EXPECT_NE(stopped.properties["early_termination"].get<std::string>().find(
                "bandit policy at interval 1: 0.7 is below 0.727273"),
            std::string::npos);
  End("sw_1", t1, RunStatus::kCanceled);
  sweeps_->RunOnce();  // a slot is free: the last grid point starts
  trials = Trials("sw");
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[2].properties["hyperparameters"], R"({"bs":32})");
  std::string t2 = Start("sw_2");
  Log("sw_2", t2, 0.79);  // within the slack
  EXPECT_EQ(runs_->Get("sw_2")->status, "Running");
  End("sw_0", t0, RunStatus::kCompleted);
  End("sw_2", t2, RunStatus::kCompleted);
  sweeps_->RunOnce();
  store::RunRecord done = *runs_->Get("sw");
  EXPECT_EQ(done.status, "Completed");
  EXPECT_EQ(done.properties["best_child_run_id"], "sw_0");
  EXPECT_EQ(done.properties["score"], "0.8");
  auto view = sweeps_->Describe("sw");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->trials.size(), 3u);
  EXPECT_TRUE(view->trials[1].stopped.is_object());
  EXPECT_DOUBLE_EQ(view->trials[1].stopped["threshold"].get<double>(), 0.8 / 1.1);
}

TEST_F(SweepServiceTest, CancelStopsTheTrialsAndAllFailedFailsTheSweep) {
  Submit(kGrid);
  std::string t0 = Start("sw_0");
  ASSERT_TRUE(runs_->Cancel("sw").has_value());
  sweeps_->RunOnce();
  EXPECT_EQ(runs_->Get("sw_0")->status, "CancelRequested");
  EXPECT_EQ(runs_->Get("sw_1")->status, "Canceled");  // it had not started
  End("sw_0", t0, RunStatus::kCanceled);
  sweeps_->RunOnce();
  EXPECT_EQ(runs_->Get("sw")->status, "Canceled");
  EXPECT_EQ(Trials("sw").size(), 2u);

  std::string failing = R"({"name": "f", "trial": {"command": "x ${{search_space.n}}"},
    "search_space": {"n": {"type": "choice", "values": [1]}}, "sampling_algorithm": "grid",
    "objective": {"primary_metric": "acc", "goal": "minimize"}})";
  Submit(failing.c_str());
  ASSERT_TRUE(runs_->Fail("f_0", "exit 3").ok());
  sweeps_->RunOnce();
  store::RunRecord f = *runs_->Get("f");
  EXPECT_EQ(f.status, "Failed");
  EXPECT_EQ(f.error, "every trial failed; the first: f_0: exit 3");
}

TEST_F(SweepServiceTest, ASeedIsFilledAndKept) {
  store::RunRecord run = Submit(R"({"name": "r", "trial": {"command": "x ${{search_space.x}}"},
    "search_space": {"x": {"type": "uniform", "min_value": 0, "max_value": 1}},
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "limits": {"max_total_trials": 2}})");
  EXPECT_EQ(run.properties["sampler_seed"], "99");
  EXPECT_EQ(run.spec["sweep"]["sampling_algorithm"]["seed"], 99);
  EXPECT_EQ(Trials("r").size(), 2u);
}

}  // namespace
}  // namespace gantry::workspace
