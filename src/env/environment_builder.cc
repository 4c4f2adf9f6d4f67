#include "env/environment_builder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/process.h"
#include "env/python_env_plan.h"

namespace gantry::env {
namespace {

// Runs a command, feeding its output to `log` line by line; keeps the last 4000 bytes.
Result<CommandOutput> RunLogged(const std::vector<std::string>& argv,
                                const std::function<void(const std::string&)>& log) {
  return RunCommand(argv, {}, log, 4000);
}

Status CheckModules(const fs::path& python, const Json& modules, const std::string& env_name,
                    const std::function<void(const std::string&)>& log) {
  for (const auto& m : modules) {
    std::string module = m.get<std::string>();
    ASSIGN_OR_RETURN(CommandOutput r,
                     RunLogged({python.string(), "-c", "import " + module}, nullptr));
    if (r.code != 0) {
      return FailedPreconditionError("environment '" + env_name + "' needs the python module '" +
                                     module + "' in " + python.string() +
                                     ", which cannot import it (on Debian: apt-get install "
                                     "python3-" +
                                     module + "):\n" + r.text);
    }
    if (log) log("found python module " + module);
  }
  return Status::Ok();
}

// Holds an exclusive lock on a file until destroyed.
class FileLock {
 public:
  static Result<FileLock> Acquire(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Err(InternalError("cannot open lock " + path.string()));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        return Err(InternalError("cannot lock " + path.string()));
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// "3.11.2": the version `python` reports, or "" when it cannot say.
std::string PythonVersion(const fs::path& python) {
  auto r = RunCommand({python.string(), "-c", "import platform; print(platform.python_version())"},
                      {}, nullptr, 200);
  if (!r.has_value() || r->code != 0) return "";
  std::string v = r->text;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

}  // namespace

Result<BuiltEnvironment> BuildEnvironment(const Json& environment,
                                          const EnvironmentBuildOptions& options) {
  const Json spec = environment.value("spec", Json::object());
  const std::string name =
      environment.value("name", "") + ":" + std::to_string(environment.value("version", 0));
  const std::string hash = environment.value("hash", "");
  const auto& log = options.log;
  BuiltEnvironment built;
  const Json variables = spec.value("environment_variables", Json::object());
  for (const auto& [k, v] : variables.items()) {
    built.variables[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  const Json python = spec.value("python", Json::object());
  const Json docker = spec.value("docker", Json::object());

  std::string image = docker.value("base_image", "");
  bool dockerfile = !docker.value("base_dockerfile", "").empty();
  if (!image.empty() || dockerfile || docker.value("enabled", false)) {
    auto engine = FindExecutable({"docker", "podman"}, options.path_env);
    bool answers = false;
    if (engine) {
      auto info = RunLogged({engine->string(), "info"}, nullptr);
      answers = info.has_value() && info->code == 0;
    }
    if (!answers) {
      return Err(FailedPreconditionError(
          "environment '" + name + "' runs in a container (" +
          (image.empty() ? std::string("a Dockerfile") : "image '" + image + "'") +
          ") and needs a container engine: neither docker nor podman answers on this node"));
    }
    built.container_engine = *engine;
    if (hash.empty()) return Err(InvalidArgumentError("environment '" + name + "' has no hash"));
    RETURN_IF_ERROR(MakeDirs(options.cache_root));
    ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(options.cache_root / (hash + ".lock")));
    fs::path dir = options.cache_root / hash;
    fs::path ready = dir / ".gantry-ready";
    std::error_code ec;
    if (dockerfile) {
      built.container_image = "gantry-env:" + hash.substr(0, 16);
    } else {
      built.container_image = image;
    }
    if (fs::exists(ready, ec)) {
      built.cached = true;
      if (log) log("environment " + name + ": using the cached image " + built.container_image);
      return built;
    }
    RETURN_IF_ERROR(MakeDirs(dir));
    std::vector<std::string> argv;
    if (dockerfile) {
      RETURN_IF_ERROR(WriteFileAtomic(dir / "Dockerfile", docker.value("base_dockerfile", "")));
      argv = {engine->string(), "build", "-t", built.container_image, dir.string()};
    } else {
      argv = {engine->string(), "pull", image};
    }
    if (log)
      log("environment " + name + ": " + (dockerfile ? "building " : "pulling ") +
          built.container_image + " with " + engine->filename().string());
    ASSIGN_OR_RETURN(CommandOutput r, RunLogged(argv, log));
    if (r.code != 0) {
      return Err(FailedPreconditionError(
          "environment '" + name + "': " + engine->filename().string() + " could not " +
          (dockerfile ? "build" : "pull") + " " + built.container_image + ":\n" + r.text));
    }
    RETURN_IF_ERROR(WriteFileAtomic(ready, hash + "\n"));
    return built;
  }

  const std::string interpreter_name = python.value("interpreter_path", "python3");
  PythonEnvNode node;
  node.interpreter = FindExecutable({interpreter_name}, options.path_env);
  node.interpreter_version = [&] {
    return node.interpreter ? PythonVersion(*node.interpreter) : "";
  };
  node.conda_tool = FindExecutable({"micromamba", "mamba", "conda"}, options.path_env);
  node.find_python = [&](const std::string& version) -> std::optional<fs::path> {
    // Only one that runs and is that version (a pyenv shim for a Python not installed is not).
    auto found = FindExecutable({"python" + version}, options.path_env);
    std::string v = found ? PythonVersion(*found) : "";
    if (v != version && v.rfind(version + ".", 0) != 0) return std::nullopt;
    return found;
  };
  ASSIGN_OR_RETURN(PythonEnvPlan plan, PlanPythonEnvironment(name, spec, node));

  // Built once per node into cache_root/KEY, whoever asks first (runs and deployments alike);
  // an interpreter used as it is only has its required modules checked once there.
  const std::string key = BuildKey(spec);
  RETURN_IF_ERROR(MakeDirs(options.cache_root));
  fs::path dir = options.cache_root / key;
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(options.cache_root / (key + ".lock")));
  fs::path ready = dir / ".gantry-ready";
  built.interpreter =
      plan.kind == PythonEnvPlan::Kind::kInterpreter ? plan.interpreter : dir / "bin" / "python";
  std::error_code ec;
  if (fs::exists(ready, ec)) {
    built.cached = true;
    if (log) log("environment " + name + ": using the cached build " + key.substr(0, 12));
    return built;
  }
  if (log) {
    log("environment " + name + ": building " + key.substr(0, 12) + " ...");
    for (const auto& note : plan.notes) log("environment " + name + ": " + note);
  }
  fs::remove_all(dir, ec);
  RETURN_IF_ERROR(MakeDirs(dir));
  if (plan.kind == PythonEnvPlan::Kind::kConda) {
    // JSON is valid YAML, so the spec can be handed to conda as it is.
    std::string file_path = dir.string() + ".yml";
    RETURN_IF_ERROR(WriteFileAtomic(file_path, plan.conda_file.dump(2)));
    std::string tool = plan.conda_tool.filename().string();
    // micromamba/mamba: `create -y -p DIR -f FILE`; conda: `env create -p DIR -f FILE`.
    std::vector<std::string> argv =
        tool == "conda"
            ? std::vector<std::string>{plan.conda_tool.string(),
                                       "env",
                                       "create",
                                       "-p",
                                       dir.string(),
                                       "-f",
                                       file_path}
            : std::vector<std::string>{
                  plan.conda_tool.string(), "create", "-y", "-p", dir.string(), "-f", file_path};
    ASSIGN_OR_RETURN(CommandOutput r, RunLogged(argv, log));
    if (r.code != 0) {
      return Err(InternalError("building environment '" + name + "' with " + tool + " failed:\n" +
                               r.text));
    }
  } else if (plan.kind == PythonEnvPlan::Kind::kVenv) {
    ASSIGN_OR_RETURN(CommandOutput made, RunLogged({plan.interpreter.string(), "-m", "venv",
                                                    "--system-site-packages", dir.string()},
                                                   log));
    if (made.code != 0) {
      return Err(FailedPreconditionError(
          "environment '" + name +
          "' needs python's venv module "
          "for " +
          plan.interpreter.string() + " (on Debian: apt-get install python3-venv):\n" + made.text));
    }
    if (!plan.pip.empty()) {
      // From the configured index (pip's own configuration: PyPI unless PIP_INDEX_URL or
      // pip.conf say otherwise), through pip's cache, which every build shares.
      std::vector<std::string> argv = {built.interpreter.string(), "-m", "pip", "install",
                                       "--disable-pip-version-check"};
      if (const char* index = std::getenv("GANTRY_PIP_INDEX_URL"); index && *index) {
        argv.insert(argv.end(), {"--index-url", index});
      }
      if (const char* links = std::getenv("GANTRY_PIP_FIND_LINKS"); links && *links) {
        argv.insert(argv.end(), {"--no-index", "--find-links", links});
      }
      argv.insert(argv.end(), plan.pip.begin(), plan.pip.end());
      ASSIGN_OR_RETURN(CommandOutput r, RunLogged(argv, log));
      if (r.code != 0) {
        std::string summary = PipFailureSummary(r.text, PythonVersion(built.interpreter));
        return Err(FailedPreconditionError(
            "installing the pip packages of environment '" + name + "' failed" +
            (summary.empty() ? std::string() : ": " + summary) + ":\n" + r.text));
      }
    }
  }
  RETURN_IF_ERROR(
      CheckModules(built.interpreter, spec.value("requires_modules", Json::array()), name, log));
  RETURN_IF_ERROR(WriteFileAtomic(ready, hash + "\n"));
  if (log) log("environment " + name + ": ready");
  return built;
}

}  // namespace gantry::env
