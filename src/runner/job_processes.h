// JobProcesses: the processes of one job on this node, and everything that lives and dies with
// them: the single command's process group and output pump, or a distributed job's ranks (or
// mpirun) each in its own group with per-rank logs, MPI's named rank pipes, which process
// failed first, and the stopping of the job (why, SIGTERM, SIGKILL after the grace period,
// the parameter-server tasks after their chief, whatever was left behind).
//
// The rules applied on each pass of the runner's loop (Supervise): the first rank to fail on
// its own stops the others (kRankFailed); a signal to the runner, limits.timeout or the
// server ending the run stop the job; a job being stopped gets SIGKILL once the grace period
// is over; a parameter-server job is over once its chief ends well (its worker and ps tasks
// get SIGTERM, then SIGKILL). Processes start, are reaped and signalled through a
// ProcessLauncher and time comes from a RunnerClock, so these rules are unit-tested with
// fakes (job_processes_test.cc). Thread-compatible: the runner's thread (the pumps have their
// own threads).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "jobs/distribution.h"
#include "runner/distributed_launch.h"
#include "runner/job_outcome.h"
#include "runner/output_pump.h"
#include "runner/rank_logs.h"
#include "runner/runner_system.h"

namespace gantry::runner {

namespace fs = std::filesystem;

struct JobProcessesOptions {
  std::string run_name;  // for messages
  fs::path work_dir;     // the node's job folder (rank logs, ranks/, hostfile, rank.env)
  fs::path wd;           // the processes' working folder
  fs::path log_file;     // the merged std_log.txt
  std::string command;   // run with `bash -c`
  EnvironmentMap env;    // the job's environment
  jobs::DistributionPlan plan;
  int grace_seconds = 10;       // SIGTERM → SIGKILL
  int64_t timeout_seconds = 0;  // limits.timeout; 0: none
  // Multi-node jobs with one runner per node: the node count (0 or 1: none) and this rank.
  int node_count = 0;
  int node_rank = 0;
  // A container environment: the engine (docker, podman) and image; empty: none.
  fs::path container_engine;
  std::string container_image;
  fs::path python_sdk_dir;  // mounted read-only into a container
  fs::path mpirun;          // distribution type mpi
  ProcessLauncher* launcher = nullptr;
  RunnerClock* clock = nullptr;
};

// Where a multi-node job's nodes are, from their rendezvous.
struct NodeLayout {
  std::vector<std::string> hosts;  // every node's address, by node rank
  int base_port = 0;               // node 0's MASTER_PORT / first TensorFlow port
  std::string address;             // this node's
};

class JobProcesses {
 public:
  explicit JobProcesses(JobProcessesOptions options);
  ~JobProcesses();
  JobProcesses(const JobProcesses&) = delete;
  JobProcesses& operator=(const JobProcesses&) = delete;

  // MPI across nodes, before the node reports ready: this node's rank.env and rank pipes, so
  // that no rank can start before they exist.
  Status PrepareMpiNode();
  // Starts the job (`layout` only matters for a multi-node job). On failure whatever started
  // is killed.
  Status Launch(const NodeLayout& layout = {});
  // Kills whatever a failed launch (or a failed PrepareMpiNode) had started.
  void StopAfterFailedLaunch();

  // Reaps the processes. True once all have exited (a node whose MPI ranks another node's
  // mpirun started: once every rank pipe is at end-of-file).
  bool Poll();
  // One pass of the rules (see above) at `now`; `runner_signal` is the signal the runner got
  // (0: none), `server_ended` that the server no longer wants the run.
  void Supervise(int64_t now, int runner_signal, bool server_ended);
  // Stops the job: SIGTERM to every group now, SIGKILL after the grace period.
  void BeginKill(KillReason reason);
  // A cancel request: stops the job when it runs and is not being stopped already.
  void OnCancel();
  // SIGKILL to every group and to whatever the job left below the runner.
  void KillAll();
  // After the job: removes a container, reads each pump to end-of-file for up to
  // `drain_ms` (processes outside the job's groups may hold its pipes), stops the pumps and
  // flushes the rank logs. False when some output was still held open.
  bool Drain(int drain_ms);

  // What the outcome needs (job_outcome.h): exit, kill reason, runner signal, timeout, and
  // for a failure the failed rank's text or the command's stderr tail. `peer_failure` and its
  // exit code: another node's failure, which explains this node's stopped MPI ranks.
  void DescribeEnding(JobEnding* ending, const std::string& peer_failure,
                      std::optional<int> peer_exit_code) const;

  bool distributed() const { return options_.plan.distributed(); }
  // The job's first process group; -1 before launch or when another node's mpirun starts
  // this node's ranks.
  pid_t pid() const { return pid_; }
  const std::optional<ExitInfo>& exit() const { return exit_; }
  bool succeeded() const {
    return exit_ && exit_->code == 0 && exit_->signal == 0 && kill_reason_ == KillReason::kNone;
  }
  KillReason kill_reason() const { return kill_reason_; }
  // This node's MPI ranks were stopped by mpirun (for another node's failure or a cancel),
  // not failed on their own.
  bool stopped_from_elsewhere() const { return stopped_from_elsewhere_; }
  // A distributed job's per-rank logs (null before they are opened) and the ranks on this
  // node.
  RankLogs* rank_logs() const { return rank_logs_.get(); }
  std::vector<int64_t> LocalRanks() const;

 private:
  struct Process {
    int64_t rank = 0;  // RankLogs::kLauncher for mpirun
    pid_t pid = -1;
    std::unique_ptr<OutputPump> pump;
    std::optional<ExitInfo> exit;
  };

  bool multi_node() const { return options_.node_count > 1; }
  bool leader() const { return !multi_node() || options_.node_rank == 0; }
  bool RunsHere(int64_t rank) const;
  std::string RankName(int64_t rank) const;
  std::string ContainerName() const { return "gantry-" + options_.run_name; }
  Result<std::vector<std::string>> ContainerCommand();
  Status LaunchSingle();
  Status LaunchDistributed(const NodeLayout& layout);
  Status LaunchMpiAcrossNodes(const NodeLayout& layout, const std::string& shell);
  MpiCommandOptions BaseMpiOptions(const std::string& shell) const;
  Status StartProcess(const std::vector<std::string>& argv, const EnvironmentMap& env,
                      int64_t rank);
  Result<std::unique_ptr<OutputPump>> StartRankPump(int out, int err, int64_t rank,
                                                    std::vector<int> also_close = {});
  Status OpenRankLogs();
  Status OpenMpiRankPipes();
  void ReleaseMpiRankPipes();
  void SignalAll(int sig);
  void KillLeftovers();
  bool PollMpiRanksOfThisNode();
  bool StoppedServer(int64_t rank) const { return servers_stopped_ && rank != 0; }
  void StopServersAfterChief(int64_t now);
  std::string DistributedError(int* exit_code, const std::string& peer_failure,
                               std::optional<int> peer_exit_code) const;

  JobProcessesOptions options_;
  ProcessLauncher& launcher_;
  RunnerClock& clock_;

  // A single-process job.
  pid_t pid_ = -1;
  std::unique_ptr<OutputPump> pump_;
  // A distributed job: the processes waited for (its ranks, or mpirun), their logs, and for
  // MPI the pumps of the ranks' named pipes.
  std::vector<Process> procs_;
  std::vector<std::unique_ptr<OutputPump>> rank_pumps_;
  std::unique_ptr<RankLogs> rank_logs_;
  fs::path rank_dir_;
  const Process* failed_ = nullptr;  // the first process that failed on its own
  bool servers_stopped_ = false;     // a parameter-server job's chief ended: tasks stopped
  bool servers_killed_ = false;
  int64_t servers_kill_at_ms_ = 0;
  bool stopped_from_elsewhere_ = false;

  std::optional<ExitInfo> exit_;
  int64_t started_ms_ = 0;
  KillReason kill_reason_ = KillReason::kNone;
  int runner_signal_ = 0;
  int64_t sigkill_at_ms_ = 0;
  bool sigkill_sent_ = false;
};

}  // namespace gantry::runner
