// Distributed launch: what the runner needs, beyond jobs/distribution.h, to start a
// distributed job on local compute, where every instance of the job is this machine
// (address 127.0.0.1):
//   - free TCP ports for MASTER_PORT (PyTorch) and the TensorFlow tasks (base + rank);
//   - for `type: mpi`, the OpenMPI `mpirun` command line and its host file. Each rank runs
//     under a small bash wrapper that sends its stdout and stderr into per-rank named pipes
//     (RANK_DIR/stdout.N, RANK_DIR/stderr.N) that the runner reads like any rank's pipes,
//     sets GANTRY_RANK & co. from OMPI_COMM_WORLD_RANK, and records the command's exit code
//     in RANK_DIR/exit.N, so the runner can name the rank that failed first.
// Pure except FindFreePorts (binds sockets), LocalAddressTowards (opens a socket),
// InterfaceOfAddress (lists interfaces) and
// ReadMpiExits (reads files). Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "jobs/distribution.h"

namespace gantry::runner {

namespace fs = std::filesystem;

// The local address of every instance.
inline constexpr char kLocalHost[] = "127.0.0.1";

// node_hosts for ProcessEnvironment/MpiHostFile: kLocalHost for each instance.
std::vector<std::string> LocalHosts(const jobs::DistributionPlan& plan);

// A port p such that p .. p+count-1 are all free on 127.0.0.1 right now. Unavailable when
// none is found in a few tries. (A port can be taken between this check and the job's bind;
// the job then fails naming the address, which is rare enough locally.)
Result<int> FindFreePorts(int count);

// The address this machine uses to reach the host of `url` (e.g. "http://10.0.0.1:8765"):
// what the other nodes of a multi-node job can reach it at, when they reach the server the
// same way. Unavailable when the host cannot be resolved or has no route.
Result<std::string> LocalAddressTowards(const std::string& url);

// The name of the network interface holding `address` ("eth0"), "" when none does.
std::string InterfaceOfAddress(const std::string& address);

// Merges host-file lines ("HOST slots=N") naming the same host into one with the summed
// slots, first-seen order: locally all instances are 127.0.0.1, and OpenMPI wants one line.
std::string MergeHostFile(const std::string& host_file);

struct MpiCommandOptions {
  fs::path mpirun;     // the executable
  fs::path host_file;  // written by the caller (MergeHostFile(MpiHostFile(...)))
  // Instead of the host file, the nodes are the batch system's allocation (mpirun inside a
  // Slurm job, one slot per node as its runners hold them): processes_per_instance per node.
  bool in_allocation = false;
  fs::path rank_dir;     // holds the per-rank pipes and exit files
  fs::path shell;        // "/bin/bash"
  std::string command;   // the job's command, run by `bash -c`
  bool as_root = false;  // adds --allow-run-as-root
  int cpus = 1;          // this machine's CPUs: more ranks than this adds --oversubscribe
  // Variables exported to the ranks with -x (the job's environment; names that are not
  // shell identifiers and OpenMPI's own OMPI_/PMIX_/OPAL_/PRTE_ variables are skipped).
  std::vector<std::string> export_names;
  // One runner per node: each node's folder, with @NODE@ for the node rank (the rank runs
  // in NODE_DIR/wd with NODE_DIR/rank.env's variables and NODE_DIR/ranks pipes), and the
  // leader's own node folder, which the wrapper replaces in the command. Empty: every rank
  // is on this machine, in rank_dir.
  std::string node_dir_template;
  fs::path leader_node_dir;
};

// The rank.env file of a node (see MpiCommandOptions::node_dir_template): one NAME='VALUE'
// line per variable of `env` that is a shell name, leaving out OpenMPI's own variables and
// SLURM_* (a rank keeps those of the step that started it).
std::string RankEnvironmentFile(const std::map<std::string, std::string>& env);

// argv of the `mpirun` launch for `plan` (type mpi).
std::vector<std::string> MpiCommand(const jobs::DistributionPlan& plan,
                                    const MpiCommandOptions& options);

// Paths of rank `rank`'s pipes and exit file under `rank_dir`.
fs::path MpiRankPipe(const fs::path& rank_dir, int64_t rank, bool is_stderr);
fs::path MpiRankExitFile(const fs::path& rank_dir, int64_t rank);

// How one MPI rank's command ended, from its exit file.
struct MpiRankExit {
  int64_t rank = 0;
  int code = 0;
  double ended_at = 0;  // seconds since the epoch, as the wrapper recorded it
};

// Exit records of ranks 0 .. world_size-1 that wrote one (ranks that were killed did not).
std::vector<MpiRankExit> ReadMpiExits(const fs::path& rank_dir, int64_t world_size);

// The failure to report among `exits`: the earliest non-zero exit that is not a SIGTERM or
// SIGKILL (mpirun stopping the others), else the earliest non-zero one. nullopt when none
// failed.
std::optional<MpiRankExit> FirstMpiFailure(const std::vector<MpiRankExit>& exits);

}  // namespace gantry::runner
