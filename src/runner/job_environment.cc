#include "runner/job_environment.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"

namespace gantry::runner {
namespace {

bool IsExecutableFile(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

std::optional<fs::path> FindOnPath(std::string_view name, std::string_view path_env) {
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string_view::npos) end = path_env.size();
    std::string_view dir = path_env.substr(start, end - start);
    if (!dir.empty()) {
      fs::path candidate = fs::path(dir) / name;
      if (IsExecutableFile(candidate)) return fs::absolute(candidate);
    }
    start = end + 1;
  }
  return std::nullopt;
}

bool LooksLikeInterpreterName(std::string_view name) {
  return name.starts_with("python") || name.starts_with("pypy");
}

// Single-quoted for /bin/sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Status UnavailableEnvironment(std::string_view environment) {
  return FailedPreconditionError(
      "environment '" + std::string(environment) +
      "' is not available: named environments arrive with the environments feature; use the "
      "machine's python or a named interpreter");
}

}  // namespace

Result<std::optional<fs::path>> ResolveInterpreter(std::string_view environment,
                                                   std::string_view path_env, const fs::path& cwd) {
  if (environment.empty()) return std::optional<fs::path>();
  std::string_view spec = environment;
  bool explicit_python = spec.starts_with("python:");
  if (explicit_python) spec.remove_prefix(std::string_view("python:").size());
  if (spec.empty()) return Err(UnavailableEnvironment(environment));

  if (spec.find('/') == std::string_view::npos) {
    if (std::optional<fs::path> found = FindOnPath(spec, path_env)) return found;
    if (explicit_python || LooksLikeInterpreterName(spec)) {
      return Err(
          FailedPreconditionError("interpreter '" + std::string(spec) + "' was not found on PATH"));
    }
    return Err(UnavailableEnvironment(environment));
  }
  // A relative path counts only when written as python:<path>; "envs/x" is a name.
  if (!explicit_python && spec.front() != '/') return Err(UnavailableEnvironment(environment));
  fs::path path = spec.front() == '/' ? fs::path(spec) : cwd / spec;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Err(FailedPreconditionError("interpreter '" + path.string() + "' does not exist"));
  }
  if (!IsExecutableFile(path)) {
    return Err(
        FailedPreconditionError("interpreter '" + path.string() + "' is not an executable file"));
  }
  return std::optional<fs::path>(path.lexically_normal());
}

Result<std::vector<fs::path>> InstallInterpreterLaunchers(const fs::path& bin_dir,
                                                          const fs::path& interpreter) {
  RETURN_IF_ERROR(MakeDirs(bin_dir));
  const std::string script = "#!/bin/sh\n# Written by the gantry runner.\nexec " +
                             ShellQuote(interpreter.string()) + " \"$@\"\n";
  for (const char* name : {"python", "python3"}) {
    fs::path file = bin_dir / name;
    std::error_code ec;
    fs::remove(file, ec);
    RETURN_IF_ERROR(WriteFileAtomic(file, script));
    fs::permissions(file, fs::perms(0755), ec);
    if (ec) return Err(InternalError("cannot make " + file.string() + " executable"));
  }
  std::vector<fs::path> dirs = {bin_dir};
  const fs::path own_dir = interpreter.parent_path();
  std::error_code ec;
  if (fs::exists(own_dir / "pyvenv.cfg", ec) ||
      fs::exists(own_dir.parent_path() / "pyvenv.cfg", ec)) {
    dirs.push_back(own_dir);
  }
  return dirs;
}

std::map<std::string, std::string> BuildJobEnvironment(std::map<std::string, std::string> base,
                                                       const JobContext& context) {
  std::map<std::string, std::string> env = std::move(base);
  if (!context.path_prefix.empty()) {
    std::string path;
    for (const fs::path& dir : context.path_prefix) {
      if (!path.empty()) path += ':';
      path += dir.string();
    }
    auto old = env.find("PATH");
    std::string rest = old != env.end() ? old->second : "/usr/local/bin:/usr/bin:/bin";
    env["PATH"] = rest.empty() ? path : path + ":" + rest;
  }
  if (!context.python_sdk_dir.empty()) {
    auto old = env.find("PYTHONPATH");
    std::string value = context.python_sdk_dir.string();
    if (old != env.end() && !old->second.empty()) value += ":" + old->second;
    env["PYTHONPATH"] = value;
  }
  env["GANTRY_RUN_ID"] = context.run_id;
  env["AZUREML_RUN_ID"] = context.run_id;
  env["GANTRY_URL"] = context.server_url;
  env["GANTRY_RUN_TOKEN"] = context.token;
  if (!context.ca_file.empty()) env["GANTRY_CA_FILE"] = context.ca_file;
  env["GANTRY_EXPERIMENT_NAME"] = context.experiment_name;
  env["GANTRY_METRICS_FILE"] = context.metrics_file.string();
  env["GANTRY_OUTPUTS_DIR"] = context.outputs_dir.string();
  env.try_emplace("PYTHONUNBUFFERED", "1");
  for (const auto& [key, value] : context.user_variables) env[key] = value;
  return env;
}

}  // namespace gantry::runner
