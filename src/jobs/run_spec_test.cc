#include "jobs/run_spec.h"

#include <gtest/gtest.h>

namespace gantry::jobs {
namespace {

RunSpec Example() {
  auto job = JobSpec::FromJson(Json::parse(R"({
    "command": "python train.py --data ${{inputs.mnist}}",
    "inputs": {"mnist": {"type": "uri_folder", "path": "azureml:mnist:2"}},
    "resources": {"instance_count": 2},
    "distribution": {"type": "pytorch", "process_count_per_instance": 2}
  })"));
  EXPECT_TRUE(job.has_value()) << job.error().ToString();
  RunSpec spec;
  spec.job = job.value_or(JobSpec{});
  spec.input_trees = {{"mnist", std::string(64, 'a')}};
  spec.datasets = {{.input = "mnist", .name = "mnist", .version = 2}};
  spec.environment = PinnedEnvironment{.name = "tf",
                                       .version = 3,
                                       .hash = "h1",
                                       .spec = {{"python", {{"interpreter_path", "python3"}}}}};
  spec.gpus = {0, 1};
  return spec;
}

TEST(RunSpecTest, TheStoredFormRoundTripsAndThePlanIsDerived) {
  RunSpec spec = Example();
  Json stored = RunSpecToJson(spec);
  EXPECT_TRUE(stored.contains("job"));
  EXPECT_EQ(stored["gpus"], Json({0, 1}));
  EXPECT_EQ(stored["datasets"], Json::parse(R"([{"input":"mnist","name":"mnist","version":2}])"));
  auto back = RunSpecFromJson(stored);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->job, spec.job);
  EXPECT_EQ(back->input_trees, spec.input_trees);
  EXPECT_EQ(back->datasets, spec.datasets);
  EXPECT_EQ(back->environment, spec.environment);
  EXPECT_EQ(back->gpus, spec.gpus);
  EXPECT_EQ(back->plan.type, DistributionPlan::Type::kPyTorch);
  EXPECT_EQ(back->plan.instance_count, 2);
  EXPECT_EQ(back->plan.world_size(), 4);
}

TEST(RunSpecTest, TheRestFormPutsTheJobUnderSpecAndLeavesTheGpusOut) {
  Json rest = RunSpecToJson(Example(), RunSpecForm::kRest);
  EXPECT_TRUE(rest.contains("spec"));
  EXPECT_FALSE(rest.contains("job"));
  EXPECT_FALSE(rest.contains("gpus"));
  auto back = RunSpecFromJson(rest, RunSpecForm::kRest);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->job.command, "python train.py --data ${{inputs.mnist}}");
  EXPECT_EQ(back->environment->hash, "h1");
}

TEST(RunSpecTest, ARunWithoutEnvironmentOrInputsIsOneProcess) {
  auto spec =
      RunSpecFromJson(Json::parse(R"({"job": {"command": "echo hi"}, "environment": null})"));
  ASSERT_TRUE(spec.has_value());
  EXPECT_FALSE(spec->environment.has_value());
  EXPECT_TRUE(spec->input_trees.empty());
  EXPECT_FALSE(spec->plan.distributed());
  EXPECT_EQ(RunSpecToJson(*spec)["environment"], Json());
}

TEST(RunSpecTest, AMalformedSpecNamesTheField) {
  auto message = [](const char* text) {
    auto spec = RunSpecFromJson(Json::parse(text));
    EXPECT_FALSE(spec.has_value()) << text;
    return spec.has_value() ? std::string() : spec.error().message();
  };
  EXPECT_EQ(message(R"({"job": {"command": "x"}, "input_trees": {"a": 3}})"),
            "field 'input_trees.a' must be a string");
  EXPECT_EQ(message(R"({"job": {"command": "x"}, "datasets": {}})"),
            "field 'datasets' must be an array");
  EXPECT_EQ(message(R"({"job": {"command": "x"}, "environment": {"name": "e", "version": "1"}})"),
            "environment: field 'version' must be an integer");
  EXPECT_EQ(message(R"({"job": {"command": "x"}, "gpus": ["0"]})"),
            "field 'gpus' must be an integer");
  EXPECT_EQ(message(R"([])"), "the run's spec must be an object");
}

}  // namespace
}  // namespace gantry::jobs
