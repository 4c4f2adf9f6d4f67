#include "cli/job_commands.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "artifacts/tree.h"
#include "cli/command_group.h"
#include "cli/downloader.h"
#include "cli/sweep_view.h"
#include "cli/uploader.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/hashing.h"
#include "common/names.h"
#include "http/http_types.h"
#include "jobs/job_spec.h"
#include "jobs/run_spec.h"
#include "jobs/run_status.h"
#include "jobs/yaml_json.h"
#include "sweep/sweep_job.h"

namespace gantry::cli {

namespace {

std::string Duration(const Json& run) {
  int64_t start = run.value("started_at_ms", int64_t{0});
  if (start == 0) start = run.value("created_at_ms", int64_t{0});
  int64_t end = run.value("ended_at_ms", int64_t{0});
  if (end == 0) end = RealClock::Get()->NowMillis();
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1fs", std::max<int64_t>(0, end - start) / 1000.0);
  return buf;
}

std::string RunPath(const std::string& name) { return "/api/v1/runs/" + http::UrlEncode(name); }

// Follows a run to its end: phases and live log lines. Survives a server restart.
int Follow(http::HttpClient& client, const std::string& name) {
  size_t since = 0;
  int64_t offset = 0;
  int unavailable_for = 0;
  bool warned = false;
  while (true) {
    auto ev = client.Call("GET", RunPath(name) + "/events?since=" + std::to_string(since) +
                                     "&offset=" + std::to_string(offset) + "&wait_ms=20000");
    if (!ev.has_value()) {
      if (ev.error().code() != StatusCode::kUnavailable || unavailable_for > 600) {
        return ReportError(ev.error());
      }
      if (!warned) std::cerr << "(the server does not answer; waiting for it to come back)\n";
      warned = true;
      // Back off while the server is away; bounded by the 600 s limit above.
      std::this_thread::sleep_for(std::chrono::seconds(1));
      ++unavailable_for;
      continue;
    }
    if (warned) std::cerr << "(the server is back)\n";
    warned = false;
    unavailable_for = 0;
    // Log bytes arrive in the same answer as the events around them; the command's output
    // belongs before Finalizing and the final status, so those are printed after it.
    auto print_events = [&](bool closing) {
      for (const auto& e : (*ev)["events"]) {
        std::string status = e.value("status", "");
        bool is_closing = status == "Finalizing" || status == "Completed" || status == "Failed" ||
                          status == "Canceled" || status == "CancelRequested";
        if (is_closing != closing) continue;
        std::string detail = e.value("detail", "");
        std::cout << "[" << e.value("time", "") << "] " << status
                  << (detail.empty() ? "" : "  (" + detail + ")") << "\n";
      }
    };
    print_events(false);
    std::string log = (*ev)["log"];
    if (!log.empty()) std::cout << log;
    print_events(true);
    std::cout.flush();
    since = (*ev)["next"];
    offset = (*ev)["offset"];
    if ((*ev)["terminal"].get<bool>() && log.empty() && (*ev)["events"].empty()) break;
  }
  auto run = client.Call("GET", RunPath(name));
  if (!run.has_value()) return ReportError(run.error());
  std::string status = (*run)["status"];
  std::cout << "\nRun " << name << " finished: " << status << " after " << Duration(*run) << "\n";
  std::string error = (*run).value("error", "");
  if (!error.empty()) std::cout << "Error: " << error << "\n";
  return status == "Completed" ? 0 : 1;
}

// Uploads what `spec` (a command job, or a sweep's trial) needs and posts `body_spec` with it
// to `path` (/runs or /sweeps).
Result<Json> Submit(http::HttpClient& client, const jobs::JobSpec& spec, const Json& body_spec,
                    const std::string& path) {
  UploadStats stats;
  std::string snapshot;
  int64_t started = MonotonicMillis();
  if (!spec.code.empty()) {
    ASSIGN_OR_RETURN(snapshot, UploadFolder(client, spec.code, "code", &stats));
  }
  Json input_trees = Json::object();
  for (const auto& [name, input] : spec.inputs) {
    if (input.kind == jobs::InputSpec::Kind::kLiteral) continue;
    if (jobs::IsAssetReference(input.path)) continue;  // the server resolves datasets
    std::string what = "input '" + name + "'";
    Result<std::string> tree = input.kind == jobs::InputSpec::Kind::kUriFile
                                   ? UploadFile(client, input.path, what, &stats)
                                   : UploadFolder(client, input.path, what, &stats);
    if (!tree.has_value()) return Err(tree.error().WithPrefix(what));
    input_trees[name] = *tree;
  }
  if (stats.files > 0) {
    std::cerr << "Snapshot: " << stats.files << " files, " << stats.bytes << " bytes; uploaded "
              << stats.sent_files << " new files (" << stats.sent_bytes << " bytes) in "
              << (MonotonicMillis() - started) << " ms\n";
  }
  Json body = {{"spec", body_spec}, {"snapshot_id", snapshot}, {"input_trees", input_trees}};
  return client.Call("POST", path, body);
}

// Whether the YAML file is a sweep job (`type: sweep`); a file that does not parse is left to
// the command-job reader, whose messages name the line.
bool IsSweepFile(const std::string& file) {
  auto text = ReadFile(file);
  if (!text.has_value()) return false;
  auto json = jobs::YamlToJson(*text, file);
  return json.has_value() && sweep::IsSweepDocument(*json);
}

// A run's answer, or for a sweep the one of GET /sweeps/NAME.
Result<Json> GetSweep(http::HttpClient& client, const std::string& name) {
  return client.Call("GET", "/api/v1/sweeps/" + http::UrlEncode(name));
}

}  // namespace

int JobCreate(const GlobalFlags& g, const JobFlags& f) {
  // Everything that can be checked locally is checked before anything is uploaded.
  const bool is_sweep = IsSweepFile(f.file);
  Result<Json> run = Err(InternalError("not submitted"));
  if (is_sweep) {
    auto job = sweep::LoadSweepFile(f.file);
    if (!job.has_value()) return ReportError(job.error());
    if (!f.name.empty()) job->trial.name = f.name;
    auto client = Connect(g);
    if (!client.has_value()) return ReportError(client.error());
    run = Submit(**client, job->trial, job->ToJson(), "/api/v1/sweeps");
  } else {
    auto spec = jobs::LoadJobFile(f.file);
    if (!spec.has_value()) return ReportError(spec.error());
    if (!f.name.empty()) spec->name = f.name;
    auto client = Connect(g);
    if (!client.has_value()) return ReportError(client.error());
    run = Submit(**client, *spec, spec->ToJson(), "/api/v1/runs");
  }
  if (!run.has_value()) return ReportError(run.error());
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  std::string name = (*run)["name"];
  if (f.output == "json") {
    std::cout << run->dump(2) << "\n";
  } else {
    std::cout << "Submitted " << (is_sweep ? "sweep " : "run ") << name << " (experiment "
              << (*run)["experiment_name"].get<std::string>() << ", status "
              << (*run)["status"].get<std::string>() << ")\n";
  }
  if (!f.stream) return 0;
  return Follow(**client, name);
}

int JobStream(const GlobalFlags& g, const JobFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  return Follow(**client, f.name);
}

int JobList(const GlobalFlags& g, const JobFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  if (!f.parent.empty()) {
    auto sweep = GetSweep(**client, f.parent);
    if (!sweep.has_value()) return ReportError(sweep.error());
    if (f.output == "json") {
      std::cout << (*sweep)["trials"].dump(2) << "\n";
    } else {
      PrintTrials(*sweep);
    }
    return 0;
  }
  std::string q = "?limit=" + std::to_string(f.max_results);
  if (!f.experiment.empty()) q += "&experiment=" + http::UrlEncode(f.experiment);
  auto runs = (*client)->Call("GET", "/api/v1/runs" + q);
  if (!runs.has_value()) return ReportError(runs.error());
  if (f.output == "json") {
    std::cout << (*runs)["runs"].dump(2) << "\n";
    return 0;
  }
  printf("%-30s %-20s %-16s %-24s %s\n", "NAME", "EXPERIMENT", "STATUS", "CREATED", "DURATION");
  for (const auto& r : (*runs)["runs"]) {
    printf("%-30s %-20s %-16s %-24s %s\n", r["name"].get<std::string>().c_str(),
           r["experiment_name"].get<std::string>().c_str(), r["status"].get<std::string>().c_str(),
           r["created_at"].get<std::string>().c_str(), Duration(r).c_str());
  }
  return 0;
}

int JobShow(const GlobalFlags& g, const JobFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto run = (*client)->Call("GET", RunPath(f.name));
  if (!run.has_value()) return ReportError(run.error());
  if (run->value("kind", "") == "sweep") {
    auto sweep = GetSweep(**client, f.name);
    if (!sweep.has_value()) return ReportError(sweep.error());
    if (f.output == "json") {
      std::cout << sweep->dump(2) << "\n";
    } else {
      PrintSweep(*sweep);
    }
    return 0;
  }
  const Json& r = *run;
  if (f.output == "json") {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  // The resolved job, decoded as the runner decodes it.
  auto spec = jobs::RunSpecFromJson(r, jobs::RunSpecForm::kRest);
  if (!spec.has_value()) return ReportError(spec.error().WithPrefix("the server's run"));
  std::cout << "Name:         " << r["name"].get<std::string>() << "\n"
            << "Display name: " << r["display_name"].get<std::string>() << "\n"
            << "Experiment:   " << r["experiment_name"].get<std::string>() << "\n"
            << "Status:       " << r["status"].get<std::string>() << "\n"
            << "Compute:      " << r["compute"].get<std::string>() << "\n"
            << "Created:      " << r["created_at"].get<std::string>() << "\n"
            << "Duration:     " << Duration(r) << "\n"
            << "Command:      " << spec->job.command << "\n";
  if (spec->plan.distributed()) {
    std::cout << "Processes:    " << spec->plan.world_size() << " on " << spec->plan.instance_count
              << " instance(s)\n";
  }
  if (!r.value("status_detail", "").empty()) {
    std::cout << "Detail:       " << r.value("status_detail", "") << "\n";
  }
  if (!r.value("compute_job_id", "").empty()) {
    std::cout << "Slurm job:    " << r.value("compute_job_id", "") << "\n";
  }
  if (!r["exit_code"].is_null()) std::cout << "Exit code:    " << r["exit_code"] << "\n";
  // A multi-node job's nodes, as their runners last reported them (while it is active).
  if (auto nodes = (*client)->Call("GET", RunPath(f.name) + "/nodes");
      nodes.has_value() && nodes->value("node_count", 1) > 1 && !(*nodes)["nodes"].empty()) {
    std::cout << "Nodes:\n";
    for (const auto& n : (*nodes)["nodes"]) {
      std::cout << "  node " << n.value("rank", 0) << "  " << n.value("state", "") << "  "
                << n.value("address", "") << "\n";
    }
  }
  if (!r["error"].get<std::string>().empty()) {
    std::cout << "Error:        " << r["error"].get<std::string>() << "\n";
  }
  if (!r["tags"].empty()) {
    std::cout << "Tags:\n";
    for (const auto& [k, v] : r["tags"].items())
      std::cout << "  " << k << ": " << FormatValue(v) << "\n";
  }
  if (!r["metrics"].empty()) {
    std::cout << "Metrics (latest):\n";
    for (const auto& [k, v] : r["metrics"].items()) {
      std::cout << "  " << k << ": " << FormatValue(v) << "\n";
    }
  }
  std::cout << "Status history:\n";
  for (const auto& e : r["status_history"]) {
    std::cout << "  " << e["time"].get<std::string>() << "  " << e["status"].get<std::string>()
              << "\n";
  }
  return 0;
}

int JobCancel(const GlobalFlags& g, const JobFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto run = (*client)->Call("POST", RunPath(f.name) + "/cancel");
  if (!run.has_value()) return ReportError(run.error());
  std::cout << "Run " << f.name << ": " << (*run)["status"].get<std::string>() << "\n";
  return 0;
}

int JobMetrics(const GlobalFlags& g, const JobFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto m = (*client)->Call("GET", RunPath(f.name) + "/metrics");
  if (!m.has_value()) return ReportError(m.error());
  if (f.output == "json") {
    std::cout << (*m)["metrics"].dump(2) << "\n";
    return 0;
  }
  if ((*m)["metrics"].empty()) std::cout << "Run " << f.name << " has logged no metrics.\n";
  for (const auto& [key, points] : (*m)["metrics"].items()) {
    std::cout << key << " (" << points.size() << " values)\n";
    for (const auto& p : points) {
      std::cout << "  step " << p["step"] << "  " << FormatValue(p["value"]) << "  "
                << FormatIsoTime(p["timestamp"].get<int64_t>()) << "\n";
    }
  }
  return 0;
}

int JobDownload(const GlobalFlags& g, const JobFlags& flags) {
  JobFlags f = flags;
  // The output's name becomes a folder below named-outputs/.
  if (!f.output_name.empty()) {
    if (Status st = ValidateName("output name", f.output_name); !st.ok()) return ReportError(st);
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto run = (*client)->Call("GET", RunPath(f.name));
  if (!run.has_value()) return ReportError(run.error());
  // A sweep's outputs are its best trial's.
  if (run->value("kind", "") == "sweep") {
    std::string best = (*run)["properties"].value("best_child_run_id", "");
    if (best.empty()) {
      return ReportError(FailedPreconditionError("sweep '" + f.name +
                                                 "' has no best trial yet (no trial has logged "
                                                 "its primary metric)"));
    }
    std::cout << "Sweep " << f.name << ": downloading its best trial, " << best << "\n";
    f.name = best;
    run = (*client)->Call("GET", RunPath(f.name));
    if (!run.has_value()) return ReportError(run.error());
  }
  fs::path dest = f.download_path.empty() ? fs::current_path() : fs::path(f.download_path);
  std::string prefix;
  fs::path root;
  if (!f.output_name.empty()) {
    prefix = "outputs/" + f.output_name + "/";
    root = dest / "named-outputs" / f.output_name;
  } else {
    root = dest / "artifacts";
  }
  auto list =
      (*client)->Call("GET", RunPath(f.name) + "/artifacts?prefix=" + http::UrlEncode(prefix));
  if (!list.has_value()) return ReportError(list.error());
  if (!f.output_name.empty() && (*list)["artifacts"].empty()) {
    return ReportError(
        NotFoundError("run '" + f.name + "' has no output named '" + f.output_name + "'"));
  }
  // Everything to write, as one tree, so that every path is checked before the first file
  // is written. Artifact paths are what the server listed: hostile until Tree::Add says not.
  artifacts::Tree tree;
  std::map<std::string, std::string> source;  // tree path -> artifact path
  for (const auto& a : (*list)["artifacts"]) {
    std::string path = a.is_object() ? a.value("path", "") : "";
    if (!path.starts_with(prefix)) {
      return ReportError(
          InvalidArgumentError("the server listed '" + path + "' outside '" + prefix + "'"));
    }
    int64_t mode = a.value("mode", 0644);
    artifacts::TreeEntry e{.path = path.substr(prefix.size()),
                           .blob = a.value("blob", ""),
                           .size = a.value("size", int64_t{0}),
                           .mode = static_cast<uint32_t>(mode) & 0777u};
    if (Status st = tree.Add(e); !st.ok()) return ReportError(st.WithPrefix("run " + f.name));
    source[e.path] = path;
  }
  // Logs have no hash in the run record; they are fetched first and checked as fetched.
  std::map<std::string, std::string> logs;  // tree path -> content
  if (f.output_name.empty()) {
    // std_log.txt, and a distributed job's std_log_process_N.txt per rank.
    std::vector<std::string> streams = {"std_log.txt"};
    if (run->is_object() && run->contains("logs") && (*run)["logs"].is_array()) {
      for (const auto& l : (*run)["logs"]) {
        std::string stream = l.is_object() ? l.value("stream", "") : "";
        if (stream != "std_log.txt" && artifacts::ValidateTreePath(stream).ok()) {
          streams.push_back(stream);
        }
      }
    }
    for (const auto& stream : streams) {
      auto log = (*client)->Send("GET", RunPath(f.name) + "/logs/" + http::UrlEncode(stream));
      if (!log.has_value() || log->status != 200 || log->body.empty()) continue;
      std::string path = "user_logs/" + stream;
      artifacts::TreeEntry e{.path = path,
                             .blob = Sha256Hex(log->body),
                             .size = static_cast<int64_t>(log->body.size())};
      if (Status st = tree.Add(e); !st.ok()) return ReportError(st.WithPrefix("run " + f.name));
      logs[path] = std::move(log->body);
    }
  }
  auto written = DownloadEntries(
      tree, root, f.overwrite, [&](const artifacts::TreeEntry& e) -> Result<std::string> {
        if (auto it = logs.find(e.path); it != logs.end()) return it->second;
        ASSIGN_OR_RETURN(auto content,
                         (*client)->Send("GET", RunPath(f.name) + "/artifacts/content/" +
                                                    http::UrlEncode(source.at(e.path))));
        if (content.status != 200) {
          return Err(http::StatusFromErrorBody(content.status, content.body));
        }
        return std::move(content.body);
      });
  if (!written.has_value()) return ReportError(written.error());
  std::cout << "Downloaded " << *written << " files (" << tree.TotalBytes() << " bytes) of run "
            << f.name << " to " << root.string() << "\n";
  return 0;
}

void AddJobCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static JobFlags job;
  auto* group = app.add_subcommand("job", "Submit and follow jobs");
  group->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int (*fn)(const GlobalFlags&, const JobFlags&),
                 bool needs_name) {
    return AddVerb(
        group, name, help, global, {{"-n,--name", &job.name, "Run name", needs_name}}, &job.output,
        {{"run name", &job.name}, {"experiment name", &job.experiment}},
        [&global, fn] { return fn(global, job); }, result);
  };
  auto* create =
      add("create", "Submit a job from a command-job or sweep-job YAML file", JobCreate, false);
  create->add_option("-f,--file", job.file, "Job YAML")->required();
  create->add_flag("-s,--stream", job.stream, "Follow the run until it ends");
  auto* list = add("list", "List runs, newest first", JobList, false);
  list->add_option("--experiment-name", job.experiment, "Only this experiment");
  list->add_option("--max-results", job.max_results, "How many");
  list->add_option("--parent", job.parent, "A sweep: list its trials with their values and score");
  add("show", "Show a run: status, times, error, latest metrics", JobShow, true);
  add("stream", "Follow a run's phases and logs until it ends", JobStream, true);
  add("cancel", "Cancel a run (a sweep: with its running trials)", JobCancel, true);
  add("metrics", "Print each metric's history", JobMetrics, true);
  auto* download = add("download", "Download a run's outputs and logs", JobDownload, true);
  download->add_option("--output-name", job.output_name, "Only this named output");
  download->add_option("--download-path", job.download_path,
                       "Destination (default: current folder)");
  download->add_flag("--overwrite", job.overwrite, "Replace files already there (default: refuse)");
}

}  // namespace gantry::cli
