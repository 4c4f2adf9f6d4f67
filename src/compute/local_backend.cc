#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <vector>

#include "common/logging.h"
#include "common/process.h"
#include "compute/compute_backend.h"

namespace gantry::compute {
namespace {

class LocalBackend : public ComputeBackend {
 public:
  explicit LocalBackend(LocalBackendOptions options) : options_(std::move(options)) {
    if (options_.executable.empty()) options_.executable = SelfExecutable();
  }

  Result<LaunchHandle> Submit(const LaunchRequest& request) override {
    RETURN_IF_ERROR(MakeDirs(request.work_dir));
    fs::path log = request.work_dir / "runner.log";
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Err(InternalError("cannot create " + log.string()));
    SpawnOptions spawn;
    spawn.argv = {options_.executable.string(),
                  "runner",
                  "--server",
                  request.server_url,
                  "--run",
                  request.run_name,
                  "--work-dir",
                  request.work_dir.string()};
    if (!request.ca_file.empty()) {
      spawn.argv.insert(spawn.argv.end(), {"--ca-file", request.ca_file});
    }
    spawn.env = CurrentEnvironment();
    for (const auto& [k, v] : request.env) spawn.env[k] = v;
    spawn.env["GANTRY_RUN_TOKEN"] = request.token;
    spawn.new_session = true;
    spawn.stdout_fd = fd;
    spawn.stderr_fd = fd;
    auto pid = Spawn(spawn);
    ::close(fd);
    if (!pid.has_value()) return Err(pid.error());
    {
      std::lock_guard<std::mutex> lock(mu_);
      launched_.push_back(*pid);
    }
    return LaunchHandle{*pid, ""};
  }

  void Reap() override {
    std::lock_guard<std::mutex> lock(mu_);
    // TryWait reaps an exited child; a pid that is no longer our child (already reaped by
    // Poll) reads as exited too. Only our runners' pids are waited for: the server's other
    // children (model servers, builds) are reaped by their owners.
    std::erase_if(launched_, [](pid_t pid) { return TryWait(pid).has_value(); });
  }

  RunnerPoll Poll(const LaunchHandle& handle) override { return {PollPid(handle), ""}; }

  RunnerState PollPid(const LaunchHandle& handle) {
    if (handle.pid <= 0) return RunnerState::kGone;
    // Our own child: reap it so it does not linger as a zombie. A runner started by an
    // earlier server process is not our child (ECHILD) and is checked by pid.
    auto exited = TryWait(static_cast<pid_t>(handle.pid));
    if (exited.has_value()) {
      if (exited->code != -1) return RunnerState::kGone;
      return ProcessAlive(static_cast<pid_t>(handle.pid)) ? RunnerState::kRunning
                                                          : RunnerState::kGone;
    }
    return RunnerState::kRunning;
  }

  Status Kill(const LaunchHandle& handle, int64_t process_group) override {
    if (process_group > 1) RETURN_IF_ERROR(SignalGroup(static_cast<pid_t>(process_group), SIGKILL));
    if (handle.pid > 1) {
      RETURN_IF_ERROR(SignalGroup(static_cast<pid_t>(handle.pid), SIGKILL));
      // The runner leads its own session: a distributed job's ranks lead groups of their
      // own inside it (and MPI ranks groups below mpirun's), so the session finds them all.
      RETURN_IF_ERROR(SignalSession(static_cast<pid_t>(handle.pid), SIGKILL));
    }
    return Status::Ok();
  }

 private:
  LocalBackendOptions options_;
  std::mutex mu_;
  std::vector<pid_t> launched_;  // runners started by this process and not yet reaped
};

}  // namespace

std::unique_ptr<ComputeBackend> NewLocalBackend(const LocalBackendOptions& options) {
  return std::make_unique<LocalBackend>(options);
}

}  // namespace gantry::compute
