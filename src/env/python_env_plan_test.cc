#include "env/python_env_plan.h"

#include <gtest/gtest.h>

namespace gantry::env {
namespace {

using Kind = PythonEnvPlan::Kind;

PythonEnvNode Node(std::string version = "3.11.2", bool conda = false) {
  PythonEnvNode n;
  n.interpreter = fs::path("/usr/bin/python3");
  n.interpreter_version = [version] { return version; };
  if (conda) n.conda_tool = fs::path("/opt/bin/micromamba");
  n.find_python = [](const std::string& v) -> std::optional<fs::path> {
    if (v == "3.9") return fs::path("/usr/local/bin/python3.9");
    return std::nullopt;
  };
  return n;
}

// The notebook's deployment environment: CondaDependencies.create(), numpy from conda,
// tensorflow and azureml-defaults from pip.
Json NotebookSpec(const std::string& python = "python=3.11") {
  return {{"python",
           {{"conda_dependencies",
             {{"name", "project_environment"},
              {"channels", {"conda-forge"}},
              {"dependencies",
               {python,
                "numpy=1.26",
                "pip",
                {{"pip", {"tensorflow==2.0.0", "azureml-defaults", "azureml-core==1.18.0"}}}}}}}}}};
}

TEST(PythonEnvPlanTest, PipSpecIsAVenvWithoutTheAzureSdk) {
  Json spec = {{"pip", {"tensorflow-cpu==2.21.0", "azureml-defaults>=1.0", "AzureML-Core"}}};
  auto plan = PlanPythonEnvironment("tf:1", spec, Node());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ(plan->kind, Kind::kVenv);
  EXPECT_EQ(plan->interpreter, "/usr/bin/python3");
  EXPECT_EQ(plan->pip, std::vector<std::string>{"tensorflow-cpu==2.21.0"});
  ASSERT_EQ(plan->notes.size(), 2u);
  EXPECT_NE(plan->notes[0].find("azureml-defaults>=1.0: satisfied by Gantry's own SDK"),
            std::string::npos)
      << plan->notes[0];
}

TEST(PythonEnvPlanTest, InterpreterAsItIsWithoutPipOrWhenUserManaged) {
  auto plain = PlanPythonEnvironment("p:1", Json::object(), Node());
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->kind, Kind::kInterpreter);
  Json managed = {{"python", {{"user_managed_dependencies", true}}}, {"pip", {"numpy"}}};
  auto m = PlanPythonEnvironment("p:1", managed, Node());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->kind, Kind::kInterpreter);
  // Only azureml-* packages: nothing is left to install.
  auto azure_only = PlanPythonEnvironment("p:1", {{"pip", {"azureml-defaults"}}}, Node());
  ASSERT_TRUE(azure_only.has_value());
  EXPECT_EQ(azure_only->kind, Kind::kInterpreter);

  PythonEnvNode none = Node();
  none.interpreter.reset();
  auto missing =
      PlanPythonEnvironment("p:1", {{"python", {{"interpreter_path", "python3.13"}}}}, none);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.error().message().find("'python3.13'"), std::string::npos);
}

TEST(PythonEnvPlanTest, CondaSpecWithCondaKeepsTheFileMinusAzureMl) {
  auto plan = PlanPythonEnvironment("myenv:1", NotebookSpec(), Node("3.11.2", /*conda=*/true));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ(plan->kind, Kind::kConda);
  EXPECT_EQ(plan->conda_tool, "/opt/bin/micromamba");
  const Json& deps = plan->conda_file["dependencies"];
  EXPECT_EQ(deps[0], "python=3.11");
  EXPECT_EQ(deps[3]["pip"], Json({"tensorflow==2.0.0"}));
  EXPECT_EQ(plan->conda_file["channels"], Json({"conda-forge"}));
}

TEST(PythonEnvPlanTest, CondaSpecWithoutCondaBecomesAVenvOfThatPython) {
  auto plan = PlanPythonEnvironment("myenv:1", NotebookSpec(), Node("3.11.2"));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ(plan->kind, Kind::kVenv);
  EXPECT_EQ(plan->interpreter, "/usr/bin/python3");
  EXPECT_EQ(plan->pip, (std::vector<std::string>{"numpy==1.26", "tensorflow==2.0.0"}));
  bool said = false;
  for (const auto& n : plan->notes)
    said |= n.find("no micromamba, mamba or conda") != std::string::npos;
  EXPECT_TRUE(said);

  // Another local Python of the version asked for.
  auto py39 = PlanPythonEnvironment("myenv:1", NotebookSpec("python=3.9.7"), Node("3.11.2"));
  ASSERT_TRUE(py39.has_value());
  EXPECT_EQ(py39->interpreter, "/usr/local/bin/python3.9");
}

TEST(PythonEnvPlanTest, CondaSpecForAPythonTheNodeLacksNamesBoth) {
  auto plan = PlanPythonEnvironment("old:1", NotebookSpec("python=3.6.2"), Node("3.11.2"));
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code(), StatusCode::kFailedPrecondition);
  const std::string& m = plan.error().message();
  EXPECT_NE(m.find("Python 3.6"), std::string::npos) << m;
  EXPECT_NE(m.find("python3 here is 3.11.2"), std::string::npos) << m;
  EXPECT_NE(m.find("micromamba, mamba or conda"), std::string::npos) << m;
}

TEST(PythonEnvPlanTest, SpecPipEntriesJoinTheCondaFile) {
  Json spec = NotebookSpec();
  spec["pip"] = {"pillow"};
  auto plan = PlanPythonEnvironment("e:1", spec, Node());
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->pip.back(), "pillow");
  // A conda file without a pip section still gets them.
  Json bare = {{"python", {{"conda_dependencies", {{"dependencies", {"python=3.11"}}}}}},
               {"pip", {"pillow"}}};
  auto conda = PlanPythonEnvironment("e:1", bare, Node("3.11.2", true));
  ASSERT_TRUE(conda.has_value());
  EXPECT_EQ(conda->conda_file["dependencies"].back(), Json({{"pip", {"pillow"}}}));
}

TEST(PythonEnvPlanTest, BuildKeyIgnoresEnvironmentVariablesOnly) {
  Json a = {{"pip", {"tensorflow-cpu==2.21.0"}}};
  Json b = a;
  b["environment_variables"] = {{"TF_USE_LEGACY_KERAS", "1"}};
  EXPECT_EQ(BuildKey(a), BuildKey(b));
  Json c = {{"pip", {"tensorflow-cpu==2.20.0"}}};
  EXPECT_NE(BuildKey(a), BuildKey(c));
}

TEST(PythonEnvPlanTest, AzureMlRequirementNames) {
  for (const char* yes : {"azureml-defaults", "azureml-core==1.18.0", "AzureML-SDK", "azureml",
                          "conda-forge::azureml-core", "azureml_core>=1"}) {
    EXPECT_TRUE(IsAzureMlRequirement(yes)) << yes;
  }
  for (const char* no : {"numpy", "azure-storage-blob", "inference-schema", "mlflow-azureml"}) {
    EXPECT_FALSE(IsAzureMlRequirement(no)) << no;
  }
}

TEST(PythonEnvPlanTest, PipFailureSummaryNamesThePinAndWhatIsThere) {
  std::string out =
      "Collecting numpy==1.26\n"
      "ERROR: Could not find a version that satisfies the requirement tensorflow==2.0.0 (from "
      "versions: 2.12.0, 2.13.0, 2.14.0, 2.15.0, 2.16.1, 2.17.0, 2.21.0)\n"
      "ERROR: No matching distribution found for tensorflow==2.0.0\n";
  std::string s = PipFailureSummary(out, "3.11.2");
  EXPECT_EQ(s,
            "pip found no release of tensorflow==2.0.0 that installs on this node's Python "
            "3.11.2 (releases it can install: ..., 2.14.0, 2.15.0, 2.16.1, 2.17.0, 2.21.0); "
            "change the pin");
  EXPECT_EQ(PipFailureSummary("ERROR: Could not find a version that satisfies the requirement "
                              "nope (from versions: none)\nERROR: No matching distribution found "
                              "for nope\n",
                              ""),
            "pip found no release of nope that installs on this node (the package index has no "
            "release of it for this Python); change the pin");
  EXPECT_EQ(PipFailureSummary("network is down", "3.11"), "");
}

}  // namespace
}  // namespace gantry::env
