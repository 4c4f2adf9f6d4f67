#include "runner/runner.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "common/files.h"
#include "common/logging.h"
#include "common/process.h"
#include "env/environment_builder.h"
#include "jobs/distribution.h"
#include "jobs/job_spec.h"
#include "jobs/run_messages.h"
#include "jobs/run_spec.h"
#include "jobs/run_status.h"
#include "runner/artifact_transfer.h"
#include "runner/job_environment.h"
#include "runner/job_folder.h"
#include "runner/job_outcome.h"
#include "runner/job_processes.h"
#include "runner/log_shipper.h"
#include "runner/metrics_relay.h"
#include "runner/node_group.h"
#include "runner/relay_pacer.h"
#include "runner/run_client.h"
#include "runner/server_link.h"

namespace gantry::runner {
namespace {

constexpr int64_t kTickMs = 100;
// How often, within a tick, a single-process job is checked for its exit.
constexpr int64_t kExitPollMs = 5;
constexpr int64_t kShipEveryMs = 200;
// Metric points written since the last relay go out this soon after it (RelayPacer): a
// sweep's policy decides on them as they arrive.
constexpr int64_t kMetricsGapMs = 20;
constexpr int64_t kHeartbeatEveryMs = 1000;
constexpr int64_t kLogsUploadEveryMs = 5000;
// While the server cannot be reached, calls are tried again this often.
constexpr int64_t kRetryEveryMs = 1000;
// After the command exits, how long processes that left its group may keep its pipes open.
constexpr int kPipeDrainMs = 5000;
// Attempts for a final step the server keeps refusing (not merely unreachable).
constexpr int kFinalStepAttempts = 3;
// Multi-node jobs: how often a node reports its state and reads the others'.
constexpr int64_t kNodePollMs = 250;
// After a multi-node mpirun failed, how long node 0 waits for the other nodes' reports.
constexpr int64_t kPeerReportWaitMs = 10'000;

// Set by the runner's own SIGTERM/SIGINT/SIGHUP handler.
std::atomic<int> g_runner_signal{0};

void OnRunnerSignal(int sig) { g_runner_signal.store(sig); }

int RunnerSignal() { return g_runner_signal.load(); }

// Installs the runner's signal handling for the lifetime of one RunJob call.
class SignalScope {
 public:
  SignalScope() {
    g_runner_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = OnRunnerSignal;
    // Blocking HTTP calls should not fail just because a signal arrived.
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &old_pipe_);
  }
  ~SignalScope() {
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGTERM, SIGINT, SIGHUP};
  struct sigaction old_[3]{};
  struct sigaction old_pipe_ {};
};

// A string field of the run object, "" when absent or not a string (never throws).
std::string TextField(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// One run on this node, from fetching it to its final report. It owns the order of the steps
// and the loop that drives them; the state lives with its owners: the job folder
// (JobFolder), the conversation with the server (ServerLink), the job's processes
// (JobProcesses), the other nodes (NodeGroup), the shippers of logs, metrics and folders,
// and the outcome rule (DecideOutcome).
class JobRun {
 public:
  explicit JobRun(const RunnerOptions& options)
      : options_(options),
        clock_(options.clock ? *options.clock : *SystemClock()),
        launcher_(options.launcher ? options.launcher : SystemLauncher()),
        environment_(options.environment ? *options.environment : CurrentEnvironment()) {}

  int Run() {
    if (Status s = SetUp(); !s.ok()) {
      GLOG(Error) << "runner for run '" << options_.run_name << "': " << s.message();
      return 1;
    }
    Result<Json> run = FetchRun();
    if (!run) {
      GLOG(Error) << "cannot fetch run '" << options_.run_name << "': " << run.error().message();
      return 1;
    }
    std::string current = TextField(*run, "status");
    if (Result<jobs::RunStatus> st = jobs::ParseRunStatus(current); st && jobs::IsTerminal(*st)) {
      GLOG(Warning) << "run '" << options_.run_name << "' is already " << current
                    << "; nothing to do";
      return 1;
    }
    if (current == jobs::RunStatusName(jobs::RunStatus::kCancelRequested)) {
      return Report(Outcome{.status = jobs::RunStatus::kCanceled});
    }

    if (Status s = Prepare(*run); !s.ok()) {
      if (link_->stopped()) return 1;
      return Report(Outcome{.error = s.message()});
    }
    EnqueueStatus({.status = jobs::RunStatus::kStarting});
    link_->Flush();
    if (link_->stopped()) return 1;
    if (link_->cancel_requested()) return Report(Outcome{.status = jobs::RunStatus::kCanceled});
    if (int sig = RunnerSignal(); sig != 0) {
      return Report(Outcome{.error = "the runner was stopped by signal " + std::to_string(sig) +
                                     " (" + SignalName(sig) + ") before the command started"});
    }
    NodeLayout layout;
    if (nodes_) {
      if (plan_.type == jobs::DistributionPlan::Type::kMpi) {
        Status s = processes_->PrepareMpiNode();
        OpenRankShippers();
        if (!s.ok()) {
          processes_->StopAfterFailedLaunch();
          return Report(Outcome{.error = s.message()});
        }
      }
      const int ports = plan_.type == jobs::DistributionPlan::Type::kTensorFlow
                            ? static_cast<int>(plan_.world_size())
                            : 1;
      Status s = nodes_->Meet(ports);
      if (link_->stopped()) return 1;
      if (!s.ok()) return Report(Outcome{.error = s.message()});
      if (link_->cancel_requested()) return Report(Outcome{.status = jobs::RunStatus::kCanceled});
      layout = nodes_->layout();
    }
    Status launched = processes_->Launch(layout);
    OpenRankShippers();
    if (!launched.ok()) return Report(Outcome{.error = launched.message()});
    if (nodes_) {
      // Node 0 reports Running once every node runs (PollNodes).
      nodes_->set_state(jobs::NodeState::kRunning);
      PollNodes();
    } else {
      EnqueueStatus({.status = jobs::RunStatus::kRunning, .process_group = processes_->pid()});
    }
    Watch();
    return Finish();
  }

 private:
  bool multi_node() const { return options_.node_count > 1; }
  bool leader() const { return !multi_node() || options_.node_rank == 0; }

  // ---------------------------------------------------------------- setup and preparation

  Status SetUp() {
    ASSIGN_OR_RETURN(
        folder_, JobFolder::Open(options_.work_dir,
                                 multi_node() ? std::optional(options_.node_rank) : std::nullopt,
                                 environment_));
    ASSIGN_OR_RETURN(
        client_,
        RunClient::Create(
            {.server_url = options_.server_url,
             .run_name = options_.run_name,
             .token = options_.token,
             .ca_file = options_.ca_file,
             .metrics_sender = multi_node() ? "node_" + std::to_string(options_.node_rank) : ""}));
    link_ = std::make_unique<ServerLink>(
        client_.get(), &clock_,
        ServerLinkOptions{.server_url = options_.server_url,
                          .run_name = options_.run_name,
                          .server_wait_seconds = options_.server_wait_seconds,
                          .retry_every_ms = kRetryEveryMs,
                          .on_cancel =
                              [this] {
                                if (processes_) processes_->OnCancel();
                              },
                          .runner_signal = RunnerSignal});
    if (multi_node()) {
      // The server merges every node's stream into std_log.txt.
      node_log_sink_ =
          std::make_unique<RunLogStream>(client_.get(), jobs::NodeLogStream(options_.node_rank));
      log_shipper_ = std::make_unique<LogShipper>(folder_->log_file(), node_log_sink_.get());
      nodes_ = std::make_unique<NodeGroup>(
          link_.get(), &clock_,
          NodeGroupOptions{.run_name = options_.run_name,
                           .server_url = options_.server_url,
                           .node_count = options_.node_count,
                           .node_rank = options_.node_rank,
                           .node_address = options_.node_address,
                           .rendezvous_seconds = options_.rendezvous_seconds,
                           .tick_ms = kTickMs,
                           .runner_signal = RunnerSignal});
    } else {
      log_shipper_ = std::make_unique<LogShipper>(folder_->log_file(), client_.get());
    }
    relay_ = std::make_unique<MetricsRelay>(folder_->metrics_file(), client_.get());
    // Node 0's logs/ are the run's logs/; another node's go under logs/node_RANK/.
    logs_uploader_ = std::make_unique<FolderUploader>(
        folder_->logs(),
        leader() ? "logs/" : "logs/node_" + std::to_string(options_.node_rank) + "/",
        folder_->snapshot_cache("logs"));
    outputs_uploader_ = std::make_unique<FolderUploader>(folder_->outputs(), "outputs/",
                                                         folder_->snapshot_cache("outputs"));
    return Status::Ok();
  }

  Result<Json> FetchRun() {
    Result<Json> run = Err(UnavailableError("not tried"));
    Status s = link_->RetryWhileUnavailable([&] {
      run = client_->GetRun();
      return internal::AsStatus(run);
    });
    if (!s.ok()) return Err(s);
    if (!run->is_object()) return Err(InternalError("the server's run is not an object"));
    return run;
  }

  // Downloads a tree into `dest` through this node's blob cache, while the server is away too.
  Result<artifacts::Tree> FetchTree(const std::string& id, const fs::path& dest) {
    artifacts::Tree tree;
    Status s = link_->RetryWhileUnavailable([&] {
      Result<artifacts::Tree> t = DownloadTree(*client_, id, dest, folder_->blob_cache());
      if (t) tree = std::move(*t);
      return internal::AsStatus(t);
    });
    if (!s.ok()) return Err(s);
    return tree;
  }

  Status Prepare(const Json& run) {
    Result<jobs::RunSpec> resolved = jobs::RunSpecFromJson(run, jobs::RunSpecForm::kRest);
    if (!resolved) return resolved.error().WithPrefix("the run's job spec is invalid");
    spec_ = std::move(resolved->job);
    std::string experiment = TextField(run, "experiment_name");
    if (experiment.empty()) experiment = spec_.experiment_name;

    if (std::string snapshot_id = TextField(run, "snapshot_id"); !snapshot_id.empty()) {
      Result<artifacts::Tree> code = FetchTree(snapshot_id, folder_->wd());
      if (!code) return code.error().WithPrefix("cannot download the code snapshot " + snapshot_id);
    }

    std::map<std::string, std::string> input_values;
    auto fetch = [this](const std::string& id, const fs::path& dest) {
      return FetchTree(id, dest);
    };
    for (const auto& [name, input] : spec_.inputs) {
      auto tree = resolved->input_trees.find(name);
      const std::string tree_id = tree != resolved->input_trees.end() ? tree->second : "";
      ASSIGN_OR_RETURN(input_values[name], folder_->MaterializeInput(name, input, tree_id, fetch));
    }
    ASSIGN_OR_RETURN(auto output_values, folder_->MakeOutputs(spec_.outputs));
    ASSIGN_OR_RETURN(std::string command,
                     jobs::SubstitutePlaceholders(spec_.command, input_values, output_values));

    EnvironmentMap base = environment_;
    std::string path_env = base.count("PATH") ? base["PATH"] : "/usr/local/bin:/usr/bin:/bin";
    // A registered or curated environment was pinned by the server at submission.
    std::optional<fs::path> interpreter;
    EnvironmentMap variables;
    fs::path container_engine;
    std::string container_image;
    if (resolved->environment) {
      env::EnvironmentBuildOptions build{folder_->environment_cache(), path_env,
                                         [this](const std::string& line) { AppendToLog(line); }};
      ASSIGN_OR_RETURN(
          env::BuiltEnvironment built,
          env::BuildEnvironment(jobs::PinnedEnvironmentToJson(*resolved->environment), build));
      if (!built.interpreter.empty()) interpreter = built.interpreter;
      variables = std::move(built.variables);
      container_engine = built.container_engine;
      container_image = built.container_image;
    } else {
      ASSIGN_OR_RETURN(interpreter, ResolveInterpreter(spec_.environment, path_env, folder_->wd()));
    }
    // The job's own environment_variables win over the environment's.
    for (const auto& [k, v] : spec_.environment_variables) variables[k] = v;
    JobContext context{
        .run_id = options_.run_name,
        .server_url = options_.server_url,
        .token = options_.token,
        .ca_file = options_.ca_file,
        .experiment_name = experiment,
        .metrics_file = folder_->metrics_file(),
        .outputs_dir = folder_->outputs(),
        .path_prefix = {},
        .python_sdk_dir = options_.python_sdk_dir,
        .user_variables = variables,
    };
    if (interpreter) {
      ASSIGN_OR_RETURN(context.path_prefix,
                       InstallInterpreterLaunchers(folder_->bin(), *interpreter));
      GLOG(Info) << "run '" << options_.run_name << "': python is " << interpreter->string();
    }
    if (!context.python_sdk_dir.empty()) {
      std::error_code ec;
      context.python_sdk_dir = fs::absolute(context.python_sdk_dir, ec);
    }
    EnvironmentMap job_env = BuildJobEnvironment(std::move(base), context);
    plan_ = resolved->plan;
    ASSIGN_OR_RETURN(fs::path mpirun, CheckDistribution(job_env, container_image));
    processes_ = std::make_unique<JobProcesses>(
        JobProcessesOptions{.run_name = options_.run_name,
                            .work_dir = folder_->root(),
                            .wd = folder_->wd(),
                            .log_file = folder_->log_file(),
                            .command = std::move(command),
                            .env = std::move(job_env),
                            .plan = plan_,
                            .grace_seconds = options_.grace_seconds,
                            .timeout_seconds = spec_.timeout_seconds,
                            .node_count = options_.node_count,
                            .node_rank = options_.node_rank,
                            .container_engine = container_engine,
                            .container_image = container_image,
                            .python_sdk_dir = options_.python_sdk_dir,
                            .mpirun = mpirun,
                            .launcher = launcher_,
                            .clock = &clock_});
    return Status::Ok();
  }

  // Checks what a distributed job's launch needs on this node, before Starting. Returns
  // mpirun's path for distribution type mpi ("" otherwise).
  Result<fs::path> CheckDistribution(const EnvironmentMap& job_env, const std::string& image) {
    if (multi_node() && jobs::EndsWithChief(plan_)) {
      return Err(FailedPreconditionError(
          "a TensorFlow job with parameter servers runs all its tasks on one node (local "
          "compute, or a one-node Slurm job); this one was started on " +
          std::to_string(options_.node_count) + " nodes"));
    }
    if (multi_node() && plan_.instance_count != options_.node_count) {
      return Err(FailedPreconditionError(
          "the job has resources.instance_count " + std::to_string(plan_.instance_count) +
          " but its runners were started on " + std::to_string(options_.node_count) + " nodes"));
    }
    if (!plan_.distributed()) return fs::path();
    if (!image.empty()) {
      return Err(FailedPreconditionError(
          "distributed jobs (distribution or resources.instance_count > 1) cannot run in a "
          "container environment yet; use a conda, pip or python environment"));
    }
    fs::path mpirun;
    if (plan_.type == jobs::DistributionPlan::Type::kMpi) {
      std::optional<fs::path> found = FindExecutable({"mpirun"}, Lookup(job_env, "PATH"));
      if (!found) {
        return Err(FailedPreconditionError(
            "distribution type mpi needs OpenMPI's mpirun, which is not on the job's PATH; "
            "install OpenMPI on this machine (Debian: apt-get install openmpi-bin)"));
      }
      mpirun = *found;
    }
    GLOG(Info) << "run '" << options_.run_name << "': distributed ("
               << (plan_.type == jobs::DistributionPlan::Type::kNone ? "no framework"
                                                                     : jobs::TypeName(plan_.type))
               << "), " << plan_.world_size() << " processes on " << plan_.instance_count
               << (multi_node() ? " nodes; this is node " + std::to_string(options_.node_rank)
                                : std::string(" local instance(s)"));
    return mpirun;
  }

  // Build output goes to the run's log (before the command's own output), shipped as it
  // comes (at most every 200 ms) so that `gantry job stream` shows the build in Preparing.
  void AppendToLog(const std::string& line) {
    folder_->AppendToLog("[environment] " + line + "\n");
    if (log_shipper_ && clock_.NowMs() - last_build_ship_ms_ >= 200) {
      last_build_ship_ms_ = clock_.NowMs();
      (void)log_shipper_->Ship();  // an unreachable server gets it later from the main loop
    }
  }

  // The shippers of this node's per-rank logs, once the processes opened them. Idempotent.
  void OpenRankShippers() {
    if (!rank_shippers_.empty() || !processes_ || processes_->rank_logs() == nullptr) return;
    for (int64_t r : processes_->LocalRanks()) {
      rank_sinks_.push_back(std::make_unique<RunLogStream>(client_.get(), RankLogs::StreamName(r)));
      rank_shippers_.push_back(std::make_unique<LogShipper>(processes_->rank_logs()->RankFile(r),
                                                            rank_sinks_.back().get()));
    }
  }

  // ---------------------------------------------------------------- while the job runs

  // Runs the main loop until the job's processes have exited.
  void Watch() {
    const int64_t start = clock_.NowMs();
    next_ship_ms_ = start;
    next_heartbeat_ms_ = start;
    next_logs_upload_ms_ = start + kLogsUploadEveryMs;
    while (true) {
      if (processes_->Poll()) {
        // Node 0 waits for the other nodes to end before it reports (unless its own ranks
        // failed or were stopped: then the run is over for every node). When mpirun failed,
        // the rank that failed may be another node's: their reports get a few seconds.
        if (local_end_ms_ == 0) local_end_ms_ = clock_.NowMs();
        bool wait = nodes_ && leader() && !nodes_->others_ended() &&
                    nodes_->peer_failure().empty() && !link_->stopped();
        if (wait && !processes_->succeeded()) {
          const KillReason why = processes_->kill_reason();
          wait = plan_.type == jobs::DistributionPlan::Type::kMpi &&
                 (why == KillReason::kNone || why == KillReason::kRankFailed) &&
                 clock_.NowMs() - local_end_ms_ < kPeerReportWaitMs;
        }
        if (!wait) break;
      }
      const int64_t now = clock_.NowMs();
      processes_->Supervise(now, RunnerSignal(), link_->stopped());
      Tick(now);
      if (nodes_ && now >= next_node_poll_ms_ && !link_->stopped()) {
        next_node_poll_ms_ = now + kNodePollMs;
        PollNodes();
      }
      // One tick, cut short when a single-process job exits (a short job, a sweep's trial,
      // goes on to its report at once rather than at the next tick) or when metric points
      // wait to be relayed.
      for (int64_t slept = 0; slept < kTickMs; slept += kExitPollMs) {
        clock_.SleepMs(kExitPollMs);
        if (!processes_->distributed() && processes_->Poll()) break;
        if (MetricsDue(clock_.NowMs())) break;
      }
    }
  }

  // One pass of the periodic work while the job runs.
  void Tick(int64_t now) {
    if (link_->stopped() || !link_->Usable()) return;
    link_->Flush();
    if (now >= next_ship_ms_) {
      next_ship_ms_ = now + kShipEveryMs;
      Deliver("log upload", ShipAllLogs());
    }
    if (MetricsDue(now)) {
      relay_pacer_.Passed(now);
      Deliver("metrics upload", relay_->Relay(/*final=*/false));
    }
    // A sweep's early termination stopped the run on the points just sent: hear it now.
    if (now >= next_heartbeat_ms_ || client_->TakeCancelHint()) {
      next_heartbeat_ms_ = now + kHeartbeatEveryMs;
      link_->Heartbeat();
    }
    if (now >= next_logs_upload_ms_ && link_->Usable()) {
      next_logs_upload_ms_ = now + kLogsUploadEveryMs;
      Status s = logs_uploader_->Upload(*client_);
      // A file the job is still writing is simply picked up by a later pass.
      if (s.code() != StatusCode::kAborted) Deliver("logs", s);
    }
  }

  // Whether the metrics relay should run a pass now (RelayPacer's rule).
  bool MetricsDue(int64_t now) {
    return !link_->stopped() && link_->Usable() &&
           relay_pacer_.Due(now, relay_->FileBytes(), relay_->offset());
  }

  // Records a shipper's outcome with the link: an outage or a refusal.
  void Deliver(const char* what, const Status& s) {
    if (link_->Observe(s) && !s.ok()) link_->Refused(what, s);
  }

  // Reports this node's state, reads the others': another node's failure stops this node's
  // ranks; node 0 reports Running once every node runs.
  void PollNodes() {
    NodeGroup::PollResult poll = nodes_->Poll();
    const bool ended = processes_->exit().has_value();
    if (poll.new_failure) {
      const std::string& failure = nodes_->peer_failure();
      GLOG(Warning) << "run '" << options_.run_name
                    << "': " << failure.substr(0, failure.find('\n'))
                    << (ended ? "" : "; stopping this node's ranks");
      if (!ended && processes_->kill_reason() == KillReason::kNone) {
        nodes_->mark_stopped_for_peer();
        processes_->BeginKill(KillReason::kPeerFailed);
      }
    }
    if (leader() && poll.all_started && !running_reported_ && !ended) {
      running_reported_ = true;
      EnqueueStatus({.status = jobs::RunStatus::kRunning, .process_group = processes_->pid()});
      link_->Flush();
    }
  }

  // ---------------------------------------------------------------- after the command

  int Finish() {
    // Whatever the command left behind goes with it: in its group, and anywhere below the
    // runner (daemons that left the group and session are the runner's children by now).
    processes_->KillAll();
    // Drain logs its own warning when some output was still held open.
    (void)processes_->Drain(kPipeDrainMs);
    if (link_->stopped()) return 1;
    if (LeaveVerdictToBatchSystem()) return 1;
    // A cancel may have raced the exit (e.g. the backend signalled the group itself).
    const ExitInfo& exit = *processes_->exit();
    if (processes_->kill_reason() == KillReason::kNone && exit.code != 0 && link_->Usable()) {
      link_->Heartbeat();
    }
    if (link_->stopped()) return 1;
    Outcome outcome = Decide();
    if (nodes_ && leader() && !running_reported_) {
      // Every node's ranks ran (maybe too briefly for PollNodes to see them all running).
      running_reported_ = true;
      EnqueueStatus({.status = jobs::RunStatus::kRunning, .process_group = processes_->pid()});
    }
    if (processes_->distributed()) {
      GLOG(Info) << "run '" << options_.run_name << "': the job's processes ended ("
                 << (exit.code == 0 && exit.signal == 0 ? std::string("all succeeded")
                     : exit.signal ? "was killed by signal " + std::to_string(exit.signal) + " (" +
                                         SignalName(exit.signal) + ")"
                                   : "exited with code " + std::to_string(exit.code))
                 << "); finalizing";
    } else {
      GLOG(Info) << "run '" << options_.run_name << "': command "
                 << (exit.signal ? "killed by signal " + std::to_string(exit.signal)
                                 : "exited with code " + std::to_string(exit.code))
                 << "; finalizing";
    }
    EnqueueStatus({.status = jobs::RunStatus::kFinalizing});
    return Report(std::move(outcome), /*after_command=*/true);
  }

  // --no-report-on-signal: the signal may reach the command before the runner (Slurm signals
  // every process of the job), so any signal the runner got counts, not only kRunnerSignal.
  bool LeaveVerdictToBatchSystem() {
    if (!options_.no_report_on_signal || RunnerSignal() == 0) return false;
    // Best effort: the batch system decides how the run ended.
    if (link_->Usable()) (void)ShipAllLogs();
    GLOG(Warning) << "run '" << options_.run_name << "': the runner was stopped by signal "
                  << RunnerSignal() << "; leaving the final status to the batch system";
    return true;
  }

  // The final status, from what is known now that the job's processes have ended.
  Outcome Decide() const {
    JobEnding e{.cancel_requested = link_->cancel_requested(), .multi_node = multi_node()};
    if (nodes_) {
      e.others_stopped = nodes_->others_stopped();
      e.peer_failure = nodes_->peer_failure();
      e.peer_exit_code = nodes_->peer_exit_code();
    }
    processes_->DescribeEnding(&e, e.peer_failure, e.peer_exit_code);
    return DecideOutcome(e);
  }

  // Queues a status report: node 0 (or the only runner) speaks for the run; another node
  // reports only how it ended, as its node state.
  void EnqueueStatus(jobs::StatusReport report) {
    if (leader()) {
      link_->EnqueueStatus(std::move(report));
      return;
    }
    if (!jobs::IsTerminal(report.status)) return;
    if (processes_ && processes_->stopped_from_elsewhere()) nodes_->mark_stopped_for_peer();
    link_->EnqueueNodeReport(nodes_->FinalReport(report.status, report.error, report.exit_code));
  }

  // Delivers everything still pending and then the final status. Returns RunJob's exit code.
  int Report(Outcome outcome, bool after_command = false) {
    // The wait for an absent server counts from here, not from when it went away.
    link_->RestartWait();
    struct Step {
      const char* name;
      std::function<Status()> attempt;
      bool required;  // failing it fails a run that would otherwise complete
      bool done = false;
      int refusals = 0;
    };
    std::vector<Step> steps;
    if (after_command) {
      steps.push_back({"the log", [&] { return ShipAllLogs(); }, false});
      steps.push_back({"metrics", [&] { return relay_->Relay(/*final=*/true); }, false});
      if (leader()) {  // a multi-node job's outputs/ are node 0's
        steps.push_back({"outputs/", [&] { return outputs_uploader_->Upload(*client_); }, true});
      } else if (plan_.outputs_from_all_nodes) {  // ... and, when asked, node K's too
        outputs_uploader_ = std::make_unique<FolderUploader>(
            folder_->outputs(), "outputs/node_" + std::to_string(options_.node_rank) + "/",
            folder_->snapshot_cache("outputs"));
        steps.push_back({"outputs/", [&] { return outputs_uploader_->Upload(*client_); }, true});
      }
      steps.push_back({"logs/", [&] { return logs_uploader_->Upload(*client_); }, false});
    }
    bool final_enqueued = false;
    while (true) {
      if (link_->stopped()) return 1;
      if (link_->Usable()) {
        link_->Flush();
        for (Step& step : steps) {
          if (step.done || !link_->Usable() || link_->stopped()) continue;
          Status s = step.attempt();
          if (s.ok()) {
            step.done = true;
            link_->Observe(s);
          } else if (s.code() == StatusCode::kUnavailable) {
            link_->Observe(s);
          } else {
            if (s.code() != StatusCode::kAborted) {
              link_->Observe(s);
              link_->Refused(step.name, s);
            }
            if (++step.refusals >= kFinalStepAttempts) {
              GLOG(Error) << "cannot deliver " << step.name << " of run '" << options_.run_name
                          << "': " << s.message();
              step.done = true;
              if (step.required && outcome.status == jobs::RunStatus::kCompleted) {
                outcome.status = jobs::RunStatus::kFailed;
                outcome.error = "the command succeeded but uploading " + std::string(step.name) +
                                " failed: " + s.message();
              }
            }
          }
        }
      }
      const bool pending =
          std::any_of(steps.begin(), steps.end(), [](const Step& s) { return !s.done; });
      if (!pending && !final_enqueued && !link_->stopped()) {
        EnqueueStatus(
            {.status = outcome.status, .error = outcome.error, .exit_code = outcome.exit_code});
        final_enqueued = true;
        continue;  // try it at once
      }
      if (final_enqueued && link_->idle()) break;
      if (link_->stopped()) return 1;
      if (link_->GaveUp() || (link_->down() && RunnerSignal() != 0)) {
        GLOG(Error) << "gave up reporting run '" << options_.run_name << "' as "
                    << jobs::RunStatusName(outcome.status) << ": the server at "
                    << options_.server_url << " was unreachable for "
                    << options_.server_wait_seconds << " s";
        return 1;
      }
      link_->Pause(kTickMs);
    }
    GLOG(Info) << "run '" << options_.run_name << "' ended as "
               << jobs::RunStatusName(outcome.status)
               << (outcome.error.empty() ? "" : ": " + outcome.error);
    // Another node exits 0 once its state is delivered, whatever it was: Slurm stops a job's
    // step when a task fails, and node 0 must get to report the run first.
    if (!leader()) return link_->final_refused() ? 1 : 0;
    return outcome.status == jobs::RunStatus::kCompleted && !link_->final_refused() ? 0 : 1;
  }

  // Ships std_log.txt and, for a distributed job, each rank's stream; the first error.
  Status ShipAllLogs() {
    Status first = log_shipper_->Ship();
    for (auto& shipper : rank_shippers_) {
      if (first.code() == StatusCode::kUnavailable) break;
      Status s = shipper->Ship();
      if (first.ok()) first = s;
    }
    return first;
  }

  const RunnerOptions& options_;
  RunnerClock& clock_;
  ProcessLauncher* launcher_;
  const EnvironmentMap environment_;

  // Who owns what: the folder, the server conversation, the job's processes, the other nodes.
  std::unique_ptr<JobFolder> folder_;
  std::unique_ptr<RunClient> client_;
  std::unique_ptr<ServerLink> link_;
  std::unique_ptr<JobProcesses> processes_;
  std::unique_ptr<NodeGroup> nodes_;  // multi-node jobs only

  // What travels to the server besides the run's status.
  std::unique_ptr<LogShipper> log_shipper_;
  std::unique_ptr<RunLogStream> node_log_sink_;  // std_log_node_RANK.txt
  std::unique_ptr<MetricsRelay> relay_;
  RelayPacer relay_pacer_{{.every_ms = kShipEveryMs, .min_gap_ms = kMetricsGapMs}};
  std::unique_ptr<FolderUploader> logs_uploader_, outputs_uploader_;
  std::vector<std::unique_ptr<RunLogStream>> rank_sinks_;
  std::vector<std::unique_ptr<LogShipper>> rank_shippers_;

  // The resolved job.
  jobs::JobSpec spec_;
  jobs::DistributionPlan plan_;

  // The loop's schedule.
  int64_t last_build_ship_ms_ = 0;
  int64_t next_ship_ms_ = 0, next_heartbeat_ms_ = 0, next_logs_upload_ms_ = 0;
  int64_t next_node_poll_ms_ = 0;
  int64_t local_end_ms_ = 0;       // when this node's processes had all exited
  bool running_reported_ = false;  // node 0 of a multi-node job: Running was reported
};

}  // namespace

int RunJob(const RunnerOptions& options) {
  SignalScope signals;
  // Orphans of the job become the runner's children, so none outlives the run (Finish).
  if (Status s = BecomeChildSubreaper(); !s.ok()) GLOG(Warning) << s.message();
  JobRun job(options);
  return job.Run();
}

}  // namespace gantry::runner
