#include "runner/job_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <thread>
#include <utility>

#include "common/files.h"
#include "common/logging.h"

namespace gantry::runner {
namespace {

std::string Shell() { return ::access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh"; }

std::string ExitText(const ExitInfo& e) {
  return e.signal != 0 ? "was killed by signal " + std::to_string(e.signal) + " (" +
                             SignalName(e.signal) + ")"
                       : "exited with code " + std::to_string(e.code);
}

bool Failed(const ExitInfo& e) { return e.code != 0 || e.signal != 0; }

bool IsStoppedCode(int code) { return code == 128 + SIGTERM || code == 128 + SIGKILL; }

// Two pipes (stdout, stderr), close-on-exec; on failure none is left open.
Status MakePipes(int out[2], int err[2]) {
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return InternalError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return InternalError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

JobProcesses::JobProcesses(JobProcessesOptions options)
    : options_(std::move(options)),
      launcher_(options_.launcher ? *options_.launcher : *SystemLauncher()),
      clock_(options_.clock ? *options_.clock : *SystemClock()) {}

JobProcesses::~JobProcesses() {
  if (pump_) pump_->Stop();
  for (auto& p : procs_) {
    if (p.pump) p.pump->Stop();
  }
  for (auto& pump : rank_pumps_) pump->Stop();
}

// ---------------------------------------------------------------- starting

Status JobProcesses::Launch(const NodeLayout& layout) {
  Status s = distributed() ? LaunchDistributed(layout) : LaunchSingle();
  if (!s.ok() && distributed()) StopAfterFailedLaunch();
  return s;
}

Status JobProcesses::LaunchSingle() {
  std::vector<std::string> argv = {Shell(), "-c", options_.command};
  if (!options_.container_image.empty()) {
    ASSIGN_OR_RETURN(argv, ContainerCommand());
  }
  int out[2], err[2];
  RETURN_IF_ERROR(MakePipes(out, err));
  Result<std::unique_ptr<OutputPump>> pump =
      OutputPump::Start({.stdout_fd = out[0], .stderr_fd = err[0], .log_file = options_.log_file});
  if (!pump) {
    ::close(out[1]);
    ::close(err[1]);
    return pump.error();
  }
  pump_ = std::move(*pump);
  Result<pid_t> pid = launcher_.Spawn({.argv = argv,
                                       .env = options_.env,
                                       .cwd = options_.wd,
                                       .new_session = true,
                                       .stdout_fd = out[1],
                                       .stderr_fd = err[1]});
  // Only the child keeps write ends, so the pump sees end-of-file when the job is done.
  ::close(out[1]);
  ::close(err[1]);
  if (!pid) {
    pump_->Stop();
    return pid.error().WithPrefix("cannot start the command");
  }
  pid_ = *pid;
  started_ms_ = clock_.NowMs();
  GLOG(Info) << "run '" << options_.run_name << "': started process group " << pid_ << ": "
             << options_.command;
  return Status::Ok();
}

// `ENGINE run` for the command inside the environment's image: the run's folder mounted at
// the same path (working folder, inputs, metrics file), the SDK read-only, the host network
// (so GANTRY_URL works as on the host), the job's variables from a file.
Result<std::vector<std::string>> JobProcesses::ContainerCommand() {
  static const std::set<std::string> kHostOnly = {"PATH",  "HOME", "HOSTNAME", "PWD",
                                                  "SHLVL", "_",    "OLDPWD",   "TERM"};
  std::string env_file;
  for (const auto& [k, v] : options_.env) {
    if (kHostOnly.count(k) || v.find('\n') != std::string::npos) continue;
    env_file += k + "=" + v + "\n";
  }
  const fs::path& root = options_.work_dir;
  fs::path env_path = root / "container.env";
  RETURN_IF_ERROR(WriteFileAtomic(env_path, env_file));
  std::vector<std::string> argv = {options_.container_engine.string(),
                                   "run",
                                   "--rm",
                                   "--init",
                                   "--name",
                                   ContainerName(),
                                   "--network",
                                   "host",
                                   "-v",
                                   root.string() + ":" + root.string(),
                                   "-w",
                                   options_.wd.string(),
                                   "--env-file",
                                   env_path.string()};
  if (!options_.python_sdk_dir.empty()) {
    std::error_code ec;
    std::string sdk = fs::absolute(options_.python_sdk_dir, ec).string();
    argv.insert(argv.end(), {"-v", sdk + ":" + sdk + ":ro"});
  }
  if (auto gpus = options_.env.find("CUDA_VISIBLE_DEVICES");
      gpus != options_.env.end() && !gpus->second.empty() &&
      options_.container_engine.filename() == "docker") {
    argv.insert(argv.end(), {"--gpus", "\"device=" + gpus->second + "\""});
  }
  argv.insert(argv.end(), {options_.container_image, "sh", "-c", options_.command});
  return argv;
}

// Every process the runner waits for (the ranks, or mpirun) leads its own process group
// inside the runner's session: each is signalled as a group, and whatever escapes its group
// (MPI ranks do) is still found through the session when the job is over.
Status JobProcesses::StartProcess(const std::vector<std::string>& argv, const EnvironmentMap& env,
                                  int64_t rank) {
  int out[2], err[2];
  RETURN_IF_ERROR(MakePipes(out, err));
  Process proc;
  proc.rank = rank;
  ASSIGN_OR_RETURN(proc.pump, StartRankPump(out[0], err[0], rank, {out[1], err[1]}));
  Result<pid_t> pid = launcher_.Spawn({.argv = argv,
                                       .env = env,
                                       .cwd = options_.wd,
                                       .new_session = false,
                                       .new_process_group = true,
                                       .stdout_fd = out[1],
                                       .stderr_fd = err[1]});
  ::close(out[1]);
  ::close(err[1]);
  if (!pid) {
    proc.pump->Stop();
    return pid.error().WithPrefix("cannot start " + (rank == RankLogs::kLauncher
                                                         ? argv.front()
                                                         : "rank " + std::to_string(rank)));
  }
  proc.pid = *pid;
  procs_.push_back(std::move(proc));
  return Status::Ok();
}

Result<std::unique_ptr<OutputPump>> JobProcesses::StartRankPump(int out, int err, int64_t rank,
                                                                std::vector<int> also_close) {
  Result<std::unique_ptr<OutputPump>> pump = OutputPump::Start(
      {.stdout_fd = out,
       .stderr_fd = err,
       .log_file = options_.log_file,
       .on_output = [logs = rank_logs_.get(), rank](std::string_view chunk, bool is_stderr) {
         logs->Append(rank, is_stderr, chunk);
       }});
  if (!pump) {
    for (int fd : also_close) ::close(fd);
  }
  return pump;
}

Status JobProcesses::OpenRankLogs() {
  if (rank_logs_) return Status::Ok();
  ASSIGN_OR_RETURN(rank_logs_, RankLogs::Open({.merged_log = options_.log_file,
                                               .dir = options_.work_dir,
                                               .world_size = options_.plan.world_size(),
                                               .launcher_name = "mpirun"}));
  return Status::Ok();
}

std::vector<int64_t> JobProcesses::LocalRanks() const {
  std::vector<int64_t> ranks;
  for (int64_t r = 0; r < options_.plan.world_size(); ++r) {
    if (RunsHere(r)) ranks.push_back(r);
  }
  return ranks;
}

Status JobProcesses::PrepareMpiNode() {
  RETURN_IF_ERROR(OpenRankLogs());
  RETURN_IF_ERROR(
      WriteFileAtomic(options_.work_dir / "rank.env", RankEnvironmentFile(options_.env)));
  return OpenMpiRankPipes();
}

Status JobProcesses::LaunchDistributed(const NodeLayout& layout) {
  RETURN_IF_ERROR(OpenRankLogs());
  const jobs::DistributionPlan& plan = options_.plan;
  const std::string shell = Shell();
  if (plan.type == jobs::DistributionPlan::Type::kMpi && multi_node()) {
    RETURN_IF_ERROR(LaunchMpiAcrossNodes(layout, shell));
  } else if (plan.type == jobs::DistributionPlan::Type::kMpi) {
    RETURN_IF_ERROR(OpenMpiRankPipes());
    const fs::path host_file = options_.work_dir / "hostfile";
    RETURN_IF_ERROR(
        WriteFileAtomic(host_file, MergeHostFile(jobs::MpiHostFile(plan, LocalHosts(plan)))));
    MpiCommandOptions mpi = BaseMpiOptions(shell);
    mpi.host_file = host_file;
    for (const auto& [k, v] : options_.env) mpi.export_names.push_back(k);
    RETURN_IF_ERROR(StartProcess(MpiCommand(plan, mpi), options_.env, RankLogs::kLauncher));
  } else {
    const int ports = plan.type == jobs::DistributionPlan::Type::kTensorFlow
                          ? static_cast<int>(plan.world_size())
                          : 1;
    int base_port = layout.base_port;
    std::vector<std::string> hosts = layout.hosts;
    EnvironmentMap base = options_.env;
    if (!multi_node()) {
      ASSIGN_OR_RETURN(base_port, FindFreePorts(ports));
      hosts = LocalHosts(plan);
    } else if (std::string ifname = InterfaceOfAddress(layout.address); !ifname.empty()) {
      // Gloo and NCCL pick their interface from the hostname unless told; on nodes with
      // several networks that may not be the one the nodes share. Unless the job says
      // otherwise, they use the interface this node reaches the others on.
      for (const char* var : {"GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"}) {
        if (!base.count(var)) base[var] = ifname;
      }
    }
    for (const jobs::ProcessSlot& slot : jobs::Processes(plan)) {
      if (multi_node() && slot.node_rank != options_.node_rank) continue;
      EnvironmentMap env = base;
      for (auto& [k, v] : jobs::ProcessEnvironment(plan, slot, hosts, base_port)) env[k] = v;
      RETURN_IF_ERROR(StartProcess({shell, "-c", options_.command}, env, slot.rank));
    }
  }
  pid_ = procs_.empty() ? -1 : procs_.front().pid;  // -1: another node's mpirun starts ours
  started_ms_ = clock_.NowMs();
  std::string groups;
  for (const auto& p : procs_) groups += (groups.empty() ? "" : " ") + std::to_string(p.pid);
  GLOG(Info) << "run '" << options_.run_name << "': started process group(s) " << groups << ": "
             << options_.command;
  return Status::Ok();
}

// MPI with one runner per node: every node writes rank.env (its job environment) and makes
// its ranks' pipes; node 0 runs mpirun, which starts every node's ranks through the batch
// system (inside a Slurm job it launches its daemons with srun, overlapping the runners'
// step), each in its node's folder (MpiCommandOptions::node_dir_template). The other nodes
// start nothing: they read their ranks' pipes until the ranks are gone.
Status JobProcesses::LaunchMpiAcrossNodes(const NodeLayout& layout, const std::string& shell) {
  if (rank_dir_.empty()) RETURN_IF_ERROR(PrepareMpiNode());
  if (!leader()) return Status::Ok();
  EnvironmentMap env = options_.env;
  const bool in_slurm = env.count("SLURM_JOB_ID") > 0;
  fs::path host_file;
  if (in_slurm) {
    env["SLURM_OVERLAP"] = "1";  // mpirun's srun steps share the nodes with the runners'
  } else {
    host_file = options_.work_dir / "hostfile";
    RETURN_IF_ERROR(
        WriteFileAtomic(host_file, MergeHostFile(jobs::MpiHostFile(options_.plan, layout.hosts))));
  }
  MpiCommandOptions mpi = BaseMpiOptions(shell);
  mpi.host_file = host_file;
  mpi.in_allocation = in_slurm;
  mpi.node_dir_template = options_.work_dir.parent_path().string() + "/node_@NODE@";
  mpi.leader_node_dir = options_.work_dir;
  return StartProcess(MpiCommand(options_.plan, mpi), env, RankLogs::kLauncher);
}

MpiCommandOptions JobProcesses::BaseMpiOptions(const std::string& shell) const {
  const unsigned cpus = std::thread::hardware_concurrency();
  MpiCommandOptions mpi;
  mpi.mpirun = options_.mpirun;
  mpi.rank_dir = rank_dir_;
  mpi.shell = shell;
  mpi.command = options_.command;
  mpi.as_root = ::geteuid() == 0;
  mpi.cpus = cpus > 0 ? static_cast<int>(cpus) : 1;
  return mpi;
}

// Makes the named pipes mpirun's ranks write to and starts a pump on each rank's pair. They
// are opened without blocking (no writer yet); a reader sees end-of-file once a writer came
// and went (see ReleaseMpiRankPipes).
Status JobProcesses::OpenMpiRankPipes() {
  rank_dir_ = options_.work_dir / "ranks";
  RETURN_IF_ERROR(MakeDirs(rank_dir_));
  for (int64_t r = 0; r < options_.plan.world_size(); ++r) {
    if (!RunsHere(r)) continue;
    int fds[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
      fs::path pipe = MpiRankPipe(rank_dir_, r, i == 1);
      if (::mkfifo(pipe.c_str(), 0600) != 0 ||
          (fds[i] = ::open(pipe.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        std::string error = std::strerror(errno);
        if (i == 1) ::close(fds[0]);
        return InternalError("cannot make the pipe " + pipe.string() + ": " + error);
      }
      // The pump reads only when poll says so; blocking reads keep it simple.
      ::fcntl(fds[i], F_SETFL, ::fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
    }
    ASSIGN_OR_RETURN(auto pump, StartRankPump(fds[0], fds[1], r));
    rank_pumps_.push_back(std::move(pump));
  }
  return Status::Ok();
}

// Opens and closes each rank pipe as a writer, so that a reader whose writer never came (a
// rank mpirun did not start) or is gone sees end-of-file instead of waiting.
void JobProcesses::ReleaseMpiRankPipes() {
  if (rank_dir_.empty()) return;
  for (int64_t r = 0; r < options_.plan.world_size(); ++r) {
    for (bool is_stderr : {false, true}) {
      int fd =
          ::open(MpiRankPipe(rank_dir_, r, is_stderr).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) ::close(fd);
    }
  }
}

// ---------------------------------------------------------------- stopping

void JobProcesses::SignalAll(int sig) {
  if (!distributed()) {
    // It may have exited already; nothing else to do then.
    if (pid_ > 0) (void)launcher_.SignalGroup(pid_, sig);
    return;
  }
  for (const auto& p : procs_) {
    // It may have exited already; nothing else to do then.
    if (p.pid > 0) (void)launcher_.SignalGroup(p.pid, sig);
  }
  // What left its group (mpirun's ranks lead groups of their own) but not the session.
  if (sig == SIGKILL) launcher_.SignalOwnSession(sig);
}

// The runner is a child subreaper (RunJob), so a process that daemonised itself out of the
// job's group and session (setsid, a double fork) was handed to the runner when its parent
// exited, and is found here as a child.
void JobProcesses::KillLeftovers() {
  if (int n = launcher_.KillDescendants(); n > 0) {
    GLOG(Info) << "run '" << options_.run_name << "': killed " << n
               << " process(es) the job left behind";
  }
}

void JobProcesses::StopAfterFailedLaunch() {
  SignalAll(SIGKILL);
  for (auto& p : procs_) {
    if (p.pid > 0 && !p.exit) p.exit = launcher_.WaitFor(p.pid);
  }
  KillLeftovers();
  ReleaseMpiRankPipes();
  for (auto& p : procs_) p.pump->Stop();
  for (auto& pump : rank_pumps_) pump->Stop();
}

void JobProcesses::BeginKill(KillReason reason) {
  kill_reason_ = reason;
  SignalAll(SIGTERM);
  sigkill_at_ms_ = SigkillAtMs(clock_.NowMs(), options_.grace_seconds);
}

void JobProcesses::OnCancel() {
  if (pid_ > 0 && !exit_ && kill_reason_ == KillReason::kNone) BeginKill(KillReason::kCancel);
}

void JobProcesses::KillAll() {
  SignalAll(SIGKILL);
  KillLeftovers();
}

// ---------------------------------------------------------------- while it runs

bool JobProcesses::Poll() {
  if (!distributed()) {
    if (pid_ > 0 && !exit_) exit_ = launcher_.TryWait(pid_);
    return exit_.has_value();
  }
  if (procs_.empty()) return PollMpiRanksOfThisNode();
  bool all = true;
  for (auto& p : procs_) {
    if (!p.exit) p.exit = launcher_.TryWait(p.pid);
    if (!p.exit) {
      all = false;
      continue;
    }
    const bool failed = Failed(*p.exit) && !StoppedServer(p.rank);
    if (failed && !failed_ && kill_reason_ == KillReason::kNone) failed_ = &p;
  }
  if (all) {
    // The job's exit: the failure's, else success.
    exit_ = failed_ != nullptr ? *failed_->exit : ExitInfo{};
    if (failed_ == nullptr) {
      for (const auto& p : procs_) {
        if (Failed(*p.exit) && !StoppedServer(p.rank)) {
          exit_ = *p.exit;
          break;
        }
      }
    }
  }
  return all;
}

// A node whose MPI ranks another node's mpirun started: they are over once every pipe of
// theirs is at end-of-file; the job's exit is the first failure among their exit files.
bool JobProcesses::PollMpiRanksOfThisNode() {
  for (auto& pump : rank_pumps_) {
    if (!pump->WaitForEof(0)) return false;
  }
  std::optional<MpiRankExit> failure =
      FirstMpiFailure(ReadMpiExits(rank_dir_, options_.plan.world_size()));
  exit_ = ExitInfo{};
  // Ranks stopped by SIGTERM/SIGKILL were stopped by mpirun for another node's failure or a
  // cancel: this node then reports "stopped", not a failure of its own.
  if (failure) {
    exit_->code = failure->code;
    if (IsStoppedCode(failure->code)) stopped_from_elsewhere_ = true;
  } else {
    for (const jobs::ProcessSlot& slot : jobs::Processes(options_.plan)) {
      if (slot.node_rank != options_.node_rank) continue;
      if (!fs::exists(MpiRankExitFile(rank_dir_, slot.rank))) {
        exit_->code = 128 + SIGKILL;  // killed before it could record its exit
        stopped_from_elsewhere_ = true;
        break;
      }
    }
  }
  return true;
}

void JobProcesses::Supervise(int64_t now, int runner_signal, bool server_ended) {
  StopServersAfterChief(now);
  if (failed_ != nullptr && kill_reason_ == KillReason::kNone) {
    GLOG(Warning) << "run '" << options_.run_name << "': " << RankName(failed_->rank) << " "
                  << ExitText(*failed_->exit) << "; stopping the other ranks";
    BeginKill(KillReason::kRankFailed);
  }
  if (runner_signal != 0 && kill_reason_ == KillReason::kNone) {
    GLOG(Warning) << "the runner got signal " << runner_signal << " (" << SignalName(runner_signal)
                  << "); stopping the job";
    runner_signal_ = runner_signal;
    BeginKill(KillReason::kRunnerSignal);
  }
  if (kill_reason_ == KillReason::kNone && TimedOut(now, started_ms_, options_.timeout_seconds)) {
    GLOG(Warning) << "run '" << options_.run_name << "' exceeded limits.timeout ("
                  << options_.timeout_seconds << " s); stopping it";
    BeginKill(KillReason::kTimeout);
  }
  if (server_ended && kill_reason_ == KillReason::kNone) BeginKill(KillReason::kServerEnded);
  if (kill_reason_ != KillReason::kNone && !sigkill_sent_ && now >= sigkill_at_ms_) {
    GLOG(Warning) << "process group " << pid_ << " outlived its grace period; killing it";
    SignalAll(SIGKILL);
    sigkill_sent_ = true;
  }
}

// A parameter-server job is over once its chief ends well: its worker and ps tasks serve
// until stopped, so they get SIGTERM, then SIGKILL after the grace period.
void JobProcesses::StopServersAfterChief(int64_t now) {
  if (!servers_stopped_ && jobs::EndsWithChief(options_.plan) &&
      kill_reason_ == KillReason::kNone) {
    for (const auto& chief : procs_) {
      if (chief.rank != 0 || !chief.exit || Failed(*chief.exit)) continue;
      GLOG(Info) << "run '" << options_.run_name
                 << "': the chief ended; stopping the worker and parameter-server tasks";
      servers_stopped_ = true;
      servers_kill_at_ms_ = SigkillAtMs(now, options_.grace_seconds);
      for (const auto& p : procs_) {
        // It may have exited already; nothing else to do then.
        if (p.rank != 0 && !p.exit && p.pid > 0) (void)launcher_.SignalGroup(p.pid, SIGTERM);
      }
    }
  }
  if (servers_stopped_ && !servers_killed_ && now >= servers_kill_at_ms_) {
    servers_killed_ = true;
    for (const auto& p : procs_) {
      // It may have exited already; nothing else to do then.
      if (p.rank != 0 && !p.exit && p.pid > 0) (void)launcher_.SignalGroup(p.pid, SIGKILL);
    }
  }
}

// ---------------------------------------------------------------- after it

bool JobProcesses::Drain(int drain_ms) {
  if (!distributed()) {
    if (!options_.container_image.empty()) {
      // A killed engine client may leave its container running.
      SpawnOptions rm;
      rm.argv = {options_.container_engine.string(), "rm", "-f", ContainerName()};
      if (auto p = launcher_.Spawn(rm); p.has_value()) launcher_.WaitFor(*p);
    }
    if (!pump_) return true;
    const bool drained = pump_->WaitForEof(drain_ms);
    if (!drained) {
      GLOG(Warning) << "a process outside the job's process group still holds its output; "
                       "closing the job's log";
    }
    pump_->Stop();
    return drained;
  }
  ReleaseMpiRankPipes();
  const int64_t deadline = clock_.NowMs() + drain_ms;
  bool drained = true;
  auto drain = [&](OutputPump& pump) {
    drained &= pump.WaitForEof(static_cast<int>(std::max<int64_t>(deadline - clock_.NowMs(), 0)));
    pump.Stop();
  };
  for (auto& p : procs_) drain(*p.pump);
  for (auto& pump : rank_pumps_) drain(*pump);
  if (!drained) {
    GLOG(Warning) << "a process outside the job's process groups still holds a rank's output; "
                     "closing the job's logs";
  }
  if (rank_logs_) rank_logs_->Flush();
  return drained;
}

bool JobProcesses::RunsHere(int64_t rank) const {
  if (!multi_node()) return true;
  for (const jobs::ProcessSlot& slot : jobs::Processes(options_.plan)) {
    if (slot.rank == rank) return slot.node_rank == options_.node_rank;
  }
  return false;
}

// "rank 2 (node 1)".
std::string JobProcesses::RankName(int64_t rank) const {
  if (rank == RankLogs::kLauncher) return "mpirun";
  const jobs::DistributionPlan& plan = options_.plan;
  if (multi_node()) {
    for (const jobs::ProcessSlot& slot : jobs::Processes(plan)) {
      if (slot.rank == rank) {
        return "rank " + std::to_string(rank) + " (node " + std::to_string(slot.node_rank) + ")";
      }
    }
  }
  const int64_t per_node = plan.type == jobs::DistributionPlan::Type::kTensorFlow
                               ? 0
                               : std::max<int64_t>(plan.processes_per_instance, 1);
  int64_t node = per_node > 0 ? rank / per_node : rank % std::max<int64_t>(plan.instance_count, 1);
  return "rank " + std::to_string(rank) + " (node " + std::to_string(node) + ")";
}

// The error of a distributed job that failed on its own (not stopped by the runner). Sets
// *exit_code to the failed rank's code.
std::string JobProcesses::DistributedError(int* exit_code, const std::string& peer_failure,
                                           std::optional<int> peer_exit_code) const {
  auto with_tail = [](std::string text, const std::string& tail) {
    return tail.empty() ? text : text + ":\n" + tail;
  };
  if (options_.plan.type == jobs::DistributionPlan::Type::kMpi) {
    std::optional<MpiRankExit> failure =
        FirstMpiFailure(ReadMpiExits(rank_dir_, options_.plan.world_size()));
    // Across nodes: a rank of another node that failed on its own explains this node's
    // stopped ranks better than they do.
    if (multi_node() && !peer_failure.empty() && (!failure || IsStoppedCode(failure->code))) {
      *exit_code = peer_exit_code.value_or(exit_->code);
      return peer_failure;
    }
    if (failure) {
      *exit_code = failure->code;
      return with_tail(RankName(failure->rank) + " exited with code " +
                           std::to_string(failure->code) +
                           " under mpirun; mpirun stopped the others",
                       rank_logs_->StderrText(failure->rank));
    }
    return with_tail("mpirun " + ExitText(*exit_), rank_logs_->StderrText(RankLogs::kLauncher));
  }
  const Process* failed = failed_;
  if (failed == nullptr) {
    for (const auto& p : procs_) {
      if (p.exit && Failed(*p.exit)) {
        failed = &p;
        break;
      }
    }
  }
  if (failed == nullptr) return "the job failed";
  *exit_code = failed->exit->code;
  std::string text = RankName(failed->rank) + " " + ExitText(*failed->exit);
  if (procs_.size() > 1) text += "; the other ranks were stopped";
  return with_tail(text, rank_logs_->StderrText(failed->rank));
}

void JobProcesses::DescribeEnding(JobEnding* e, const std::string& peer_failure,
                                  std::optional<int> peer_exit_code) const {
  e->exit = exit_.value_or(ExitInfo{});
  e->kill_reason = kill_reason_;
  e->timeout_seconds = options_.timeout_seconds;
  e->runner_signal = runner_signal_;
  if (!Failed(e->exit)) return;
  if (distributed()) {
    int rank_code = e->exit.code;
    e->distributed_error = DistributedError(&rank_code, peer_failure, peer_exit_code);
    e->distributed_exit_code = rank_code;
  } else if (pump_) {
    e->stderr_tail = pump_->StderrText();
  }
}

}  // namespace gantry::runner
