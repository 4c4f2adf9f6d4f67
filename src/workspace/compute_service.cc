#include "workspace/compute_service.h"

#include <unistd.h>

#include <thread>

#include "workspace/model_service.h"

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
  t.shape.memory_gb = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE) / (1 << 30);
  t.shape.gpus = compute::DetectGpuCount();
  t.capacity = local_slots_;
  return t;
}

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
  RETURN_IF_ERROR(ValidateAssetName("compute target", record.name));
  if (record.name == kLocalCompute) {
    return Err(AlreadyExistsError("'local' is the built-in compute target"));
  }
  if (record.type != "amlcompute") {
    return Err(InvalidArgumentError("compute type '" + record.type +
                                    "' is not supported; use amlcompute (a local cluster)"));
  }
  ASSIGN_OR_RETURN(compute::VmSize shape, compute::LookupVmSize(record.vm_size));
  record.vm_size = shape.name;
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
  RETURN_IF_ERROR(store_->CreateCompute(record));
  return ComputeTarget{record, shape, static_cast<int>(record.max_nodes)};
}

Result<ComputeTarget> ComputeService::Get(const std::string& name) {
  if (name == kLocalCompute) return Local();
  ASSIGN_OR_RETURN(store::ComputeRecord record, store_->GetCompute(name));
  ASSIGN_OR_RETURN(compute::VmSize shape, compute::LookupVmSize(record.vm_size));
  return ComputeTarget{record, shape, static_cast<int>(record.max_nodes)};
}

Result<std::vector<ComputeTarget>> ComputeService::List() {
  std::vector<ComputeTarget> out{Local()};
  ASSIGN_OR_RETURN(auto records, store_->ListComputes());
  for (const auto& r : records) {
    auto shape = compute::LookupVmSize(r.vm_size);
    if (shape.has_value()) out.push_back(ComputeTarget{r, *shape, static_cast<int>(r.max_nodes)});
  }
  return out;
}

Status ComputeService::Delete(const std::string& name, bool has_active_runs) {
  if (name == kLocalCompute) return FailedPreconditionError("the built-in 'local' target cannot be deleted");
  if (has_active_runs) {
    return FailedPreconditionError("compute target '" + name +
                                   "' has queued or running jobs; cancel them first");
  }
  return store_->DeleteCompute(name);
}

}  // namespace gantry::workspace
