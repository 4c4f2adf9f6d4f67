// Distribution: turns a job's `resources.instance_count` and `distribution` (Azure ML CLI v2
// command-job fields) into the job's processes and, for each, the environment its framework
// reads:
//   pytorch     MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, NODE_RANK,
//               LOCAL_WORLD_SIZE (torch.distributed's env:// init, torchrun's names)
//   tensorflow  TF_CONFIG as Azure ML writes it: {"cluster": {"worker": [...], "ps": [...]},
//               "task": {"type", "index"}, "environment": "cloud"}; worker 0 is the chief
//   mpi         nothing per process: OpenMPI's mpirun starts the ranks from a host file with
//               slots per node and sets OMPI_COMM_WORLD_RANK/SIZE itself (Horovod reads those)
// Every process also gets GANTRY_RANK, GANTRY_WORLD_SIZE, GANTRY_NODE_RANK, GANTRY_LOCAL_RANK
// so logs and metrics can name their rank. Pure: no I/O. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::jobs {

struct DistributionPlan {
  enum class Type { kNone, kMpi, kPyTorch, kTensorFlow };
  Type type = Type::kNone;
  int64_t instance_count = 1;          // nodes, placed whole or not at all
  int64_t processes_per_instance = 1;  // the most processes one node runs
  int64_t worker_count = 0;            // tensorflow
  int64_t parameter_server_count = 0;  // tensorflow
  // distribution.outputs_from: rank_0 (default: only node 0 uploads outputs/, as Azure does)
  // or all_nodes (node K>0 of a multi-node job also uploads its outputs/ as outputs/node_K/).
  bool outputs_from_all_nodes = false;

  int64_t world_size() const;
  bool distributed() const { return world_size() > 1 || type != Type::kNone; }
  bool operator==(const DistributionPlan&) const = default;
};

// From the job's raw `resources` and `distribution` (null when absent). InvalidArgument
// naming the field for an unknown type or key, a count that is not a positive integer, or
// TensorFlow tasks that do not fit the instances.
//   resources:    {instance_count: N (default 1), other keys kept for the backends}
//   distribution: {type: mpi|pytorch, process_count_per_instance: P (default 1)}
//                 {type: tensorflow, worker_count: W (default instance_count),
//                  parameter_server_count: S (default 0)}
//                 and, for any type, outputs_from: rank_0 (default) | all_nodes
Result<DistributionPlan> PlanDistribution(const Json& resources, const Json& distribution);

// One process of the job.
struct ProcessSlot {
  int64_t rank = 0;        // global, 0 .. world_size-1
  int64_t node_rank = 0;   // which instance runs it
  int64_t local_rank = 0;  // index among that instance's processes
  std::string task_type;   // tensorflow: "chief", "worker" or "ps"; else ""
  int64_t task_index = 0;  // tensorflow: index within its task type
  bool operator==(const ProcessSlot&) const = default;
};

// Every process in rank order. PyTorch/MPI/none: node n runs ranks n*P .. n*P+P-1.
// TensorFlow: workers first, then parameter servers, one task per instance while they last,
// then wrapping round (so instance_count = W + S gives one task per node, as Azure does).
// With parameter servers, a chief task comes first (rank 0): TensorFlow 2's
// ParameterServerStrategy runs the training program on a chief (its coordinator) that drives
// the W workers and S servers, so such a job has 1 + W + S tasks.
std::vector<ProcessSlot> Processes(const DistributionPlan& plan);

// Whether the job is over once rank 0 ends well: a TensorFlow job with parameter servers,
// whose worker and ps tasks serve until they are stopped (tf.distribute.Server.join()).
bool EndsWithChief(const DistributionPlan& plan);

// How many processes node `node_rank` runs.
int64_t ProcessesOnNode(const DistributionPlan& plan, int64_t node_rank);

// The environment of one process. `node_hosts[i]` is the address of instance i (for
// MASTER_ADDR and TF_CONFIG); `base_port` is MASTER_PORT, and TensorFlow task k listens on
// base_port + k (k = its rank), so tasks sharing one host do not collide.
std::map<std::string, std::string> ProcessEnvironment(const DistributionPlan& plan,
                                                      const ProcessSlot& process,
                                                      const std::vector<std::string>& node_hosts,
                                                      int base_port);

// OpenMPI host file: "HOST slots=P" per instance.
std::string MpiHostFile(const DistributionPlan& plan, const std::vector<std::string>& node_hosts);

// The job's type as written in YAML ("mpi", "pytorch", "tensorflow", "" for none).
std::string TypeName(DistributionPlan::Type type);

}  // namespace gantry::jobs
