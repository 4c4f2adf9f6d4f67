#include "jobs/distribution.h"

#include <algorithm>
#include <set>

namespace gantry::jobs {

namespace {

// A positive integer field of `obj` (`fallback` when absent); InvalidArgument naming
// `path.field` otherwise. Integers written as strings ("2") are accepted, as YAML gives them.
Result<int64_t> PositiveCount(const Json& obj, const std::string& path, const char* field,
                              int64_t fallback, bool zero_ok = false) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return fallback;
  int64_t n = -1;
  bool ok = false;
  if (it->is_number_integer()) {
    n = it->get<int64_t>();
    ok = true;
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    ok = !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), ::isdigit);
    if (ok) n = std::stoll(s);
  }
  if (!ok || n < (zero_ok ? 0 : 1) || n > 4096) {
    return Err(
        InvalidArgumentError(path + "." + field + " must be " +
                             (zero_ok ? "a whole number from 0" : "a positive whole number") +
                             " up to 4096, got " + it->dump()));
  }
  return n;
}

Status OnlyKnownKeys(const Json& obj, const std::string& path, const std::set<std::string>& known) {
  for (const auto& [key, value] : obj.items()) {
    if (!known.contains(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return InvalidArgumentError("unknown field '" + path + "." + key + "' (expected: " + list +
                                  ")");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string TypeName(DistributionPlan::Type type) {
  switch (type) {
    case DistributionPlan::Type::kMpi:
      return "mpi";
    case DistributionPlan::Type::kPyTorch:
      return "pytorch";
    case DistributionPlan::Type::kTensorFlow:
      return "tensorflow";
    case DistributionPlan::Type::kNone:
      break;
  }
  return "";
}

int64_t DistributionPlan::world_size() const {
  if (type == Type::kTensorFlow) {
    return worker_count + parameter_server_count + (parameter_server_count > 0 ? 1 : 0);
  }
  return instance_count * processes_per_instance;
}

Result<DistributionPlan> PlanDistribution(const Json& resources, const Json& distribution) {
  DistributionPlan plan;
  if (!resources.is_null()) {
    if (!resources.is_object()) return Err(InvalidArgumentError("resources must be a mapping"));
    ASSIGN_OR_RETURN(plan.instance_count,
                     PositiveCount(resources, "resources", "instance_count", 1));
  }
  if (distribution.is_null()) return plan;
  if (!distribution.is_object()) return Err(InvalidArgumentError("distribution must be a mapping"));
  auto type = distribution.find("type");
  if (type == distribution.end() || !type->is_string()) {
    return Err(InvalidArgumentError("distribution.type is required: mpi, pytorch or tensorflow"));
  }
  std::string t = type->get<std::string>();
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  if (auto from = distribution.find("outputs_from"); from != distribution.end()) {
    if (!from->is_string() || (*from != "rank_0" && *from != "all_nodes")) {
      return Err(InvalidArgumentError(
          "distribution.outputs_from must be rank_0 or all_nodes, got " + from->dump()));
    }
    plan.outputs_from_all_nodes = *from == "all_nodes";
  }
  if (t == "mpi" || t == "pytorch") {
    plan.type = t == "mpi" ? DistributionPlan::Type::kMpi : DistributionPlan::Type::kPyTorch;
    RETURN_IF_ERROR(OnlyKnownKeys(distribution, "distribution",
                                  {"type", "process_count_per_instance", "outputs_from"}));
    ASSIGN_OR_RETURN(plan.processes_per_instance,
                     PositiveCount(distribution, "distribution", "process_count_per_instance", 1));
    return plan;
  }
  if (t == "tensorflow") {
    plan.type = DistributionPlan::Type::kTensorFlow;
    RETURN_IF_ERROR(
        OnlyKnownKeys(distribution, "distribution",
                      {"type", "worker_count", "parameter_server_count", "outputs_from"}));
    ASSIGN_OR_RETURN(plan.worker_count, PositiveCount(distribution, "distribution", "worker_count",
                                                      plan.instance_count));
    ASSIGN_OR_RETURN(plan.parameter_server_count, PositiveCount(distribution, "distribution",
                                                                "parameter_server_count", 0, true));
    int64_t tasks = plan.world_size();
    plan.processes_per_instance = (tasks + plan.instance_count - 1) / plan.instance_count;
    if (tasks < plan.instance_count) {
      return Err(InvalidArgumentError(
          "distribution: " + std::to_string(tasks) +
          " TensorFlow task(s) (worker_count + "
          "parameter_server_count) cannot fill resources.instance_count " +
          std::to_string(plan.instance_count) + "; every instance runs at least one task"));
    }
    return plan;
  }
  return Err(InvalidArgumentError("distribution.type must be mpi, pytorch or tensorflow, got '" +
                                  type->get<std::string>() + "'"));
}

std::vector<ProcessSlot> Processes(const DistributionPlan& plan) {
  std::vector<ProcessSlot> out;
  if (plan.type == DistributionPlan::Type::kTensorFlow) {
    int64_t tasks = plan.world_size();
    std::vector<int64_t> on_node(static_cast<size_t>(plan.instance_count), 0);
    for (int64_t k = 0; k < tasks; ++k) {
      ProcessSlot s;
      s.rank = k;
      s.node_rank = k % plan.instance_count;
      s.local_rank = on_node[static_cast<size_t>(s.node_rank)]++;
      const int64_t chiefs = plan.parameter_server_count > 0 ? 1 : 0;
      if (k < chiefs) {
        s.task_type = "chief";
        s.task_index = 0;
      } else if (k < chiefs + plan.worker_count) {
        s.task_type = "worker";
        s.task_index = k - chiefs;
      } else {
        s.task_type = "ps";
        s.task_index = k - chiefs - plan.worker_count;
      }
      out.push_back(s);
    }
    return out;
  }
  for (int64_t node = 0; node < plan.instance_count; ++node) {
    for (int64_t local = 0; local < plan.processes_per_instance; ++local) {
      out.push_back({node * plan.processes_per_instance + local, node, local, "", 0});
    }
  }
  return out;
}

bool EndsWithChief(const DistributionPlan& plan) {
  return plan.type == DistributionPlan::Type::kTensorFlow && plan.parameter_server_count > 0;
}

int64_t ProcessesOnNode(const DistributionPlan& plan, int64_t node_rank) {
  int64_t n = 0;
  for (const auto& p : Processes(plan)) n += p.node_rank == node_rank;
  return n;
}

std::map<std::string, std::string> ProcessEnvironment(const DistributionPlan& plan,
                                                      const ProcessSlot& p,
                                                      const std::vector<std::string>& hosts,
                                                      int base_port) {
  auto host = [&](int64_t node) {
    return node < static_cast<int64_t>(hosts.size()) ? hosts[static_cast<size_t>(node)]
                                                     : std::string("127.0.0.1");
  };
  std::map<std::string, std::string> env = {
      {"GANTRY_RANK", std::to_string(p.rank)},
      {"GANTRY_WORLD_SIZE", std::to_string(plan.world_size())},
      {"GANTRY_NODE_RANK", std::to_string(p.node_rank)},
      {"GANTRY_LOCAL_RANK", std::to_string(p.local_rank)},
      {"GANTRY_NODE_COUNT", std::to_string(plan.instance_count)}};
  switch (plan.type) {
    case DistributionPlan::Type::kPyTorch:
      env["MASTER_ADDR"] = host(0);
      env["MASTER_PORT"] = std::to_string(base_port);
      env["WORLD_SIZE"] = std::to_string(plan.world_size());
      env["RANK"] = std::to_string(p.rank);
      env["LOCAL_RANK"] = std::to_string(p.local_rank);
      env["NODE_RANK"] = std::to_string(p.node_rank);
      env["LOCAL_WORLD_SIZE"] = std::to_string(ProcessesOnNode(plan, p.node_rank));
      break;
    case DistributionPlan::Type::kTensorFlow: {
      Json chief = Json::array(), workers = Json::array(), ps = Json::array();
      for (const auto& q : Processes(plan)) {
        std::string addr = host(q.node_rank) + ":" + std::to_string(base_port + q.rank);
        (q.task_type == "chief" ? chief : q.task_type == "worker" ? workers : ps).push_back(addr);
      }
      Json cluster = {{"worker", workers}};
      if (!chief.empty()) cluster["chief"] = chief;
      if (!ps.empty()) cluster["ps"] = ps;
      Json config = {{"cluster", cluster},
                     {"task", {{"type", p.task_type}, {"index", p.task_index}}},
                     {"environment", "cloud"}};
      env["TF_CONFIG"] = config.dump();
      break;
    }
    case DistributionPlan::Type::kMpi:
    case DistributionPlan::Type::kNone:
      break;
  }
  return env;
}

std::string MpiHostFile(const DistributionPlan& plan, const std::vector<std::string>& hosts) {
  std::string out;
  for (int64_t node = 0; node < plan.instance_count; ++node) {
    std::string h = node < static_cast<int64_t>(hosts.size()) ? hosts[static_cast<size_t>(node)]
                                                              : std::string("127.0.0.1");
    out += h + " slots=" + std::to_string(ProcessesOnNode(plan, node)) + "\n";
  }
  return out;
}

}  // namespace gantry::jobs
