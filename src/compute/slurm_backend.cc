#include "compute/slurm_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>

#include "common/logging.h"
#include "common/process.h"

namespace gantry::compute {
namespace {

// Single-quotes `s` for bash.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool IsKey(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '/' || c == ':')) {
      return false;
    }
  }
  return true;
}

class SlurmBackend : public ComputeBackend {
 public:
  explicit SlurmBackend(SlurmBackendOptions options) : options_(std::move(options)) {
    if (options_.executable.empty()) options_.executable = SelfExecutable();
  }

  Result<LaunchHandle> Submit(const LaunchRequest& request) override {
    RETURN_IF_ERROR(MakeDirs(request.work_dir));
    fs::path script = request.work_dir / "slurm.sh";
    RETURN_IF_ERROR(WriteFileAtomic(script, BuildSbatchScript(request, options_.executable)));
    // The token and the job's variables travel in sbatch's environment (--export=ALL), not
    // in the script file.
    auto env = CurrentEnvironment();
    for (const auto& [k, v] : request.env) env[k] = v;
    env["GANTRY_RUN_TOKEN"] = request.token;
    // A server that stopped between an earlier sbatch of this run and storing its job id left
    // a job behind whose token is no longer valid: it goes before the new one is submitted.
    if (auto stale = RunCommand({options_.scancel, "--name=gantry-" + request.run_name});
        !stale.has_value() || stale->code != 0) {
      GLOG(Warning) << "run " << request.run_name << ": scancel of earlier jobs named gantry-"
                    << request.run_name << " failed: "
                    << (stale.has_value() ? Trim(stale->text) : stale.error().message());
    }
    ASSIGN_OR_RETURN(CommandOutput out,
                     RunCommand({options_.sbatch, "--parsable", script.string()}, env));
    if (out.code != 0) {
      return Err(UnavailableError("sbatch refused the job (exit code " + std::to_string(out.code) +
                                  "): " + Trim(out.text)));
    }
    ASSIGN_OR_RETURN(std::string id, ParseSbatchJobId(out.text));
    return LaunchHandle{0, id};
  }

  RunnerPoll Poll(const LaunchHandle& handle) override {
    if (handle.job_id.empty()) return {RunnerState::kGone, "no Slurm job was recorded"};
    auto out = RunCommand({options_.scontrol, "show", "job", "-o", handle.job_id});
    if (!out.has_value()) return {RunnerState::kUnknown, out.error().message()};
    if (out->code != 0) {
      // Slurm forgets a finished job MinJobAge seconds after it ends.
      if (out->text.find("Invalid job id") != std::string::npos) {
        return {RunnerState::kGone, "Slurm job " + handle.job_id + " is no longer known to Slurm"};
      }
      return {RunnerState::kUnknown, "scontrol: " + Trim(out->text)};
    }
    auto fields = ParseScontrolJob(out->text);
    if (!fields.has_value()) return {RunnerState::kUnknown, fields.error().message()};
    return ClassifySlurmJob(handle.job_id, *fields);
  }

  std::map<std::string, RunnerPoll> PollJobs(const std::vector<std::string>& job_ids) override {
    std::map<std::string, RunnerPoll> out;
    if (job_ids.empty()) return out;
    std::string list;
    for (const auto& id : job_ids) list += (list.empty() ? "" : ",") + id;
    auto q = RunCommand({options_.squeue, "-h", "-t", "all", "-j", list, "-o", kSqueueFormat});
    std::map<std::string, std::map<std::string, std::string>> jobs;
    if (q.has_value() && q->code == 0) jobs = ParseSqueue(q->text);
    for (const auto& id : job_ids) {
      auto it = jobs.find(id);
      if (it != jobs.end()) {
        RunnerPoll poll = ClassifySlurmJob(id, it->second);
        // Waiting or running: squeue said all there is to say. An ended job's exit code
        // comes from scontrol.
        if (poll.state != RunnerState::kGone) {
          out[id] = poll;
          continue;
        }
      }
      out[id] = Poll(LaunchHandle{0, id});
    }
    return out;
  }

  Status Kill(const LaunchHandle& handle, int64_t /*process_group*/) override {
    if (handle.job_id.empty()) return Status::Ok();
    // Slurm signals every process of the job on its nodes: the runner and its job's groups.
    ASSIGN_OR_RETURN(CommandOutput out, RunCommand({options_.scancel, handle.job_id}));
    if (out.code != 0 && out.text.find("Invalid job id") == std::string::npos &&
        out.text.find("already completing or completed") == std::string::npos) {
      return UnavailableError("scancel " + handle.job_id + " failed: " + Trim(out.text));
    }
    return Status::Ok();
  }

 private:
  SlurmBackendOptions options_;
};

}  // namespace

std::string SlurmTimeLimit(int64_t timeout_seconds) {
  if (timeout_seconds <= 0) return "";
  // The runner enforces limits.timeout on the command itself; Slurm's limit is the backstop
  // and also covers preparing (downloads, environment builds) and the final uploads.
  constexpr int64_t kMarginSeconds = 600;
  return std::to_string((timeout_seconds + kMarginSeconds + 59) / 60);
}

std::string BuildSbatchScript(const LaunchRequest& request, const fs::path& executable) {
  const auto& p = request.placement;
  fs::path root = p.node_work_root.empty() ? fs::path("/tmp") : p.node_work_root;
  fs::path work = root / ("gantry-" + request.run_name);
  std::string s = "#!/bin/bash\n# Written by gantry for run " + request.run_name + "\n";
  auto directive = [&](const std::string& d) { s += "#SBATCH " + d + "\n"; };
  directive("--job-name=gantry-" + request.run_name);
  directive("--nodes=" + std::to_string(std::max(p.nodes, 1)));
  directive("--ntasks-per-node=1");
  if (p.cpus > 0) directive("--cpus-per-task=" + std::to_string(p.cpus));
  if (p.gpus > 0) directive("--gres=gpu:" + std::to_string(p.gpus));
  if (p.memory_gb > 0) {
    directive("--mem=" + std::to_string(static_cast<int64_t>(std::ceil(p.memory_gb * 1024))) + "M");
  }
  if (std::string t = SlurmTimeLimit(p.timeout_seconds); !t.empty()) directive("--time=" + t);
  if (!p.partition.empty()) directive("--partition=" + p.partition);
  if (!p.account.empty()) directive("--account=" + p.account);
  if (!p.qos.empty()) directive("--qos=" + p.qos);
  directive("--output=" + (root / ("gantry-" + request.run_name + ".slurm-%j.out")).string());
  directive("--export=ALL");
  for (const auto& a : p.extra_args) directive(a);
  s += "\n";
  // --kill-on-bad-exit: the runner is the step; if it dies, nothing of the job stays.
  // --no-report-on-signal: when Slurm stops the runner (scancel, time limit), Slurm's
  // verdict, read by the server, is the run's, not "the runner was stopped by signal 15".
  // A multi-node job runs one runner per node; each learns its node rank from SLURM_NODEID.
  const std::string n = std::to_string(std::max(p.nodes, 1));
  s += "exec srun --nodes=" + n + " --ntasks=" + n + " --ntasks-per-node=1 --kill-on-bad-exit=1 " +
       Quote(executable.string()) + " runner --server " + Quote(request.server_url) + " --run " +
       Quote(request.run_name) + " --work-dir " + Quote(work.string()) + " --no-report-on-signal";
  if (!request.ca_file.empty()) s += " --ca-file " + Quote(request.ca_file);
  if (p.nodes > 1) s += " --node-count " + n + " --node-rank-from-env SLURM_NODEID";
  s += "\n";
  return s;
}

Result<std::string> ParseSbatchJobId(std::string_view out) {
  std::string line = Trim(out);
  if (size_t nl = line.rfind('\n'); nl != std::string::npos) line = Trim(line.substr(nl + 1));
  std::string id = line.substr(0, line.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789_") != std::string::npos) {
    return Err(InvalidArgumentError("sbatch printed no job id: '" + Trim(out) + "'"));
  }
  return id;
}

Result<std::map<std::string, std::string>> ParseScontrolJob(std::string_view out) {
  std::map<std::string, std::string> fields;
  std::string last;
  std::string text = Trim(out);
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find_first_of(" \n", i);
    if (j == std::string::npos) j = text.size();
    std::string token = text.substr(i, j - i);
    i = j + 1;
    if (token.empty()) continue;
    size_t eq = token.find('=');
    if (eq != std::string::npos && IsKey(token.substr(0, eq)) &&
        !fields.count(token.substr(0, eq))) {
      last = token.substr(0, eq);
      fields[last] = token.substr(eq + 1);
    } else if (!last.empty()) {
      fields[last] += " " + token;
    }
  }
  if (!fields.count("JobState")) {
    return Err(InvalidArgumentError("scontrol printed no JobState: '" + text + "'"));
  }
  return fields;
}

std::map<std::string, std::map<std::string, std::string>> ParseSqueue(std::string_view out) {
  std::map<std::string, std::map<std::string, std::string>> jobs;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string_view::npos) end = out.size();
    std::string line = Trim(out.substr(start, end - start));
    start = end + 1;
    std::vector<std::string> f;
    size_t from = 0;
    for (size_t bar; (bar = line.find('|', from)) != std::string::npos; from = bar + 1) {
      f.push_back(line.substr(from, bar - from));
    }
    f.push_back(line.substr(from));
    if (f.size() != 4 || f[0].empty() || f[1].empty() ||
        f[0].find_first_not_of("0123456789_") != std::string::npos) {
      continue;
    }
    jobs[f[0]] = {{"JobState", f[1]}, {"Reason", f[2]}, {"NodeList", f[3]}};
  }
  return jobs;
}

RunnerPoll ClassifySlurmJob(const std::string& job_id,
                            const std::map<std::string, std::string>& fields) {
  auto get = [&](const char* k) {
    auto it = fields.find(k);
    return it == fields.end() ? std::string() : it->second;
  };
  const std::string state = get("JobState");
  const std::string reason = get("Reason");
  const bool has_reason = !reason.empty() && reason != "None" && reason != "(null)";
  static const std::set<std::string> kWaiting = {"PENDING",     "CONFIGURING",  "REQUEUED",
                                                 "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING",
                                                 "SUSPENDED",   "STOPPED",      "RESV_DEL_HOLD"};
  if (kWaiting.count(state)) {
    return {RunnerState::kPending, "Slurm job " + job_id + " " +
                                       (state == "PENDING" ? "pending" : state) +
                                       (has_reason ? ": " + reason : "")};
  }
  if (state == "RUNNING" || state == "COMPLETING" || state == "SIGNALING" || state == "STAGE_OUT") {
    std::string nodes = get("NodeList");
    return {RunnerState::kRunning,
            "Slurm job " + job_id + " running" + (nodes.empty() ? "" : " on " + nodes)};
  }
  std::string detail = "Slurm job " + job_id + " ended as " + state;
  if (has_reason) detail += " (reason: " + reason + ")";
  if (std::string code = get("ExitCode"); !code.empty() && code != "0:0") {
    detail += ", exit code " + code;
  }
  return {RunnerState::kGone, detail};
}

std::unique_ptr<ComputeBackend> NewSlurmBackend(const SlurmBackendOptions& options) {
  return std::make_unique<SlurmBackend>(options);
}

}  // namespace gantry::compute
