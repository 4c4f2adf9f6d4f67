// ComputeTable: the workspace's compute targets (local clusters, Slurm partitions), by name.
// Part of a MetadataStore (MetadataStore::computes()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

struct ComputeRecord {
  std::string name;
  std::string type = "amlcompute";  // a local cluster of nodes of one shape
  std::string vm_size;
  int64_t min_nodes = 0;
  int64_t max_nodes = 1;
  int64_t idle_seconds_before_scaledown = 120;
  int64_t created_at = 0;
  // Type-specific settings; for "slurm": partition, account, qos, sbatch_args, cpus, gpus,
  // memory_gb, server_url, node_work_dir (see ComputeService).
  Json properties = Json::object();
};

class ComputeTable {
 public:
  virtual ~ComputeTable() = default;

  // AlreadyExists when the name is taken.
  virtual Status CreateCompute(const ComputeRecord& compute) = 0;
  // NotFound naming it.
  virtual Result<ComputeRecord> GetCompute(const std::string& name) = 0;
  // By name.
  virtual Result<std::vector<ComputeRecord>> ListComputes() = 0;
  // NotFound when it does not exist.
  virtual Status DeleteCompute(const std::string& name) = 0;
};

}  // namespace gantry::store
