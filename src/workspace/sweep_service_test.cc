// The sweep service over a real RunService and an in-memory store, with no processes: trials
// are moved through their statuses and report metrics as runners would.
#include "workspace/sweep_service.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "artifacts/tree.h"
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

// A finished grid sweep "old" over bs: old_0 (bs 64) completed at 0.9, old_1 (bs 16) stopped
// at 0.5 after writing outputs/checkpoint.
class WarmStartTest : public SweepServiceTest {
 protected:
  void SetUp() override {
    SweepServiceTest::SetUp();
    Submit(R"({"name": "old", "trial": {"command": "python t.py --bs ${{search_space.bs}}"},
      "search_space": {"bs": {"type": "choice", "values": [64, 16]}}, "sampling_algorithm": "grid",
      "objective": {"primary_metric": "acc", "goal": "maximize"}})");
    std::string t0 = Start("old_0"), t1 = Start("old_1");
    Log("old_0", t0, 0.9);
    Log("old_1", t1, 0.5);
    std::string blob = *blobs_->Put("step 3");
    ASSERT_TRUE(
        runs_->AddArtifacts("old_1", t1, {{.path = "outputs/checkpoint", .blob = blob, .size = 6}})
            .ok());
    End("old_0", t0, RunStatus::kCompleted);
    ASSERT_TRUE(runs_->Cancel("old_1").has_value());
    End("old_1", t1, RunStatus::kCanceled);
    sweeps_->RunOnce();
    ASSERT_EQ(runs_->Get("old")->status, "Completed");
  }
  Status SubmitError(const std::string& extra) {
    auto job = sweep::SweepJob::FromJson(Json::parse(
        R"({"name": "bad", "trial": {"command": "python t.py --bs ${{search_space.bs}}"},
        "search_space": {"bs": {"type": "choice", "values": [64, 16, 32]}},
        "objective": {"primary_metric": "acc", "goal": "maximize"}, )" +
        extra + "}"));
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    auto run = sweeps_->Submit({.job = *job});
    EXPECT_FALSE(run.has_value());
    EXPECT_FALSE(runs_->Get("bad").has_value());  // nothing was created
    return run.has_value() ? Status::Ok() : run.error();
  }
};

TEST_F(WarmStartTest, ThePolicyJudgesNewTrialsAgainstTheEarlierSweep) {
  Submit(R"({"name": "warm", "trial": {"command": "python t.py --bs ${{search_space.bs}}"},
    "search_space": {"bs": {"type": "choice", "values": [64, 16, 32]}},
    "early_termination": {"type": "bandit", "slack_factor": 0.1},
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "limits": {"max_total_trials": 2, "max_concurrent_trials": 1},
    "resume_from": ["old"]})");
  // The only new trial so far logs 0.8: below old_0's 0.9 / 1.1 at interval 1.
  std::string t = Start("warm_0");
  Log("warm_0", t, 0.8);
  store::RunRecord stopped = *runs_->Get("warm_0");
  EXPECT_EQ(stopped.status, "CancelRequested");
  EXPECT_NE(stopped.properties["early_termination"].get<std::string>().find("best 0.9"),
            std::string::npos);
  auto view = sweeps_->Describe("warm");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->prior_trials.size(), 2u);
  EXPECT_EQ(view->prior_trials[0].run.name, "old_0");
  EXPECT_EQ(view->prior_trials[0].run.parent, "old");
  EXPECT_EQ(*view->prior_trials[0].score, 0.9);
}

TEST_F(WarmStartTest, AResumedTrialRunsFirstWithItsValuesAndItsOutputs) {
  Submit(R"({"name": "again", "trial": {"command": "python t.py --bs ${{search_space.bs}}"},
    "search_space": {"bs": {"type": "choice", "values": [64, 16, 32]}},
    "sampling_algorithm": "grid",
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "limits": {"max_concurrent_trials": 1},
    "resume_child_runs": ["old_1"]})");
  auto trials = Trials("again");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].spec["job"]["command"],
            "python t.py --bs 16 --resume-from ${{inputs.resume_from}}");
  EXPECT_EQ(trials[0].properties["hyperparameters"], R"({"bs":16})");
  EXPECT_EQ(trials[0].properties["resumed_from"], "old_1");
  auto tree =
      artifacts::LoadTree(*blobs_, trials[0].spec["input_trees"]["resume_from"].get<std::string>());
  ASSERT_TRUE(tree.has_value()) << tree.error().ToString();
  ASSERT_EQ(tree->entries().size(), 1u);
  EXPECT_EQ(tree->entries()[0].path, "checkpoint");
  // Then the grid from its first point; the resumed trial counts against the budget (1 + 3).
  // A restarted server (a new service over the same store) knows old_1 has been resumed.
  std::string t = Start("again_0");
  End("again_0", t, RunStatus::kCompleted);
  sweeps_ = std::make_unique<SweepService>(runs_.get(), &clock_,
                                           SweepOptions{.new_seed = [] { return 99u; }});
  runs_->SetMetricsObserver(sweeps_.get());
  sweeps_->RunOnce();
  trials = Trials("again");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[1].properties["hyperparameters"], R"({"bs":64})");
  EXPECT_FALSE(trials[1].properties.contains("resumed_from"));
  EXPECT_EQ(runs_->Get("again")->properties["max_total_trials"], "4");
  auto view = sweeps_->Describe("again");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->trials[0].resumed_from, "old_1");
}

TEST_F(WarmStartTest, BadWarmStartsAreRefusedNamingTheEntryAndCreateNothing) {
  EXPECT_EQ(SubmitError(R"("resume_from": ["nope"])").message(),
            "resume_from[0]: no run named 'nope'");
  EXPECT_EQ(SubmitError(R"("resume_from": ["old_0"])").message(),
            "resume_from[0]: run 'old_0' is not a sweep");
  Submit(R"({"name": "busy", "trial": {"command": "x ${{search_space.bs}}"},
    "search_space": {"bs": {"type": "choice", "values": [1]}}, "sampling_algorithm": "grid",
    "objective": {"primary_metric": "acc", "goal": "maximize"}})");
  Status busy = SubmitError(R"("resume_from": ["old", "busy"])");
  EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(busy.message(),
            "resume_from[1]: sweep 'busy' is Running; warm start from a sweep that has ended");
  Submit(R"({"name": "loss", "trial": {"command": "x ${{search_space.bs}}"},
    "search_space": {"bs": {"type": "choice", "values": [1]}}, "sampling_algorithm": "grid",
    "objective": {"primary_metric": "loss", "goal": "minimize"}})");
  ASSERT_TRUE(runs_->Cancel("loss").has_value());
  ASSERT_TRUE(runs_->Cancel("loss_0").has_value());
  sweeps_->RunOnce();
  ASSERT_EQ(runs_->Get("loss")->status, "Canceled");
  EXPECT_EQ(SubmitError(R"("resume_from": ["loss"])").message(),
            "resume_from[0]: sweep 'loss' minimizes 'loss', this one maximizes 'acc'; warm start "
            "needs the same objective");
  EXPECT_EQ(SubmitError(R"("resume_child_runs": ["old"])").message(),
            "resume_child_runs[0]: run 'old' is not a trial of a sweep");
  EXPECT_EQ(SubmitError(R"("resume_child_runs": ["busy_0"])").code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(SweepServiceTest, BayesianWarmStartLearnsFromTheEarlierTrialsFromItsFirstTrial) {
  Submit(R"({"name": "first", "trial": {"command": "x ${{search_space.x}}"},
    "search_space": {"x": {"type": "uniform", "min_value": 0, "max_value": 1}},
    "sampling_algorithm": {"type": "random", "seed": 5},
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "limits": {"max_total_trials": 4}})");
  std::vector<sweep::Observation> seen;
  for (const auto& trial : Trials("first")) {
    std::string token = Start(trial.name);
    Json values = Json::parse(trial.properties["hyperparameters"].get<std::string>());
    const double x = values["x"].get<double>();
    Log(trial.name, token, 1 - (x - 0.3) * (x - 0.3));
    End(trial.name, token, RunStatus::kCompleted);
    seen.push_back({.values = {{"x", values["x"]}}, .score = 1 - (x - 0.3) * (x - 0.3)});
  }
  sweeps_->RunOnce();
  ASSERT_EQ(runs_->Get("first")->status, "Completed");
  store::RunRecord warm = Submit(R"({"name": "warm", "trial": {"command": "x ${{search_space.x}}"},
    "search_space": {"x": {"type": "uniform", "min_value": 0, "max_value": 1}},
    "sampling_algorithm": {"type": "bayesian", "seed": 8},
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "limits": {"max_total_trials": 2, "max_concurrent_trials": 1},
    "resume_from": ["first"]})");
  // With four observations already, its first trial is the model's choice, not a warm-up draw.
  auto job = sweep::SweepJob::FromJson(warm.spec["sweep"]);
  ASSERT_TRUE(job.has_value());
  auto expected = sweep::Suggest(job->sampling, job->space, 0, sweep::Goal::kMaximize, seen);
  ASSERT_TRUE(expected.has_value());
  auto cold = sweep::Suggest(job->sampling, job->space, 0, sweep::Goal::kMaximize, {});
  ASSERT_TRUE(cold.has_value());
  ASSERT_NE(Json((*expected)["x"]), Json((*cold)["x"]));
  const std::string want = Json{{"x", (*expected)["x"]}}.dump();
  EXPECT_EQ(Trials("warm")[0].properties["hyperparameters"], want);
}

TEST_F(SweepServiceTest, ATrialWhoseMetricWentNaNIsStoppedAndNeverTheBest) {
  Submit(R"({"name": "nan", "trial": {"command": "x ${{search_space.bs}}"},
    "search_space": {"bs": {"type": "choice", "values": [1, 2]}}, "sampling_algorithm": "grid",
    "early_termination": {"type": "bandit", "slack_amount": 0.5},
    "objective": {"primary_metric": "acc", "goal": "maximize"}})");
  std::string t0 = Start("nan_0"), t1 = Start("nan_1");
  Log("nan_0", t0, 0.3);
  // The SDK sends a NaN as the string "NaN"; it is not 0 (which would beat a negative best).
  ASSERT_TRUE(
      runs_->AppendMetrics("nan_1", t1, {{.key = "acc", .value = 0, .value_json = "\"NaN\""}})
          .ok());
  store::RunRecord stopped = *runs_->Get("nan_1");
  EXPECT_EQ(stopped.status, "CancelRequested");
  EXPECT_NE(stopped.properties["early_termination"].get<std::string>().find("-inf is below -0.2"),
            std::string::npos)
      << stopped.properties["early_termination"];
  End("nan_0", t0, RunStatus::kCompleted);
  End("nan_1", t1, RunStatus::kCanceled);
  sweeps_->RunOnce();
  EXPECT_EQ(runs_->Get("nan")->properties["best_child_run_id"], "nan_0");
  auto view = sweeps_->Describe("nan");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->trials[1].intervals, 1);
  EXPECT_FALSE(view->trials[1].score.has_value());
}

}  // namespace
}  // namespace gantry::workspace
