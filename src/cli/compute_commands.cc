#include "cli/compute_commands.h"

#include <cstdio>
#include <iostream>

#include "http/http_types.h"

namespace gantry::cli {

namespace {
int Print(const Json& j) {
  std::cout << j.dump(2) << "\n";
  return 0;
}
}  // namespace

int ComputeCreate(const GlobalFlags& g, const ComputeFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  Json body = {{"name", f.name},
               {"type", f.type},
               {"min_nodes", f.min_instances},
               {"max_nodes", f.max_instances},
               {"idle_seconds_before_scaledown", f.idle_seconds}};
  if (!f.size.empty()) body["vm_size"] = f.size;
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) body[key] = v;
  };
  put("partition", f.partition);
  put("account", f.account);
  put("qos", f.qos);
  put("server_url", f.server_url);
  put("ca_file", f.node_ca_file);
  put("node_work_dir", f.node_work_dir);
  if (!f.sbatch_args.empty()) body["sbatch_args"] = f.sbatch_args;
  if (f.cpus >= 0) body["cpus"] = f.cpus;
  if (f.gpus >= 0) body["gpus"] = f.gpus;
  if (f.memory_gb >= 0) body["memory_gb"] = f.memory_gb;
  auto c = (*client)->Call("POST", "/api/v1/computes", body);
  if (!c.has_value()) return ReportError(c.error());
  if (f.output == "json") return Print(*c);
  if ((*c)["type"] == "slurm") {
    std::cout << "Created Slurm compute target " << f.name << " (" << (*c)["node"]["cpus"]
              << " CPUs, " << (*c)["node"]["gpus"] << " GPUs per node; Slurm queues the jobs)\n";
    return 0;
  }
  std::cout << "Created compute target " << f.name << ": " << (*c)["max_nodes"] << " x "
            << (*c)["vm_size"].get<std::string>() << " (" << (*c)["node"]["cpus"] << " CPUs, "
            << (*c)["node"]["gpus"] << " GPUs per node)\n";
  return 0;
}

int ComputeList(const GlobalFlags& g, const ComputeFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call("GET", "/api/v1/computes");
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") return Print((*list)["computes"]);
  printf("%-24s %-12s %-22s %-10s %s\n", "NAME", "TYPE", "VM SIZE", "MAX NODES", "NODE (CPUS/GPUS)");
  for (const auto& c : (*list)["computes"]) {
    printf("%-24s %-12s %-22s %-10lld %d/%d\n", c["name"].get<std::string>().c_str(),
           c["type"].get<std::string>().c_str(), c["vm_size"].get<std::string>().c_str(),
           static_cast<long long>(c["max_nodes"].get<int64_t>()), c["node"]["cpus"].get<int>(),
           c["node"]["gpus"].get<int>());
  }
  return 0;
}

int ComputeShow(const GlobalFlags& g, const ComputeFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto c = (*client)->Call("GET", "/api/v1/computes/" + http::UrlEncode(f.name));
  if (!c.has_value()) return ReportError(c.error());
  return Print(*c);
}

int ComputeDelete(const GlobalFlags& g, const ComputeFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto c = (*client)->Call("DELETE", "/api/v1/computes/" + http::UrlEncode(f.name));
  if (!c.has_value()) return ReportError(c.error());
  std::cout << "Deleted compute target " << f.name << "\n";
  return 0;
}

int ComputeSizes(const GlobalFlags& g, const ComputeFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto sizes = (*client)->Call("GET", "/api/v1/vm-sizes");
  if (!sizes.has_value()) return ReportError(sizes.error());
  if (f.output == "json") return Print((*sizes)["vm_sizes"]);
  printf("%-26s %6s %10s %5s\n", "NAME", "CPUS", "MEMORY GB", "GPUS");
  for (const auto& s : (*sizes)["vm_sizes"]) {
    printf("%-26s %6d %10.1f %5d\n", s["name"].get<std::string>().c_str(), s["cpus"].get<int>(),
           s["memory_gb"].get<double>(), s["gpus"].get<int>());
  }
  return 0;
}

}  // namespace gantry::cli
