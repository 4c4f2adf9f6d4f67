#include "cli/compute_commands.h"

#include <cstdio>
#include <iostream>

#include "cli/command_group.h"
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
  printf("%-24s %-12s %-22s %-10s %s\n", "NAME", "TYPE", "VM SIZE", "MAX NODES",
         "NODE (CPUS/GPUS)");
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

void AddComputeCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static ComputeFlags compute;
  auto* group = app.add_subcommand("compute", "Manage compute targets");
  group->require_subcommand(1);
  auto add = [&](const char* name, const char* help,
                 int (*fn)(const GlobalFlags&, const ComputeFlags&), bool needs_name) {
    std::vector<NameOption> names;
    if (needs_name) names.push_back({"-n,--name", &compute.name, "Compute target name", true});
    return AddVerb(
        group, name, help, global, names, &compute.output, {{"compute target name", &compute.name}},
        [&global, fn] { return fn(global, compute); }, result);
  };
  auto* ccreate =
      add("create", "Create a local cluster of nodes of one VM shape", ComputeCreate, true);
  ccreate->add_option("--type", compute.type, "amlcompute (default, a local cluster) or slurm");
  ccreate->add_option("--size", compute.size,
                      "VM size, e.g. STANDARD_NC6 (see `gantry compute sizes`)");
  ccreate->add_option("--min-instances", compute.min_instances, "Minimum nodes (default 0)");
  ccreate->add_option("--max-instances", compute.max_instances,
                      "Maximum nodes: jobs at once (default 1)");
  ccreate->add_option("--idle-time-before-scale-down", compute.idle_seconds,
                      "Seconds (default 120)");
  ccreate->add_option("--partition", compute.partition, "slurm: sbatch --partition");
  ccreate->add_option("--account", compute.account, "slurm: sbatch --account");
  ccreate->add_option("--qos", compute.qos, "slurm: sbatch --qos");
  ccreate->add_option("--sbatch-arg", compute.sbatch_args,
                      "slurm: an extra #SBATCH argument, --flag=value (repeatable)");
  ccreate->add_option("--cpus", compute.cpus, "slurm: CPUs per node (--cpus-per-task)");
  ccreate->add_option("--gpus", compute.gpus, "slurm: GPUs per node (--gres=gpu:N)");
  ccreate->add_option("--memory-gb", compute.memory_gb, "slurm: memory per node (--mem)");
  ccreate->add_option("--server-url", compute.server_url,
                      "slurm: the workspace server's URL as the nodes reach it");
  ccreate->add_option("--node-ca-file", compute.node_ca_file,
                      "slurm: the CA file that verifies an https:// server, as a path on the nodes "
                      "(default: the server's)");
  ccreate->add_option(
      "--node-work-dir", compute.node_work_dir,
      "slurm: folder on the nodes for runs' scratch, caches, Slurm output (default /tmp)");
  add("list", "List compute targets", ComputeList, false);
  add("show", "Show a compute target", ComputeShow, true);
  add("delete", "Delete a compute target", ComputeDelete, true);
  add("sizes", "List the VM sizes and their node shapes", ComputeSizes, false);
}

}  // namespace gantry::cli
