#include "workspace/compute_service.h"

#include <unistd.h>

#include <thread>

#include "common/names.h"
#include "jobs/run_status.h"

namespace gantry::workspace {

ComputeService::ComputeService(store::MetadataStore* store, Clock* clock, int local_slots)
    : store_(store), clock_(clock), local_slots_(local_slots) {}

ComputeTarget ComputeService::Local() const {
  ComputeTarget t;
  t.record.name = kLocalCompute;
  t.record.type = "local";
  t.record.vm_size = "local";
  t.record.max_nodes = local_slots_;
  t.shape.name = "local";
  t.shape.cpus = static_cast<int>(std::thread::hardware_concurrency());
  t.shape.memory_gb =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE) / (1 << 30);
  t.shape.gpus = compute::DetectGpuCount();
  t.capacity = local_slots_;
  return t;
}

std::string ComputeTarget::Property(const char* key) const {
  auto it = record.properties.find(key);
  return it != record.properties.end() && it->is_string() ? it->get<std::string>() : "";
}

namespace {

// The node shape of a target: its VM size, or for slurm the cpus/gpus/memory_gb properties
// (over the VM size's numbers when both are given).
Result<compute::VmSize> ShapeOf(const store::ComputeRecord& record) {
  if (record.type != kSlurmType) return compute::LookupVmSize(record.vm_size);
  compute::VmSize shape{"slurm", 0, 0, 0};
  if (!record.vm_size.empty()) {
    ASSIGN_OR_RETURN(shape, compute::LookupVmSize(record.vm_size));
  }
  const Json& p = record.properties;
  if (p.contains("cpus")) shape.cpus = p["cpus"].get<int>();
  if (p.contains("gpus")) shape.gpus = p["gpus"].get<int>();
  if (p.contains("memory_gb")) shape.memory_gb = p["memory_gb"].get<double>();
  return shape;
}

Status ValidateSlurmProperties(const Json& p) {
  if (!p.is_object()) return InvalidArgumentError("properties must be an object");
  for (const auto& [key, value] : p.items()) {
    if (key == "partition" || key == "account" || key == "qos" || key == "server_url" ||
        key == "node_work_dir" || key == "ca_file") {
      if (!value.is_string()) return InvalidArgumentError(key + " must be a string");
      const std::string v = value.get<std::string>();
      if (v.find_first_of(" \t\n'\"") != std::string::npos && key != "node_work_dir" &&
          key != "ca_file") {
        return InvalidArgumentError(key + " must not contain spaces or quotes, got '" + v + "'");
      }
      if (key == "server_url" && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
        return InvalidArgumentError("server_url must start with http:// or https://, got '" + v +
                                    "'");
      }
      if (key == "ca_file" && (v.empty() || v[0] != '/' || v.find('\n') != std::string::npos)) {
        return InvalidArgumentError("ca_file must be an absolute path on the nodes, got '" + v +
                                    "'");
      }
      if (key == "node_work_dir" &&
          (v.empty() || v[0] != '/' || v.find('\n') != std::string::npos)) {
        return InvalidArgumentError("node_work_dir must be an absolute path, got '" + v + "'");
      }
    } else if (key == "sbatch_args") {
      if (!value.is_array()) return InvalidArgumentError("sbatch_args must be a list of strings");
      for (const auto& a : value) {
        if (!a.is_string() || a.get<std::string>().rfind("--", 0) != 0 ||
            a.get<std::string>().find('\n') != std::string::npos) {
          return InvalidArgumentError(
              "each of sbatch_args must be one '--flag=value' (one #SBATCH line), got " + a.dump());
        }
      }
    } else if (key == "cpus" || key == "gpus") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return InvalidArgumentError(key + " must be a whole number >= 0, got " + value.dump());
      }
    } else if (key == "memory_gb") {
      if (!value.is_number() || value.get<double>() < 0) {
        return InvalidArgumentError("memory_gb must be a number >= 0, got " + value.dump());
      }
    } else {
      return InvalidArgumentError(
          "unknown slurm property '" + key +
          "'; known: partition, account, qos, sbatch_args, cpus, gpus, memory_gb, server_url, "
          "ca_file, node_work_dir");
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckNodesFit(const ComputeTarget& target, int64_t nodes) {
  if (nodes <= target.capacity) return Status::Ok();
  const bool local = target.record.name == kLocalCompute;
  return InvalidArgumentError(
      "resources.instance_count is " + std::to_string(nodes) + " but compute '" +
      target.record.name + "' has at most " + std::to_string(target.capacity) + " node(s) (" +
      (local ? "gantry server --slots" : "max_nodes") + " " + std::to_string(target.capacity) +
      "); a distributed job runs on all its nodes at once");
}

Result<ComputeTarget> ComputeService::Create(store::ComputeRecord record) {
  RETURN_IF_ERROR(ValidateName("compute target name", record.name));
  if (record.name == kLocalCompute) {
    return Err(AlreadyExistsError("'local' is the built-in compute target"));
  }
  if (record.type != "amlcompute" && record.type != kSlurmType) {
    return Err(InvalidArgumentError("compute type '" + record.type +
                                    "' is not supported; use amlcompute (a local cluster) or "
                                    "slurm (a Slurm cluster)"));
  }
  if (record.type == kSlurmType) {
    RETURN_IF_ERROR(ValidateSlurmProperties(record.properties));
  } else if (!record.properties.empty()) {
    return Err(InvalidArgumentError("only slurm targets take slurm settings (partition, ...)"));
  }
  ASSIGN_OR_RETURN(compute::VmSize shape, ShapeOf(record));
  if (!record.vm_size.empty() || record.type != kSlurmType) record.vm_size = shape.name;
  if (record.max_nodes < 1) {
    return Err(InvalidArgumentError("max_nodes must be at least 1, got " +
                                    std::to_string(record.max_nodes)));
  }
  if (record.min_nodes < 0 || record.min_nodes > record.max_nodes) {
    return Err(InvalidArgumentError("min_nodes must be between 0 and max_nodes (" +
                                    std::to_string(record.max_nodes) + "), got " +
                                    std::to_string(record.min_nodes)));
  }
  if (record.idle_seconds_before_scaledown < 0) {
    return Err(InvalidArgumentError("idle_seconds_before_scaledown must not be negative"));
  }
  record.created_at = clock_->NowMillis();
  RETURN_IF_ERROR(store_->computes().CreateCompute(record));
  return ComputeTarget{record, shape, static_cast<int>(record.max_nodes)};
}

Result<ComputeTarget> ComputeService::Get(const std::string& name) {
  if (name == kLocalCompute) return Local();
  ASSIGN_OR_RETURN(store::ComputeRecord record, store_->computes().GetCompute(name));
  ASSIGN_OR_RETURN(compute::VmSize shape, ShapeOf(record));
  return ComputeTarget{record, shape, static_cast<int>(record.max_nodes)};
}

Result<std::vector<ComputeTarget>> ComputeService::List() {
  std::vector<ComputeTarget> out{Local()};
  ASSIGN_OR_RETURN(auto records, store_->computes().ListComputes());
  for (const auto& r : records) {
    auto shape = ShapeOf(r);
    if (shape.has_value()) out.push_back(ComputeTarget{r, *shape, static_cast<int>(r.max_nodes)});
  }
  return out;
}

Status ComputeService::Delete(const std::string& name) {
  if (name == kLocalCompute)
    return FailedPreconditionError("the built-in 'local' target cannot be deleted");
  ASSIGN_OR_RETURN(std::vector<store::RunRecord> active,
                   store_->runs().ListRuns(
                       {.statuses = jobs::ActiveRunStatusNames(), .compute = name, .limit = 1}));
  if (!active.empty()) {
    return FailedPreconditionError("compute target '" + name +
                                   "' has queued or running jobs; cancel them first");
  }
  return store_->computes().DeleteCompute(name);
}

}  // namespace gantry::workspace
