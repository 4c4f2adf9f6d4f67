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

}  // namespace
}  // namespace gantry::sweep
