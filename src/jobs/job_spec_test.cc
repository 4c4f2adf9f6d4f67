#include "jobs/job_spec.h"

#include <gtest/gtest.h>

#include "common/files.h"

namespace gantry::jobs {
namespace {

// The error message ParseJobYaml gives for `yaml`; fails the test when it parses.
std::string ParseError(const std::string& yaml) {
  auto spec = ParseJobYaml(yaml, "job.yml");
  if (spec.has_value()) {
    ADD_FAILURE() << "expected an error for:\n" << yaml;
    return "";
  }
  EXPECT_EQ(spec.error().code(), StatusCode::kInvalidArgument);
  return spec.error().message();
}

constexpr char kFullJob[] = R"(
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
name: lightgbm-iris-1
display_name: lightgbm-iris-example
experiment_name: lightgbm-iris
description: Train a LightGBM model on the Iris dataset.
code: src
command: >-
  python main.py
  --iris-csv ${{inputs.iris_csv}}
  --learning-rate ${{ inputs.learning_rate }}
  --boosting ${{inputs.boosting}}
  --epochs ${{inputs.epochs}} --verbose ${{inputs.verbose}}
  --model-dir ${{outputs.model_dir}}
inputs:
  iris_csv:
    type: uri_folder
    path: ./data
    mode: ro_mount
  learning_rate: 0.90
  boosting: gbdt
  verbose: True
  epochs:
    type: integer
    default: 10
outputs:
  model_dir:
  metrics:
    type: uri_file
    mode: upload
environment: azureml:AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu@latest
compute: azureml:cpu-cluster
environment_variables:
  OMP_NUM_THREADS: 4
  DEBUG: "yes"
tags:
  team: vision
  priority: 1
limits:
  timeout: 3600
resources:
  instance_count: 2
  shm_size: 8g
distribution:
  type: pytorch
  process_count_per_instance: 1
)";

TEST(JobSpecYamlTest, ParsesFullJob) {
  auto spec = ParseJobYaml(kFullJob, "job.yml");
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->name, "lightgbm-iris-1");
  EXPECT_EQ(spec->display_name, "lightgbm-iris-example");
  EXPECT_EQ(spec->experiment_name, "lightgbm-iris");
  EXPECT_EQ(spec->description, "Train a LightGBM model on the Iris dataset.");
  EXPECT_EQ(spec->code, "src");
  EXPECT_EQ(spec->command,  // folded by `>-` into one line
            "python main.py --iris-csv ${{inputs.iris_csv}} --learning-rate ${{ "
            "inputs.learning_rate }} --boosting ${{inputs.boosting}} --epochs ${{inputs.epochs}} "
            "--verbose ${{inputs.verbose}} --model-dir ${{outputs.model_dir}}");
  EXPECT_EQ(spec->environment, "azureml:AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu@latest");
  EXPECT_EQ(spec->compute, "cpu-cluster");

  ASSERT_EQ(spec->inputs.size(), 5u);
  const InputSpec& data = spec->inputs.at("iris_csv");
  EXPECT_EQ(data.kind, InputSpec::Kind::kUriFolder);
  EXPECT_EQ(data.path, "./data");
  EXPECT_EQ(data.mode, "ro_mount");
  EXPECT_EQ(spec->inputs.at("learning_rate").kind, InputSpec::Kind::kLiteral);
  EXPECT_EQ(spec->inputs.at("learning_rate").literal, "0.90");  // as written
  EXPECT_EQ(spec->inputs.at("boosting").literal, "gbdt");
  EXPECT_EQ(spec->inputs.at("verbose").literal, "true");
  EXPECT_EQ(spec->inputs.at("epochs").literal, "10");

  ASSERT_EQ(spec->outputs.size(), 2u);
  EXPECT_EQ(spec->outputs.at("model_dir"), (OutputSpec{"uri_folder", ""}));
  EXPECT_EQ(spec->outputs.at("metrics"), (OutputSpec{"uri_file", "upload"}));

  EXPECT_EQ(spec->environment_variables,
            (std::map<std::string, std::string>{{"OMP_NUM_THREADS", "4"}, {"DEBUG", "yes"}}));
  EXPECT_EQ(spec->tags,
            (std::map<std::string, std::string>{{"team", "vision"}, {"priority", "1"}}));
  EXPECT_EQ(spec->timeout_seconds, 3600);
  EXPECT_EQ(spec->resources, Json::parse(R"({"instance_count": 2, "shm_size": "8g"})"));
  EXPECT_EQ(spec->distribution,
            Json::parse(R"({"type": "pytorch", "process_count_per_instance": 1})"));
}

TEST(JobSpecYamlTest, MinimalJobGetsDefaults) {
  auto spec = ParseJobYaml("command: echo hi\n", "job.yml");
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->command, "echo hi");
  EXPECT_EQ(spec->compute, "local");
  EXPECT_EQ(spec->code, "");
  EXPECT_EQ(spec->environment, "");
  EXPECT_EQ(spec->timeout_seconds, 0);
  EXPECT_TRUE(spec->resources.is_null());
}

TEST(JobSpecYamlTest, EnvironmentAsPythonInterpreter) {
  auto spec = ParseJobYaml("command: x\nenvironment:\n  python: /opt/venv/bin/python\n", "job.yml");
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->environment, "python:/opt/venv/bin/python");

  EXPECT_EQ(ParseError("command: x\nenvironment:\n  image: ubuntu:22.04\n"),
            "job.yml:3:3: field 'environment.image' is not supported: 'environment' must be a "
            "string or a mapping with 'python' (an interpreter path)");
}

TEST(JobSpecYamlTest, UnknownTopLevelFieldNamesLineAndSuggestion) {
  EXPECT_EQ(ParseError("name: a\n\ncomand: python train.py\n"),
            "job.yml:3:1: unknown field 'comand' (did you mean 'command'?)");
  EXPECT_EQ(ParseError("command: x\nservices: {}\n"), "job.yml:2:1: unknown field 'services'");
}

TEST(JobSpecYamlTest, UnknownNestedFieldNamesItsPath) {
  EXPECT_EQ(ParseError("command: x\nlimits:\n  timout: 10\n"),
            "job.yml:3:3: unknown field 'limits.timout' (did you mean 'limits.timeout'?)");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  data:\n    type: uri_file\n    pth: a.csv\n"),
            "job.yml:5:5: unknown field 'inputs.data.pth' (did you mean 'inputs.data.path'?)");
  EXPECT_EQ(ParseError("command: x\noutputs:\n  m:\n    path: out\n"),
            "job.yml:4:5: unknown field 'outputs.m.path'");
}

TEST(JobSpecYamlTest, WrongTypesNameTheField) {
  EXPECT_EQ(ParseError("command: x\nlimits:\n  timeout: -5\n"),
            "job.yml:3:3: field 'limits.timeout' must be a positive integer");
  EXPECT_EQ(ParseError("command: x\nlimits:\n  timeout: 1h\n"),
            "job.yml:3:3: field 'limits.timeout' must be a positive integer");
  EXPECT_EQ(ParseError("command: x\ntags: [a, b]\n"),
            "job.yml:2:1: field 'tags' must be a mapping");
  EXPECT_EQ(ParseError("command: x\ntags:\n  a: [1]\n"),
            "job.yml:3:3: field 'tags.a' must be a string, number or boolean");
  EXPECT_EQ(ParseError("command:\n  run: x\n"), "job.yml:1:1: field 'command' must be a string");
  EXPECT_EQ(ParseError("command: ''\n"), "job.yml:1:1: field 'command' must be a non-empty string");
  EXPECT_EQ(ParseError("type: sweep\ncommand: x\n"),
            "job.yml:1:1: field 'type' must be 'command' (the only job type supported)");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  n:\n    type: integer\n    default: 1.5\n"),
            "job.yml:5:5: field 'inputs.n.default' must be an integer");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  d:\n    type: mltable\n    path: x\n"),
            "job.yml:3:3: field 'inputs.d.type' must be one of uri_file, uri_folder, string, "
            "integer, number, boolean (got 'mltable')");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  d:\n    type: uri_file\n"),
            "job.yml:3:3: field 'inputs.d.path' is required");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  d:\n    path: x\n    mode: rw_mount\n"),
            "job.yml:5:5: field 'inputs.d.mode' must be ro_mount or download");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  bad-name: 1\n"),
            "job.yml:3:3: input name 'bad-name' must match [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(ParseError("command: x\ninputs:\n  lr:\n"),
            "job.yml:3:3: field 'inputs.lr' has no value");
  EXPECT_EQ(ParseError("command: x\ncommand: y\n"), "job.yml:2:1: duplicate field 'command'");
}

TEST(JobSpecYamlTest, MissingCommandOrEmptyDocument) {
  EXPECT_EQ(ParseError("name: a\n"), "job.yml: field 'command' is required");
  EXPECT_NE(ParseError("").find("needs at least a 'command'"), std::string::npos);
  EXPECT_NE(ParseError("- a\n- b\n").find("must be a mapping"), std::string::npos);
}

TEST(JobSpecYamlTest, MalformedYamlReportsLineAndColumn) {
  std::string message = ParseError("command: x\ninputs: [a,\nlimits: 3\n  b");
  EXPECT_TRUE(message.starts_with("job.yml:")) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
  message = ParseError("command: x\ntags:\n  a: 1\n b: 2\n");
  EXPECT_TRUE(message.starts_with("job.yml:4:")) << message;
}

TEST(JobSpecYamlTest, PlaceholderMustReferenceDeclaredInput) {
  EXPECT_EQ(ParseError("command: python t.py --lr ${{inputs.lr}}\ninputs:\n  epochs: 3\n"),
            "job.yml:1:1: command uses '${{inputs.lr}}', but no input 'lr' is declared");
  EXPECT_EQ(ParseError("command: python t.py --out ${{ outputs.model }}\n"),
            "job.yml:1:1: command uses '${{outputs.model}}', but no output 'model' is declared");
  EXPECT_NE(ParseError("command: echo ${{search_space.lr}}\n").find("only ${{inputs.NAME}}"),
            std::string::npos);
}

TEST(PlaceholderTest, FindsEachReferenceOnce) {
  EXPECT_EQ(FindPlaceholders("a ${{inputs.lr}} ${{ outputs.model }} ${{inputs.lr}} ${{unclosed"),
            (std::vector<std::string>{"inputs.lr", "outputs.model"}));
  EXPECT_TRUE(FindPlaceholders("echo $HOME ${PATH}").empty());
}

TEST(PlaceholderTest, SubstitutesInputsAndOutputs) {
  auto cmd = SubstitutePlaceholders(
      "python t.py --lr ${{inputs.lr}} --lr2 ${{ inputs.lr }} --out ${{outputs.model}} $HOME",
      {{"lr", "0.01"}}, {{"model", "/runs/1/outputs/model"}});
  ASSERT_TRUE(cmd.has_value()) << cmd.error().ToString();
  EXPECT_EQ(*cmd, "python t.py --lr 0.01 --lr2 0.01 --out /runs/1/outputs/model $HOME");

  auto missing = SubstitutePlaceholders("x ${{inputs.epochs}}", {{"lr", "1"}}, {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.error().message(), "no value for placeholder '${{inputs.epochs}}'");
  // An input's value does not satisfy an output of the same name.
  EXPECT_FALSE(SubstitutePlaceholders("${{outputs.lr}}", {{"lr", "1"}}, {}).has_value());
}

TEST(JobSpecJsonTest, RoundTripIsLossless) {
  auto spec = ParseJobYaml(kFullJob, "job.yml");
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  spec->environment = "python:/usr/bin/python3";
  Json json = spec->ToJson();
  EXPECT_EQ(json["inputs"]["learning_rate"], "0.90");
  EXPECT_EQ(json["limits"]["timeout"], 3600);
  auto back = JobSpec::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, *spec);
  // And through text, as a REST body travels.
  auto reparsed = JobSpec::FromJson(Json::parse(json.dump()));
  ASSERT_TRUE(reparsed.has_value());
  EXPECT_EQ(*reparsed, *spec);
}

TEST(JobSpecJsonTest, FromJsonAppliesTheYamlRules) {
  auto spec = JobSpec::FromJson(Json::parse(R"({
    "command": "python t.py --lr ${{inputs.lr}}",
    "inputs": {"lr": 0.5, "flag": true, "n": {"type": "integer", "value": 3}},
    "limits": {"timeout": 60}, "tags": {"id": "007"}})"));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->inputs.at("lr").literal, "0.5");
  EXPECT_EQ(spec->inputs.at("flag").literal, "true");
  EXPECT_EQ(spec->inputs.at("n").literal, "3");
  EXPECT_EQ(spec->tags.at("id"), "007");
  EXPECT_EQ(spec->timeout_seconds, 60);

  auto bad = JobSpec::FromJson(Json::parse(R"({"command": "x", "limits": {"timeout": 0}})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "field 'limits.timeout' must be a positive integer");
  bad = JobSpec::FromJson(Json::parse(R"({"comand": "x"})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "unknown field 'comand' (did you mean 'command'?)");
  EXPECT_FALSE(JobSpec::FromJson(Json::parse(R"({"command": "echo ${{inputs.x}}"})")).has_value());
  EXPECT_FALSE(JobSpec::FromJson(Json::array()).has_value());
}

class LoadJobFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("gantry-jobs-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
    ASSERT_TRUE(MakeDirs(dir_ / "project/src").ok());
    ASSERT_TRUE(MakeDirs(dir_ / "data/images").ok());
    ASSERT_TRUE(WriteFileAtomic(dir_ / "data/labels.csv", "a,b\n").ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& yaml) {
    fs::path file = dir_ / "project/job.yml";
    EXPECT_TRUE(WriteFileAtomic(file, yaml).ok());
    return file;
  }

  fs::path dir_;
};

TEST_F(LoadJobFileTest, ResolvesPathsAgainstTheFilesFolder) {
  auto spec = LoadJobFile(Write(R"(
command: python train.py --data ${{inputs.images}} --labels ${{inputs.labels}}
code: ./src/
inputs:
  images: {type: uri_folder, path: ../data/images}
  labels: {type: uri_file, path: ../data/labels.csv}
  lr: 0.1
)"));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->code, (dir_ / "project/src").string());
  EXPECT_EQ(spec->inputs.at("images").path, (dir_ / "data/images").string());
  EXPECT_EQ(spec->inputs.at("labels").path, (dir_ / "data/labels.csv").string());
  EXPECT_EQ(spec->inputs.at("lr").literal, "0.1");
}

TEST_F(LoadJobFileTest, MissingCodeFolderNamesThePath) {
  fs::path file = Write("command: python train.py\ncode: missing\n");
  auto spec = LoadJobFile(file);
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(spec.error().message(), file.string() + ": code folder '" +
                                        (dir_ / "project/missing").string() + "' does not exist");
}

TEST_F(LoadJobFileTest, InputPathsMustExistWithTheRightKind) {
  auto spec = LoadJobFile(Write("command: x\ninputs:\n  d: {type: uri_folder, path: ../nope}\n"));
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.error().message().find("input 'd' path '" + (dir_ / "nope").string() +
                                        "' does not exist"),
            std::string::npos)
      << spec.error().message();

  spec = LoadJobFile(Write("command: x\ninputs:\n  f: {type: uri_file, path: ../data/images}\n"));
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.error().message().find("input 'f' path '" + (dir_ / "data/images").string() +
                                        "' is a folder"),
            std::string::npos)
      << spec.error().message();

  spec = LoadJobFile(
      Write("command: x\ninputs:\n  d: {type: uri_folder, path: ../data/labels.csv}\n"));
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.error().message().find("is not a folder"), std::string::npos);
}

TEST_F(LoadJobFileTest, MissingFileIsNotFound) {
  auto spec = LoadJobFile(dir_ / "absent.yml");
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gantry::jobs

namespace gantry::jobs {
namespace {

TEST(JobSpecYamlTest, BadDistributionNamesFileLineAndField) {
  auto spec = ParseJobYaml(
      "command: python train.py\nresources:\n  instance_count: 2\n"
      "distribution:\n  type: pytorch\n  process_count_per_instance: 0\n",
      "job.yml");
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.error().message().find("job.yml:4:"), std::string::npos) << spec.error().message();
  EXPECT_NE(spec.error().message().find("distribution.process_count_per_instance"),
            std::string::npos);
  auto ok = ParseJobYaml(
      "command: python train.py\nresources: {instance_count: 2}\n"
      "distribution: {type: mpi, process_count_per_instance: 2}\n",
      "job.yml");
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->distribution["type"], "mpi");
}

}  // namespace
}  // namespace gantry::jobs
