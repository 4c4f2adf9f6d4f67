// Job environment: how the runner turns a job's `environment` and its context into the
// interpreter on PATH and the environment variables of the job's process.
//
// Supported `environment` values (the environments feature will add named ones):
//   ""                          the machine's python, nothing changes
//   "python:<path>"             that interpreter (`environment: {python: <path>}`)
//   "/abs/path/to/python"       that interpreter
//   "python3.11" (a bare name)  that program, looked up on PATH
// The chosen interpreter is reachable as `python` and `python3` through small launcher
// scripts in a bin folder put first on PATH. Launchers rather than symlinks, because a
// symlink to a virtualenv's python loses the virtualenv (Python looks for pyvenv.cfg next
// to the path it was started as); a virtualenv's own bin folder is put on PATH too.
//
// Thread-safe: stateless functions.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace gantry::runner {

namespace fs = std::filesystem;

// Resolves `environment` to an absolute interpreter path, or nullopt for "". Bare names are
// looked up on `path_env` (a PATH value), relative paths with a slash against `cwd`.
// FailedPrecondition naming the value when it names something else (e.g. "azureml:..."), or
// naming the interpreter when it does not exist or is not executable.
Result<std::optional<fs::path>> ResolveInterpreter(std::string_view environment,
                                                   std::string_view path_env, const fs::path& cwd);

// Writes `bin_dir`/python and `bin_dir`/python3 launching `interpreter`, creating the folder.
// Returns the folders to put first on PATH, in order: `bin_dir`, then the interpreter's own
// folder when it belongs to a virtualenv. Internal when a file cannot be written.
Result<std::vector<fs::path>> InstallInterpreterLaunchers(const fs::path& bin_dir,
                                                          const fs::path& interpreter);

// What the job's process needs to know about its run.
struct JobContext {
  std::string run_id;
  std::string server_url;
  std::string token;
  // The CA file that verifies an https:// server (GANTRY_CA_FILE); "" when none.
  std::string ca_file;
  std::string experiment_name;
  fs::path metrics_file;
  fs::path outputs_dir;
  // Prepended to PATH, in order.
  std::vector<fs::path> path_prefix;
  // Prepended to PYTHONPATH when not empty: the folder holding the `gantry` package.
  fs::path python_sdk_dir;
  // The job's environment_variables; they win over everything else.
  std::map<std::string, std::string> user_variables;
};

// The job's environment: `base` (the runner's own), plus PATH and PYTHONPATH prefixes,
// GANTRY_RUN_ID, GANTRY_URL, GANTRY_RUN_TOKEN, GANTRY_EXPERIMENT_NAME, GANTRY_METRICS_FILE,
// GANTRY_OUTPUTS_DIR, AZUREML_RUN_ID, PYTHONUNBUFFERED=1 (so that print() reaches the live
// log at once) unless already set, then the user's variables.
std::map<std::string, std::string> BuildJobEnvironment(std::map<std::string, std::string> base,
                                                       const JobContext& context);

}  // namespace gantry::runner
