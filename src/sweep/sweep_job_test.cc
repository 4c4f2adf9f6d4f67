#include "sweep/sweep_job.h"

#include <gtest/gtest.h>

namespace gantry::sweep {
namespace {

constexpr char kSweep[] = R"(
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
experiment_name: tune
trial:
  command: python train.py --batch-size ${{search_space.batch_size}} --lr ${{ search_space.lr }} --data ${{inputs.data}}
  environment: azureml:AzureML-tensorflow-2.12-cuda11@latest
inputs:
  data: {type: uri_folder, path: azureml:mnist@latest}
compute: azureml:cpu-cluster
search_space:
  batch_size: {type: choice, values: [16, 32, 64]}
  lr: {type: loguniform, min_value: -6, max_value: -1}
sampling_algorithm: {type: random, seed: 7}
objective: {goal: Maximize, primary_metric: validation_acc}
early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 2, delay_evaluation: 5}
limits: {max_total_trials: 20, max_concurrent_trials: 4, timeout: 7200, trial_timeout: 600}
)";

TEST(SweepJobTest, ReadsTheCliV2Shape) {
  auto job = ParseSweepYaml(kSweep, "sweep.yml");
  ASSERT_TRUE(job.has_value()) << job.error().ToString();
  EXPECT_EQ(job->trial.experiment_name, "tune");
  EXPECT_EQ(job->trial.compute, "cpu-cluster");
  EXPECT_EQ(job->space.size(), 2u);
  EXPECT_EQ(job->sampling.seed, 7u);
  EXPECT_EQ(job->goal, Goal::kMaximize);
  EXPECT_EQ(job->primary_metric, "validation_acc");
  EXPECT_EQ(job->policy.type, PolicyType::kBandit);
  EXPECT_EQ(job->limits.max_total_trials, 20);
  EXPECT_EQ(job->limits.max_concurrent_trials, 4);
  EXPECT_EQ(job->limits.trial_timeout_seconds, 600);
  // The JSON form carries the same job.
  auto again = SweepJob::FromJson(job->ToJson());
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(again->ToJson(), job->ToJson());
  EXPECT_EQ(again->trial, job->trial);
}

TEST(SweepJobTest, TrialJobSubstitutesValuesAndSetsVariables) {
  auto job = ParseSweepYaml(kSweep, "sweep.yml");
  ASSERT_TRUE(job.has_value());
  auto trial = TrialJob(*job, "sw_3", {{"batch_size", 64}, {"lr", 0.001}});
  ASSERT_TRUE(trial.has_value()) << trial.error().ToString();
  EXPECT_EQ(trial->command, "python train.py --batch-size 64 --lr 0.001 --data ${{inputs.data}}");
  EXPECT_EQ(trial->environment_variables.at("AZUREML_SWEEP_batch_size"), "64");
  EXPECT_EQ(trial->environment_variables.at("AZUREML_SWEEP_lr"), "0.001");
  EXPECT_EQ(trial->name, "sw_3");
  EXPECT_EQ(trial->timeout_seconds, 600);
  EXPECT_TRUE(jobs::ValidatePlaceholders(*trial).ok());
}

TEST(SweepJobTest, SdkStyleParameterNamesBecomeVariables) {
  auto job = SweepJob::FromJson(Json::parse(R"({
    "trial": {"command": "python train.py --batch-size ${{search_space.--batch-size}}"},
    "search_space": {"--batch-size": {"type": "choice", "values": [16, 32]}},
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "sampling_algorithm": "grid"})"));
  ASSERT_TRUE(job.has_value()) << job.error().ToString();
  EXPECT_EQ(job->limits.max_total_trials, 2);  // a grid's size caps the trials
  auto trial = TrialJob(*job, "g_1", {{"--batch-size", 32}});
  ASSERT_TRUE(trial.has_value());
  EXPECT_EQ(trial->command, "python train.py --batch-size 32");
  EXPECT_EQ(trial->environment_variables.at("AZUREML_SWEEP_batch_size"), "32");
}

Result<SweepJob> With(const std::string& key, const Json& value) {
  Json j = Json::parse(R"({
    "trial": {"command": "python t.py --x ${{search_space.x}}"},
    "search_space": {"x": {"type": "uniform", "min_value": 0, "max_value": 1}},
    "objective": {"primary_metric": "acc", "goal": "maximize"}})");
  if (value.is_null()) {
    j.erase(key);
  } else {
    j[key] = value;
  }
  return SweepJob::FromJson(j);
}

std::string ErrorOf(const Result<SweepJob>& r) {
  return r.has_value() ? "(accepted)" : r.error().message();
}

TEST(SweepJobTest, BadInputNamesTheField) {
  EXPECT_NE(ErrorOf(With("search_space", Json::parse(
                                             R"({"x": {"type": "uniform", "min_value": 5,
                                                        "max_value": 1}})")))
                .find("search_space.x: min_value (5) must be below max_value (1)"),
            std::string::npos);
  EXPECT_NE(ErrorOf(With("sampling_algorithm", "grid")).find("search_space.x"), std::string::npos);
  EXPECT_NE(ErrorOf(With("trial", Json{{"command", "python t.py ${{search_space.y}}"}}))
                .find("'${{search_space.y}}', but the search_space has no 'y' (it has x)"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(With("limits", Json{{"max_total_trials", 2}, {"max_concurrent_trials", 3}}))
          .find("limits.max_concurrent_trials (3) must not exceed limits.max_total_trials (2)"),
      std::string::npos);
  EXPECT_NE(ErrorOf(With("objective", Json{{"goal", "maximize"}})).find("objective.primary_metric"),
            std::string::npos);
  EXPECT_NE(ErrorOf(With("limits", Json{{"max_totl_trials", 2}})).find("limits.max_totl_trials"),
            std::string::npos);
  Json bayes_with_policy = Json::parse(R"({
    "trial": {"command": "python t.py --x ${{search_space.x}}"},
    "search_space": {"x": {"type": "uniform", "min_value": 0, "max_value": 1}},
    "sampling_algorithm": "bayesian",
    "early_termination": {"type": "median_stopping"},
    "objective": {"primary_metric": "acc", "goal": "maximize"}})");
  EXPECT_NE(ErrorOf(SweepJob::FromJson(bayes_with_policy)).find("early_termination: bayesian"),
            std::string::npos);
  EXPECT_NE(ErrorOf(With("trial", Json{{"comand", "x"}})).find("trial.comand"), std::string::npos);
}

TEST(SweepJobTest, WarmStartFieldsRoundTripAndResumedTrialsGetTheirFolder) {
  auto job = With("resume_child_runs", Json::array({"old_3"}));
  ASSERT_TRUE(job.has_value()) << job.error().ToString();
  job->resume_from = {"old"};
  auto again = SweepJob::FromJson(job->ToJson());
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(again->resume_from, std::vector<std::string>{"old"});
  EXPECT_EQ(again->resume_child_runs, std::vector<std::string>{"old_3"});
  auto trial = ResumedTrialJob(*again, "new_0", {{"x", 0.25}}, "old_3");
  ASSERT_TRUE(trial.has_value()) << trial.error().ToString();
  EXPECT_EQ(trial->command, "python t.py --x 0.25 --resume-from ${{inputs.resume_from}}");
  ASSERT_TRUE(trial->inputs.contains("resume_from"));
  EXPECT_EQ(trial->inputs.at("resume_from").kind, jobs::InputSpec::Kind::kUriFolder);
  EXPECT_TRUE(jobs::ValidatePlaceholders(*trial).ok());
  // A grid resumes its trials and then walks its own points.
  Json grid = job->ToJson();
  grid["search_space"] = {{"x", {{"type", "choice"}, {"values", {1, 2}}}}};
  grid["sampling_algorithm"] = "grid";
  auto g = SweepJob::FromJson(grid);
  ASSERT_TRUE(g.has_value()) << g.error().ToString();
  EXPECT_EQ(g->limits.max_total_trials, 3);
}

TEST(SweepJobTest, BadWarmStartNamesTheField) {
  EXPECT_NE(ErrorOf(With("resume_from", "old")).find("field 'resume_from' must be a list"),
            std::string::npos);
  EXPECT_NE(ErrorOf(With("resume_from", Json::array({"a", "b", "c", "d", "e", "f"})))
                .find("resume_from lists 6 sweeps; a sweep warm-starts from at most 5"),
            std::string::npos);
  EXPECT_NE(ErrorOf(With("resume_child_runs", Json::array({"a_1", "a_1"})))
                .find("resume_child_runs[1]: 'a_1' is listed twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(With("resume_child_runs", Json::array({1}))).find("resume_child_runs[0]"),
            std::string::npos);
  Json over = Json::parse(R"({
    "trial": {"command": "python t.py --x ${{search_space.x}}"},
    "search_space": {"x": {"type": "uniform", "min_value": 0, "max_value": 1}},
    "objective": {"primary_metric": "acc", "goal": "maximize"},
    "limits": {"max_total_trials": 1},
    "resume_child_runs": ["a_1", "a_2"]})");
  EXPECT_NE(ErrorOf(SweepJob::FromJson(over))
                .find("resume_child_runs lists 2 trials, more than limits.max_total_trials (1)"),
            std::string::npos);
  Json taken = over;
  taken["limits"] = {{"max_total_trials", 4}};
  taken["inputs"] = {{"resume_from", {{"type", "uri_folder"}, {"path", "ckpt"}}}};
  taken["trial"]["command"] = "python t.py --x ${{search_space.x}} --c ${{inputs.resume_from}}";
  EXPECT_NE(ErrorOf(SweepJob::FromJson(taken)).find("inputs.resume_from: the name is taken"),
            std::string::npos);
}

}  // namespace
}  // namespace gantry::sweep
