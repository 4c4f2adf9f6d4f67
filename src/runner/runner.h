// The job runner: runs one job's command on this node for the workspace server and reports
// everything back over REST. `gantry runner --server URL --run NAME --work-dir DIR` calls
// RunJob; every compute backend launches that same command, so no other code runs user code.
//
// RunJob, for a run the server has moved to Preparing:
//   1. fetches the run, downloads its code snapshot into work_dir/wd and its input trees into
//      work_dir/inputs/NAME, creates wd/outputs/NAME for each output and wd/logs, and fills
//      in ${{inputs.X}} / ${{outputs.X}} in the command;
//   2. resolves the environment (see job_environment.h), reports Starting, starts
//      `bash -c COMMAND` in its own process group with the GANTRY_* variables set, and
//      reports Running with the process group;
//   3. while it runs: copies its stdout+stderr into work_dir/std_log.txt (on a pump thread)
//      and ships that to the run's std_log.txt stream, relays SDK metrics and tags from
//      work_dir/metrics.jsonl, heartbeats (stopping the job on a cancel request), enforces
//      limits.timeout, and uploads wd/logs/ every few seconds;
//   4. when it ends: kills what is left of its process group, ships the rest, reports
//      Finalizing, uploads wd/outputs/ and wd/logs/, and reports Completed, Failed (with the
//      exit code and the last stderr lines) or Canceled.
// A distributed job (resources.instance_count > 1 or a `distribution`, see
// jobs/distribution.h) runs every process of the job here, each instance being this machine
// (127.0.0.1): each rank is its own `bash -c COMMAND` in its own process group with its
// framework's variables (a free port for MASTER_PORT / the TensorFlow tasks), or, for
// `type: mpi`, one OpenMPI `mpirun` starts them (distributed_launch.h). Each rank's output
// goes to its own std_log_process_RANK.txt stream and, prefixed "[rank N] ", to std_log.txt
// (rank_logs.h). The first rank to fail makes the runner stop the others (SIGTERM, then
// SIGKILL after the grace) and fails the run naming it and quoting its stderr; cancel and
// timeout stop every group, and whatever is left in the runner's session is killed at the end.
// The runner is a child subreaper (PR_SET_CHILD_SUBREAPER), so a process that daemonises
// itself out of the job (setsid, a double fork) becomes its child and is killed when the run
// ends too, however it ends.
// A server that cannot be reached never stalls the job: data stays in local files, offsets
// stay put and calls are retried; the final reports are retried for server_wait_seconds.
//
// Multi-node jobs (node_count > 1, one runner per node): each runner prepares its node (the
// snapshot, inputs and environment: nothing is shared between nodes but the server), then
// the runners meet through the server (POST /runs/NAME/nodes/RANK, see docs/rest-api.md):
// each reports its address, node 0 also MASTER_PORT, and each waits until all nodes are
// ready. Each node then starts its own ranks (jobs::Processes on that node) with the others'
// addresses. Node 0 is the job's voice: it reports Starting, then Running once every node
// runs, waits for the other nodes to end, uploads outputs/ (only node 0's) and reports the
// final status, naming the rank and node that failed first. The other nodes report only
// their node state; they stop their ranks when another node fails or the run ends, and exit
// 0 once they have reported (so that Slurm does not kill node 0 before it reports). Every
// node ships its per-rank logs and its merged log as std_log_node_RANK.txt, which the server
// merges into std_log.txt; every rank's metrics go to the run.
//
// The code: RunJob's JobRun orders the steps; the state lives with its owners: JobFolder
// (the folder's layout, inputs, blob cache), ServerLink (reachability, the ordered reports,
// heartbeats, cancel), JobProcesses (the processes, their signals and drain), NodeGroup (the
// other nodes) and DecideOutcome (job_outcome.h: how the job ended).
//
// Thread-safety: RunJob runs one job and blocks until it is over; it installs handlers for
// SIGTERM/SIGINT/SIGHUP (the job is stopped and the run fails) and ignores SIGPIPE while it
// runs, so call it from a program's main thread, once at a time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "runner/runner_system.h"

namespace gantry::runner {

namespace fs = std::filesystem;

struct RunnerOptions {
  // Workspace server, e.g. "http://127.0.0.1:8765".
  std::string server_url;
  // The run to execute.
  std::string run_name;
  // Run-scoped bearer token (the CLI reads it from GANTRY_RUN_TOKEN).
  std::string token;
  // For an https:// server: the PEM CA file its certificate is verified with; also handed to
  // the job's scripts as GANTRY_CA_FILE. "": the system's CAs.
  std::string ca_file;
  // Private scratch folder for this run, created if missing (a multi-node job's runners use
  // its subfolder node_RANK, so the nodes may share it). The runner owns wd/, inputs/,
  // bin/, std_log.txt, metrics.jsonl and *.snapshot-cache in it and replaces them.
  fs::path work_dir;
  // Folder containing the `gantry` Python package, put first on the job's PYTHONPATH.
  // Empty: PYTHONPATH is left alone.
  fs::path python_sdk_dir;
  // SIGTERM → SIGKILL grace on cancel and timeout, in seconds.
  int grace_seconds = 10;
  // How long to keep retrying a server that cannot be reached before giving up: when
  // fetching the run and its files, and when delivering the final reports.
  int server_wait_seconds = 3600;
  // When the runner itself is signalled (SIGTERM/SIGINT/SIGHUP), stop the job, ship the log
  // and exit without a final status: a batch system that stopped it (Slurm's scancel or time
  // limit) reports the run's end through its backend instead. Default: report Failed.
  bool no_report_on_signal = false;
  // Multi-node jobs with one runner per node (Slurm starts one on each of the job's nodes):
  // the job's node count (it must equal resources.instance_count) and this node's rank.
  // node_count 0 or 1: this runner runs every instance of the job itself (local compute).
  int node_count = 0;
  int node_rank = 0;
  // This node's address for the other nodes (MASTER_ADDR, TF_CONFIG); empty: the address of
  // this machine's route to the server.
  std::string node_address;
  // How long the nodes of a multi-node job wait for each other before it fails.
  int rendezvous_seconds = 600;

  // The runner's seams (runner_system.h); null or nullopt: the real ones. Time and waiting,
  // the job's processes, and the environment the runner reads GANTRY_BLOB_CACHE,
  // GANTRY_ENV_CACHE and HOME from and the job's environment starts from (nullopt: this
  // process's, read when RunJob starts).
  RunnerClock* clock = nullptr;
  ProcessLauncher* launcher = nullptr;
  std::optional<EnvironmentMap> environment;
};

// Runs the job. Returns the exit code for `gantry runner`: 0 when the run ended Completed
// (and the server was told), 1 otherwise. Problems are reported to the server where it can be
// reached and logged to stderr.
int RunJob(const RunnerOptions& options);

}  // namespace gantry::runner
