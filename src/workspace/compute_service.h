// ComputeService: compute targets. The built-in "local" target runs jobs on this machine up
// to --slots at once; an "amlcompute" target is a local cluster of nodes of one VM shape
// (see compute/vm_sizes.h), running at most max_nodes jobs at once; a "slurm" target hands
// every job to a Slurm cluster (compute/slurm_backend.h), which decides when it runs: its
// node shape comes from vm_size and/or the cpus/gpus/memory_gb properties, and max_nodes only
// bounds one job's instance_count. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "compute/vm_sizes.h"
#include "store/metadata_store.h"

namespace gantry::workspace {

inline constexpr char kLocalCompute[] = "local";
inline constexpr char kSlurmType[] = "slurm";

struct ComputeTarget {
  store::ComputeRecord record;
  compute::VmSize shape;  // the node shape; for "local", this machine
  int capacity = 1;       // jobs at once (slurm: nodes one job may use; Slurm queues the rest)

  bool is_slurm() const { return record.type == kSlurmType; }
  // A string property, "" when absent.
  std::string Property(const char* key) const;
};

// OK when a job of `nodes` instances fits `target` at all (its node limit: max_nodes, for
// "local" --slots); InvalidArgument naming the numbers otherwise.
Status CheckNodesFit(const ComputeTarget& target, int64_t nodes);

class ComputeService {
 public:
  ComputeService(store::MetadataStore* store, Clock* clock, int local_slots);

  // InvalidArgument (name, node counts, slurm properties), NotFound (vm size), AlreadyExists.
  Result<ComputeTarget> Create(store::ComputeRecord record);
  // NotFound naming the target.
  Result<ComputeTarget> Get(const std::string& name);
  // "local" first, then the clusters by name.
  Result<std::vector<ComputeTarget>> List();
  // FailedPrecondition for "local" or while runs are queued or active on it.
  Status Delete(const std::string& name);

 private:
  ComputeTarget Local() const;

  store::MetadataStore* store_;
  Clock* clock_;
  int local_slots_;
};

}  // namespace gantry::workspace
