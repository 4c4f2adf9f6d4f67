#include "cli/runner_command.h"

#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/python_sdk.h"
#include "runner/runner.h"

namespace gantry::cli {

void AddRunnerCommand(CLI::App& app, int& result) {
  static runner::RunnerOptions runner;
  static std::string node_rank_from_env;
  auto* runner_cmd =
      app.add_subcommand("runner", "Run one job's processes (started by compute backends)");
  runner_cmd->add_option("--server", runner.server_url)->required();
  runner_cmd->add_option("--run", runner.run_name)->required();
  runner_cmd->add_option("--work-dir", runner.work_dir)->required();
  runner_cmd->add_option("--grace-seconds", runner.grace_seconds);
  runner_cmd->add_option("--ca-file", runner.ca_file,
                         "PEM CA file that verifies an https:// server (else the system's CAs)");
  runner_cmd->add_flag("--no-report-on-signal", runner.no_report_on_signal,
                       "When signalled, leave the run's final status to the batch system (Slurm)");
  runner_cmd->add_option("--node-count", runner.node_count,
                         "Multi-node jobs: the job's nodes, one runner on each");
  runner_cmd->add_option("--node-rank", runner.node_rank, "Multi-node jobs: this node's rank");
  runner_cmd->add_option(
      "--node-rank-from-env", node_rank_from_env,
      "Multi-node jobs: read this node's rank from this variable (SLURM_NODEID)");
  runner_cmd->add_option("--node-address", runner.node_address,
                         "Multi-node jobs: this node's address for the others (default: the "
                         "address of the route to the server)");
  runner_cmd
      ->add_option("--rendezvous-seconds", runner.rendezvous_seconds,
                   "Multi-node jobs: how long the nodes wait for each other")
      ->capture_default_str();
  runner_cmd->callback([&] {
    if (!node_rank_from_env.empty()) {
      const char* value = std::getenv(node_rank_from_env.c_str());
      char* end = nullptr;
      long rank = value != nullptr ? std::strtol(value, &end, 10) : -1;
      if (value == nullptr || *value == '\0' || *end != '\0' || rank < 0) {
        std::cerr << "gantry runner: --node-rank-from-env " << node_rank_from_env
                  << ": the variable "
                  << (value == nullptr ? "is not set"
                                       : std::string("is '") + value + "', not a node rank")
                  << "\n";
        result = 2;
        return;
      }
      runner.node_rank = static_cast<int>(rank);
    }
    if (runner.node_count > 1 && (runner.node_rank < 0 || runner.node_rank >= runner.node_count)) {
      std::cerr << "gantry runner: --node-rank " << runner.node_rank << " is outside 0.."
                << runner.node_count - 1 << " (--node-count " << runner.node_count << ")\n";
      result = 2;
      return;
    }
    if (const char* token = std::getenv("GANTRY_RUN_TOKEN")) runner.token = token;
    ::unsetenv("GANTRY_RUN_TOKEN");
    // A person's token in the environment the server was started from must not reach the
    // run's scripts: they act with the run's own token only.
    ::unsetenv("GANTRY_TOKEN");
    runner.python_sdk_dir = FindPythonSdk();
    result = runner::RunJob(runner);
  });
}

}  // namespace gantry::cli
