// PlanPythonEnvironment: what building a Python environment spec on this node means, decided
// without running anything (the builder, environment_builder.cc, carries it out). Pure, so
// that each rule is unit-tested.
//
//   - `azureml-*` requirements (pip or conda: azureml-defaults, azureml-core, ...) are never
//     installed: the real Azure SDK would shadow Gantry's and try to reach Azure. Gantry's
//     SDK, on every run's and deployment's PYTHONPATH, satisfies them; a note says so.
//   - A conda spec is built with conda (micromamba, mamba or conda) when the node has one.
//     Without one, it becomes a venv of a local interpreter of the Python version it asks for
//     (python=3.11 → python3.11, else python3 when that is 3.11), its conda packages
//     installed by pip under the same names (numpy=1.26 → numpy==1.26); a note says so.
//     A spec whose Python the node lacks fails naming both that Python and the conda tools.
//   - Pip requirements (not user-managed) → a venv of the named interpreter.
//   - Otherwise the interpreter as it is.
// The cache key of a build (BuildKey) leaves environment_variables out: they are set when the
// job starts, so specs that differ only in them share one build.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "common/status.h"

namespace gantry::env {

struct PythonEnvPlan {
  enum class Kind { kInterpreter, kVenv, kConda };
  Kind kind = Kind::kInterpreter;
  // kInterpreter: the interpreter itself; kVenv: the one the venv is made from. Unused for
  // kConda.
  fs::path interpreter;
  // kVenv: what pip installs, in order (conda packages first when converted).
  std::vector<std::string> pip;
  // kConda: the conda file to create the environment from (azureml-* entries removed, the
  // spec's extra pip entries merged into its pip list).
  Json conda_file;
  fs::path conda_tool;
  // Lines for the build log: what was left out or converted, and why.
  std::vector<std::string> notes;
};

struct PythonEnvNode {
  // The interpreter the spec names (python.interpreter_path, default python3), found on PATH.
  std::optional<fs::path> interpreter;
  // Its version, "3.11.2" ("" when unknown); asked only when a conda spec needs it.
  std::function<std::string()> interpreter_version;
  // micromamba, mamba or conda, when on PATH.
  std::optional<fs::path> conda_tool;
  // Finds a local interpreter for a "X.Y" version (python3.11 on PATH, say).
  std::function<std::optional<fs::path>(const std::string& version)> find_python;
};

// FailedPrecondition naming what the node lacks; InvalidArgument for a malformed spec.
Result<PythonEnvPlan> PlanPythonEnvironment(const std::string& env_name, const Json& spec,
                                            const PythonEnvNode& node);

// Whether a pip or conda requirement names an azureml-* package.
bool IsAzureMlRequirement(const std::string& requirement);

// The build cache key of a normalized spec: its SHA-256 without environment_variables.
std::string BuildKey(const Json& spec);

// A failed `pip install`'s output boiled down to what a user must change, e.g. "pip found no
// release of tensorflow==2.0.0 that installs on this node's Python 3.11 (pip: ERROR: No
// matching distribution found for tensorflow==2.0.0); change the pin". "" when the output
// names no requirement.
std::string PipFailureSummary(const std::string& pip_output, const std::string& python_version);

}  // namespace gantry::env
