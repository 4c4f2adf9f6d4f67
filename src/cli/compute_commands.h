// `gantry compute ...`: create, list, show, delete compute targets; `sizes` lists the VM
// catalogue. Azure CLI v2's `az ml compute` flags.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/client_context.h"

namespace gantry::cli {

struct ComputeFlags {
  std::string name;
  std::string type = "amlcompute";
  std::string size;  // "" → STANDARD_D2_V2 for amlcompute; for slurm, the shape flags below
  int64_t min_instances = 0;
  int64_t max_instances = 1;
  int64_t idle_seconds = 120;
  std::string output;
  // slurm targets (negative numbers: not given)
  std::string partition, account, qos, server_url, node_work_dir;
  std::string node_ca_file;  // slurm: the CA file of an https:// server, as the nodes see it
  std::vector<std::string> sbatch_args;
  int64_t cpus = -1, gpus = -1;
  double memory_gb = -1;
};

int ComputeCreate(const GlobalFlags& g, const ComputeFlags& f);
int ComputeList(const GlobalFlags& g, const ComputeFlags& f);
int ComputeShow(const GlobalFlags& g, const ComputeFlags& f);
int ComputeDelete(const GlobalFlags& g, const ComputeFlags& f);
int ComputeSizes(const GlobalFlags& g, const ComputeFlags& f);

// Adds `gantry compute ...`; a verb's exit code lands in `result`.
void AddComputeCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
