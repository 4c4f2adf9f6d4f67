#include "runner/runner.h"

#include <set>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/process.h"
#include "jobs/distribution.h"
#include "jobs/job_spec.h"
#include "jobs/run_messages.h"
#include "jobs/run_status.h"
#include "artifacts/local_blob_store.h"
#include "runner/artifact_transfer.h"
#include "env/environment_builder.h"
#include "runner/job_environment.h"
#include "runner/log_shipper.h"
#include "runner/metrics_relay.h"
#include "runner/distributed_launch.h"
#include "runner/job_outcome.h"
#include "runner/output_pump.h"
#include "runner/rank_logs.h"
#include "runner/run_client.h"

namespace gantry::runner {
namespace {

// Gives the owner write permission back on a tree (before removing a read-only input).
void MakeWritable(const fs::path& root) {
  std::error_code ec;
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::permissions(it->path(), fs::perms::owner_read | fs::perms::owner_write |
                                    (it->is_directory(ec) ? fs::perms::owner_exec : fs::perms::none),
                    fs::perm_options::add, ec);
  }
}

// Removes write permission from a materialized input, folders last.
void MakeReadOnly(const fs::path& root) {
  std::error_code ec;
  std::vector<fs::path> dirs{root};
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) {
      dirs.push_back(it->path());
    } else {
      fs::permissions(it->path(), fs::perms::owner_write | fs::perms::group_write |
                                      fs::perms::others_write,
                      fs::perm_options::remove, ec);
    }
  }
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    fs::permissions(*d, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove, ec);
  }
}


constexpr int64_t kTickMs = 100;
constexpr int64_t kShipEveryMs = 200;
constexpr int64_t kHeartbeatEveryMs = 1000;
constexpr int64_t kLogsUploadEveryMs = 5000;
// While the server cannot be reached, calls are tried again this often.
constexpr int64_t kRetryEveryMs = 1000;
// After the command exits, how long processes that left its group may keep its pipes open.
constexpr int kPipeDrainMs = 5000;
// Attempts for a final step the server keeps refusing (not merely unreachable).
constexpr int kFinalStepAttempts = 3;
// Multi-node jobs: how often a node reports its state and reads the others', and how long a
// node that has not ended may stay silent before node 0 counts it as lost.
constexpr int64_t kNodePollMs = 250;
constexpr int64_t kNodeSilentMs = 30'000;
// After a multi-node mpirun failed, how long node 0 waits for the other nodes' reports.
constexpr int64_t kPeerReportWaitMs = 10'000;

// Set by the runner's own SIGTERM/SIGINT/SIGHUP handler.
std::atomic<int> g_runner_signal{0};

void OnRunnerSignal(int sig) { g_runner_signal.store(sig); }

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

int64_t Now() { return MonotonicMillis(); }

// A string field of a server answer, "" when absent or not a string (never throws).
std::string TextField(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// What a node of a multi-node job last reported (see RunService::ReportNode).
struct PeerNode {
  int64_t rank = 0;
  // nullopt: a state this runner does not know (a newer server's), taken as not started.
  std::optional<jobs::NodeState> state;
  std::string address, error;
  int64_t port = 0;
  std::optional<int> exit_code;
  int64_t updated_at = 0;
};

// The "nodes" of a nodes answer, by rank.
std::map<int64_t, PeerNode> ParsePeers(const Json& view) {
  std::map<int64_t, PeerNode> peers;
  if (!view.is_object() || !view.contains("nodes") || !view["nodes"].is_array()) return peers;
  for (const Json& n : view["nodes"]) {
    if (!n.is_object() || !n.contains("rank") || !n["rank"].is_number_integer()) continue;
    PeerNode p;
    p.rank = n["rank"].get<int64_t>();
    if (auto state = jobs::ParseNodeState(TextField(n, "state"))) p.state = *state;
    p.address = TextField(n, "address");
    p.error = TextField(n, "error");
    if (n.contains("port") && n["port"].is_number_integer()) p.port = n["port"].get<int64_t>();
    if (n.contains("exit_code") && n["exit_code"].is_number_integer()) {
      p.exit_code = n["exit_code"].get<int>();
    }
    if (n.contains("updated_at") && n["updated_at"].is_number_integer()) {
      p.updated_at = n["updated_at"].get<int64_t>();
    }
    peers[p.rank] = std::move(p);
  }
  return peers;
}

class JobRun {
 public:
  explicit JobRun(const RunnerOptions& options) : options_(options) {}

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
    if (current == "CancelRequested") {
      return Report(Outcome{.status = jobs::RunStatus::kCanceled});
    }

    if (Status s = Prepare(*run); !s.ok()) {
      if (stop_) return 1;
      return Report(Outcome{.error = s.message()});
    }
    EnqueueStatus(jobs::RunStatus::kStarting, {});
    FlushStatuses();
    if (stop_) return 1;
    if (cancel_requested_) return Report(Outcome{.status = jobs::RunStatus::kCanceled});
    if (int sig = g_runner_signal.load(); sig != 0) {
      return Report(Outcome{.error = "the runner was stopped by signal " + std::to_string(sig) +
                                     " (" + SignalName(sig) + ") before the command started"});
    }
    if (multi_node()) {
      if (plan_.type == jobs::DistributionPlan::Type::kMpi) {
        if (Status s = PrepareMpiNode(); !s.ok()) {
          StopProcesses();
          return Report(Outcome{.error = s.message()});
        }
      }
      Status s = Rendezvous();
      if (stop_) return 1;
      if (!s.ok()) return Report(Outcome{.error = s.message()});
      if (cancel_requested_) return Report(Outcome{.status = jobs::RunStatus::kCanceled});
    }
    if (Status s = Launch(); !s.ok()) return Report(Outcome{.error = s.message()});
    if (multi_node()) {
      // Node 0 reports Running once every node runs (PollNodes).
      node_state_ = jobs::NodeState::kRunning;
      PollNodes();
    } else {
      EnqueueStatus(jobs::RunStatus::kRunning, {{"process_group", pid_}});
    }
    Watch();
    return Finish();
  }

  // A multi-node job with one runner per node; leader(): this is node 0, which reports the
  // run's status (the others report only their node state).
  bool multi_node() const { return options_.node_count > 1; }
  bool leader() const { return !multi_node() || options_.node_rank == 0; }
  std::string NodeName() const { return "node " + std::to_string(options_.node_rank); }

 private:
  // ---------------------------------------------------------------- setup and preparation

  Status SetUp() {
    if (options_.work_dir.empty()) return InvalidArgumentError("no work folder given");
    std::error_code ec;
    work_dir_ = fs::absolute(options_.work_dir, ec);
    if (ec) return InternalError("cannot resolve " + options_.work_dir.string());
    // The nodes of a multi-node job may share the folder (a shared filesystem): each keeps
    // its own part.
    if (multi_node()) work_dir_ /= "node_" + std::to_string(options_.node_rank);
    RETURN_IF_ERROR(MakeDirs(work_dir_));
    wd_ = work_dir_ / "wd";
    outputs_dir_ = wd_ / "outputs";
    logs_dir_ = wd_ / "logs";
    log_file_ = work_dir_ / jobs::kMergedLogStream;
    metrics_file_ = work_dir_ / "metrics.jsonl";
    // A reused work folder must not leak an earlier attempt's files, logs or metrics.
    MakeWritable(work_dir_ / "inputs");
    for (const char* name : {"wd", "inputs", "bin"}) fs::remove_all(work_dir_ / name, ec);
    for (const char* name : {jobs::kMergedLogStream, "metrics.jsonl", "hostfile"}) {
      fs::remove(work_dir_ / name, ec);
    }
    fs::remove_all(work_dir_ / "ranks", ec);
    std::vector<fs::path> rank_logs;
    for (auto it = fs::directory_iterator(work_dir_, ec); !ec && it != fs::end(it); it.increment(ec)) {
      if (it->path().filename().string().rfind("std_log_process_", 0) == 0) {
        rank_logs.push_back(it->path());
      }
    }
    for (const auto& path : rank_logs) fs::remove(path, ec);
    RETURN_IF_ERROR(MakeDirs(wd_));

    ASSIGN_OR_RETURN(client_, RunClient::Create({.server_url = options_.server_url,
                                                 .run_name = options_.run_name,
                                                 .token = options_.token,
                                                 .ca_file = options_.ca_file,
                                                 .metrics_sender = multi_node()
                                                     ? "node_" + std::to_string(options_.node_rank)
                                                     : ""}));
    if (multi_node()) {
      // The server merges every node's stream into std_log.txt.
      node_log_sink_ = std::make_unique<RunLogStream>(
          client_.get(), jobs::NodeLogStream(options_.node_rank));
      log_shipper_ = std::make_unique<LogShipper>(log_file_, node_log_sink_.get());
    } else {
      log_shipper_ = std::make_unique<LogShipper>(log_file_, client_.get());
    }
    relay_ = std::make_unique<MetricsRelay>(metrics_file_, client_.get());
    // Node 0's logs/ are the run's logs/; another node's go under logs/node_RANK/.
    logs_uploader_ = std::make_unique<FolderUploader>(
        logs_dir_, leader() ? "logs/" : "logs/node_" + std::to_string(options_.node_rank) + "/",
        work_dir_ / "logs.snapshot-cache");
    outputs_uploader_ = std::make_unique<FolderUploader>(outputs_dir_, "outputs/",
                                                         work_dir_ / "outputs.snapshot-cache");
    last_answer_ms_ = Now();
    return Status::Ok();
  }

  Result<Json> FetchRun() {
    Result<Json> run = Err(UnavailableError("not tried"));
    Status s = RetryWhileUnavailable([&] {
      run = client_->GetRun();
      return internal::AsStatus(run);
    });
    if (!s.ok()) return Err(s);
    if (!run->is_object()) return Err(InternalError("the server's run is not an object"));
    return run;
  }

  Status Prepare(const Json& run) {
    Result<jobs::JobSpec> spec =
        jobs::JobSpec::FromJson(run.contains("spec") ? run["spec"] : Json());
    if (!spec) return spec.error().WithPrefix("the run's job spec is invalid");
    spec_ = std::move(*spec);
    experiment_ = TextField(run, "experiment_name");
    if (experiment_.empty()) experiment_ = spec_.experiment_name;

    std::string snapshot_id = TextField(run, "snapshot_id");
    if (!snapshot_id.empty()) {
      Status s = RetryWhileUnavailable(
          [&] { return internal::AsStatus(DownloadTree(*client_, snapshot_id, wd_, BlobCache())); });
      if (!s.ok()) return s.WithPrefix("cannot download the code snapshot " + snapshot_id);
    }

    std::map<std::string, std::string> input_values, output_values;
    const Json input_trees = run.contains("input_trees") && run["input_trees"].is_object()
                                 ? run["input_trees"]
                                 : Json::object();
    for (const auto& [name, input] : spec_.inputs) {
      ASSIGN_OR_RETURN(input_values[name], MaterializeInput(name, input, input_trees));
    }
    RETURN_IF_ERROR(MakeDirs(outputs_dir_));
    RETURN_IF_ERROR(MakeDirs(logs_dir_));
    for (const auto& [name, output] : spec_.outputs) {
      fs::path path = outputs_dir_ / name;
      // A uri_file output is a file the job writes; only a folder output is made for it.
      if (output.type != "uri_file") RETURN_IF_ERROR(MakeDirs(path));
      output_values[name] = path.string();
    }
    Result<std::string> command =
        jobs::SubstitutePlaceholders(spec_.command, input_values, output_values);
    if (!command) return command.error();
    command_ = std::move(*command);

    std::map<std::string, std::string> base = CurrentEnvironment();
    std::string path_env = base.count("PATH") ? base["PATH"] : "/usr/local/bin:/usr/bin:/bin";
    // A registered or curated environment was pinned by the server at submission.
    std::optional<fs::path> interpreter;
    std::map<std::string, std::string> variables;
    const Json environment = run.contains("environment") ? run["environment"] : Json();
    if (environment.is_object()) {
      env::EnvironmentBuildOptions build{EnvironmentCacheRoot(), path_env,
                                         [this](const std::string& line) { AppendToLog(line); }};
      ASSIGN_OR_RETURN(env::BuiltEnvironment built, env::BuildEnvironment(environment, build));
      if (!built.interpreter.empty()) interpreter = built.interpreter;
      variables = std::move(built.variables);
      container_engine_ = built.container_engine;
      container_image_ = built.container_image;
    } else {
      ASSIGN_OR_RETURN(interpreter, ResolveInterpreter(spec_.environment, path_env, wd_));
    }
    // The job's own environment_variables win over the environment's.
    for (const auto& [k, v] : spec_.environment_variables) variables[k] = v;
    JobContext context{
        .run_id = options_.run_name,
        .server_url = options_.server_url,
        .token = options_.token,
        .ca_file = options_.ca_file,
        .experiment_name = experiment_,
        .metrics_file = metrics_file_,
        .outputs_dir = outputs_dir_,
        .path_prefix = {},
        .python_sdk_dir = options_.python_sdk_dir,
        .user_variables = variables,
    };
    if (interpreter) {
      ASSIGN_OR_RETURN(context.path_prefix,
                       InstallInterpreterLaunchers(work_dir_ / "bin", *interpreter));
      GLOG(Info) << "run '" << options_.run_name << "': python is " << interpreter->string();
    }
    if (!context.python_sdk_dir.empty()) {
      std::error_code ec;
      context.python_sdk_dir = fs::absolute(context.python_sdk_dir, ec);
    }
    env_ = BuildJobEnvironment(std::move(base), context);
    return PrepareDistribution();
  }

  // Plans a distributed job's processes and checks what its launch needs, before Starting.
  Status PrepareDistribution() {
    Result<jobs::DistributionPlan> plan = jobs::PlanDistribution(spec_.resources, spec_.distribution);
    if (!plan) return plan.error();
    plan_ = *plan;
    if (multi_node() && jobs::EndsWithChief(plan_)) {
      return FailedPreconditionError(
          "a TensorFlow job with parameter servers runs all its tasks on one node (local "
          "compute, or a one-node Slurm job); this one was started on " +
          std::to_string(options_.node_count) + " nodes");
    }
    if (multi_node() && plan_.instance_count != options_.node_count) {
      return FailedPreconditionError(
          "the job has resources.instance_count " + std::to_string(plan_.instance_count) +
          " but its runners were started on " + std::to_string(options_.node_count) + " nodes");
    }
    if (!plan_.distributed()) return Status::Ok();
    if (!container_image_.empty()) {
      return FailedPreconditionError(
          "distributed jobs (distribution or resources.instance_count > 1) cannot run in a "
          "container environment yet; use a conda, pip or python environment");
    }
    if (plan_.type == jobs::DistributionPlan::Type::kMpi) {
      auto path = env_.find("PATH");
      std::optional<fs::path> mpirun =
          FindExecutable({"mpirun"}, path != env_.end() ? path->second : "");
      if (!mpirun) {
        return FailedPreconditionError(
            "distribution type mpi needs OpenMPI's mpirun, which is not on the job's PATH; "
            "install OpenMPI on this machine (Debian: apt-get install openmpi-bin)");
      }
      mpirun_ = *mpirun;
    }
    GLOG(Info) << "run '" << options_.run_name << "': distributed ("
               << (plan_.type == jobs::DistributionPlan::Type::kNone ? "no framework"
                                                                      : jobs::TypeName(plan_.type))
               << "), " << plan_.world_size() << " processes on " << plan_.instance_count
               << (multi_node() ? " nodes; this is " + NodeName() : std::string(" local instance(s)"));
    return Status::Ok();
  }

  // This node's blob cache: $GANTRY_BLOB_CACHE, else ~/.cache/gantry/blobs. Null (no cache)
  // when it cannot be opened.
  artifacts::BlobStore* BlobCache() {
    if (!blob_cache_tried_) {
      blob_cache_tried_ = true;
      fs::path root;
      if (const char* dir = std::getenv("GANTRY_BLOB_CACHE"); dir && *dir) {
        root = dir;
      } else if (const char* home = std::getenv("HOME"); home && *home) {
        root = fs::path(home) / ".cache" / "gantry" / "blobs";
      }
      if (!root.empty()) {
        auto store = artifacts::LocalBlobStore::Open(root);
        if (store.has_value()) blob_cache_ = std::move(*store);
      }
    }
    return blob_cache_.get();
  }
  bool blob_cache_tried_ = false;
  std::unique_ptr<artifacts::BlobStore> blob_cache_;

  std::string ContainerName() const { return "gantry-" + options_.run_name; }

  // `ENGINE run` for the command inside the environment's image: the run's folder mounted at
  // the same path (working folder, inputs, metrics file), the SDK read-only, the host
  // network (so GANTRY_URL works as on the host), the job's variables from a file.
  Result<std::vector<std::string>> ContainerCommand() {
    static const std::set<std::string> kHostOnly = {"PATH", "HOME", "HOSTNAME", "PWD",
                                                    "SHLVL", "_", "OLDPWD", "TERM"};
    std::string env_file;
    for (const auto& [k, v] : env_) {
      if (kHostOnly.count(k) || v.find('\n') != std::string::npos) continue;
      env_file += k + "=" + v + "\n";
    }
    fs::path env_path = work_dir_ / "container.env";
    RETURN_IF_ERROR(WriteFileAtomic(env_path, env_file));
    std::vector<std::string> argv = {container_engine_.string(), "run", "--rm", "--init",
                                     "--name", ContainerName(), "--network", "host",
                                     "-v", work_dir_.string() + ":" + work_dir_.string(),
                                     "-w", wd_.string(), "--env-file", env_path.string()};
    if (!options_.python_sdk_dir.empty()) {
      std::error_code ec;
      std::string sdk = fs::absolute(options_.python_sdk_dir, ec).string();
      argv.insert(argv.end(), {"-v", sdk + ":" + sdk + ":ro"});
    }
    if (auto gpus = env_.find("CUDA_VISIBLE_DEVICES"); gpus != env_.end() && !gpus->second.empty() &&
        container_engine_.filename() == "docker") {
      argv.insert(argv.end(), {"--gpus", "\"device=" + gpus->second + "\""});
    }
    argv.insert(argv.end(), {container_image_, "sh", "-c", command_});
    return argv;
  }

  // Where built environments live on this node: $GANTRY_ENV_CACHE, else ~/.cache/gantry/envs.
  static fs::path EnvironmentCacheRoot() {
    if (const char* dir = std::getenv("GANTRY_ENV_CACHE"); dir && *dir) return dir;
    if (const char* home = std::getenv("HOME"); home && *home) {
      return fs::path(home) / ".cache" / "gantry" / "envs";
    }
    return fs::temp_directory_path() / "gantry-envs";
  }

  // Build output goes to the run's log (before the command's own output), shipped as it
  // comes (at most every 200 ms) so that `gantry job stream` shows the build in Preparing.
  void AppendToLog(const std::string& line) {
    std::string text = "[environment] " + line + "\n";
    int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    (void)!::write(fd, text.data(), text.size());
    ::close(fd);
    if (log_shipper_ && Now() - last_build_ship_ms_ >= 200) {
      last_build_ship_ms_ = Now();
      (void)log_shipper_->Ship();  // an unreachable server gets it later from the main loop
    }
  }
  int64_t last_build_ship_ms_ = 0;
  fs::path container_engine_;   // set for container environments
  std::string container_image_;

  // The placeholder value of one input, downloading its tree when it has one.
  Result<std::string> MaterializeInput(const std::string& name, const jobs::InputSpec& input,
                                       const Json& input_trees) {
    if (input.kind == jobs::InputSpec::Kind::kLiteral) return input.literal;
    const bool is_file = input.kind == jobs::InputSpec::Kind::kUriFile;
    auto tree_id = input_trees.find(name);
    if (tree_id == input_trees.end() || !tree_id->is_string() ||
        tree_id->get<std::string>().empty()) {
      // A path readable here (same machine or shared filesystem) is used in place.
      std::error_code ec;
      fs::path local(input.path);
      if (local.is_absolute() &&
          (is_file ? fs::is_regular_file(local, ec) : fs::is_directory(local, ec))) {
        return local.string();
      }
      return Err(FailedPreconditionError("input '" + name + "' has no uploaded data and '" +
                                         input.path + "' is not readable on this machine"));
    }
    const fs::path dest = work_dir_ / "inputs" / name;
    artifacts::Tree tree;
    Status s = RetryWhileUnavailable([&] {
      Result<artifacts::Tree> t =
          DownloadTree(*client_, tree_id->get<std::string>(), dest, BlobCache());
      if (t) tree = std::move(*t);
      return internal::AsStatus(t);
    });
    if (!s.ok()) return Err(s.WithPrefix("cannot download input '" + name + "'"));
    // ro_mount (Azure's default for inputs) gives a read-only copy; "download" a private,
    // writable one.
    if (input.mode != "download") MakeReadOnly(dest);
    if (!is_file) return dest.string();
    if (tree.entries().size() != 1) {
      return Err(FailedPreconditionError("input '" + name + "' is a uri_file but its data has " +
                                         std::to_string(tree.entries().size()) + " files"));
    }
    return (dest / tree.entries().front().path).string();
  }

  // ---------------------------------------------------------------- the job's process

  static std::string Shell() { return ::access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh"; }

  Status Launch() {
    if (plan_.distributed()) {
      Status s = LaunchDistributed();
      if (!s.ok()) StopProcesses();
      return s;
    }
    const std::string shell = Shell();
    std::vector<std::string> argv = {shell, "-c", command_};
    if (!container_image_.empty()) {
      ASSIGN_OR_RETURN(argv, ContainerCommand());
    }
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      return InternalError(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return InternalError(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    Result<std::unique_ptr<OutputPump>> pump =
        OutputPump::Start({.stdout_fd = out[0], .stderr_fd = err[0], .log_file = log_file_});
    if (!pump) {
      ::close(out[1]);
      ::close(err[1]);
      return pump.error();
    }
    pump_ = std::move(*pump);
    Result<pid_t> pid = Spawn({.argv = argv,
                               .env = env_,
                               .cwd = wd_,
                               .new_session = true,
                               .stdout_fd = out[1],
                               .stderr_fd = err[1]});
    // Only the child keeps write ends, so the pump sees end-of-file when the job is done.
    ::close(out[1]);
    ::close(err[1]);
    if (!pid) {
      pump_->Stop();
      return pid.error().WithPrefix("cannot start the command");
    }
    pid_ = *pid;
    started_ms_ = Now();
    GLOG(Info) << "run '" << options_.run_name << "': started process group " << pid_ << ": "
               << command_;
    return Status::Ok();
  }

  // ---------------------------------------------------------------- a distributed job
  //
  // Every process the runner waits for (the ranks, or mpirun) leads its own process group
  // inside the runner's session: each is signalled as a group, and whatever escapes its
  // group (MPI ranks do) is still found through the session when the job is over.

  // Starts `argv` in a new process group with its output handed to rank_logs_ as `rank`
  // (RankLogs::kLauncher for mpirun), and records it in procs_.
  Status StartProcess(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, int64_t rank) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      return InternalError(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return InternalError(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    JobProcess proc;
    proc.rank = rank;
    ASSIGN_OR_RETURN(proc.pump, StartRankPump(out[0], err[0], rank, {out[1], err[1]}));
    Result<pid_t> pid = Spawn({.argv = argv,
                               .env = env,
                               .cwd = wd_,
                               .new_session = false,
                               .new_process_group = true,
                               .stdout_fd = out[1],
                               .stderr_fd = err[1]});
    ::close(out[1]);
    ::close(err[1]);
    if (!pid) {
      proc.pump->Stop();
      return pid.error().WithPrefix("cannot start " + (rank == RankLogs::kLauncher
                                                           ? argv.front()
                                                           : "rank " + std::to_string(rank)));
    }
    proc.pid = *pid;
    procs_.push_back(std::move(proc));
    return Status::Ok();
  }

  // A pump for `rank`'s read ends; on failure closes them and `also_close`.
  Result<std::unique_ptr<OutputPump>> StartRankPump(int out, int err, int64_t rank,
                                                    std::vector<int> also_close = {}) {
    Result<std::unique_ptr<OutputPump>> pump = OutputPump::Start(
        {.stdout_fd = out,
         .stderr_fd = err,
         .log_file = log_file_,
         .on_output = [logs = rank_logs_.get(), rank](std::string_view chunk, bool is_stderr) {
           logs->Append(rank, is_stderr, chunk);
         }});
    if (!pump) {
      for (int fd : also_close) ::close(fd);
    }
    return pump;
  }

  // The per-rank logs of this node's ranks and their shippers. Idempotent.
  Status OpenRankLogs() {
    if (rank_logs_) return Status::Ok();
    ASSIGN_OR_RETURN(rank_logs_, RankLogs::Open({.merged_log = log_file_,
                                                 .dir = work_dir_,
                                                 .world_size = plan_.world_size(),
                                                 .launcher_name = "mpirun"}));
    for (int64_t r = 0; r < plan_.world_size(); ++r) {
      if (multi_node() && !RunsHere(r)) continue;
      rank_sinks_.push_back(std::make_unique<RunLogStream>(client_.get(), RankLogs::StreamName(r)));
      rank_shippers_.push_back(
          std::make_unique<LogShipper>(rank_logs_->RankFile(r), rank_sinks_.back().get()));
    }
    return Status::Ok();
  }

  // MPI with one runner per node: what node 0's mpirun will find on this node, made before
  // the node reports ready (so that no rank can start before it exists): rank.env (the job
  // environment of this node) and this node's rank pipes, already read.
  Status PrepareMpiNode() {
    RETURN_IF_ERROR(OpenRankLogs());
    RETURN_IF_ERROR(WriteFileAtomic(work_dir_ / "rank.env", RankEnvironmentFile(env_)));
    return OpenMpiRankPipes();
  }

  Status LaunchDistributed() {
    RETURN_IF_ERROR(OpenRankLogs());
    const std::string shell = Shell();
    if (plan_.type == jobs::DistributionPlan::Type::kMpi && multi_node()) {
      RETURN_IF_ERROR(LaunchMpiAcrossNodes(shell));
    } else if (plan_.type == jobs::DistributionPlan::Type::kMpi) {
      RETURN_IF_ERROR(OpenMpiRankPipes());
      const fs::path host_file = work_dir_ / "hostfile";
      RETURN_IF_ERROR(WriteFileAtomic(
          host_file, MergeHostFile(jobs::MpiHostFile(plan_, LocalHosts(plan_)))));
      MpiCommandOptions options = BaseMpiOptions(shell);
      options.host_file = host_file;
      for (const auto& [k, v] : env_) options.export_names.push_back(k);
      RETURN_IF_ERROR(StartProcess(MpiCommand(plan_, options), env_, RankLogs::kLauncher));
    } else {
      const int ports = plan_.type == jobs::DistributionPlan::Type::kTensorFlow
                            ? static_cast<int>(plan_.world_size())
                            : 1;
      int base_port = base_port_;
      std::vector<std::string> hosts = node_hosts_;
      if (!multi_node()) {
        ASSIGN_OR_RETURN(base_port, FindFreePorts(ports));
        hosts = LocalHosts(plan_);
      }
      if (multi_node()) {
        // Gloo and NCCL pick their interface from the hostname unless told; on nodes with
        // several networks that may not be the one the nodes share. Unless the job says
        // otherwise, they use the interface this node reaches the others on.
        if (std::string ifname = InterfaceOfAddress(node_address_); !ifname.empty()) {
          for (const char* var : {"GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"}) {
            if (!env_.count(var)) env_[var] = ifname;
          }
        }
      }
      for (const jobs::ProcessSlot& slot : jobs::Processes(plan_)) {
        if (multi_node() && slot.node_rank != options_.node_rank) continue;
        std::map<std::string, std::string> env = env_;
        for (auto& [k, v] : jobs::ProcessEnvironment(plan_, slot, hosts, base_port)) env[k] = v;
        RETURN_IF_ERROR(StartProcess({shell, "-c", command_}, env, slot.rank));
      }
    }
    pid_ = procs_.empty() ? -1 : procs_.front().pid;  // -1: another node's mpirun starts ours
    started_ms_ = Now();
    std::string groups;
    for (const auto& p : procs_) groups += (groups.empty() ? "" : " ") + std::to_string(p.pid);
    GLOG(Info) << "run '" << options_.run_name << "': started process group(s) " << groups
               << ": " << command_;
    return Status::Ok();
  }

  // MPI with one runner per node: every node writes rank.env (its job environment) and makes
  // its ranks' pipes; node 0 runs mpirun, which starts every node's ranks through the batch
  // system (inside a Slurm job it launches its daemons with srun, overlapping the runners'
  // step), each in its node's folder (MpiCommandOptions::node_dir_template). The other nodes
  // start nothing: they read their ranks' pipes until the ranks are gone.
  Status LaunchMpiAcrossNodes(const std::string& shell) {
    if (rank_dir_.empty()) RETURN_IF_ERROR(PrepareMpiNode());
    if (!leader()) return Status::Ok();
    std::map<std::string, std::string> env = env_;
    const bool in_slurm = env.count("SLURM_JOB_ID") > 0;
    fs::path host_file;
    if (in_slurm) {
      env["SLURM_OVERLAP"] = "1";  // mpirun's srun steps share the nodes with the runners'
    } else {
      host_file = work_dir_ / "hostfile";
      RETURN_IF_ERROR(WriteFileAtomic(host_file, MergeHostFile(jobs::MpiHostFile(plan_, node_hosts_))));
    }
    MpiCommandOptions options = BaseMpiOptions(shell);
    options.host_file = host_file;
    options.in_allocation = in_slurm;
    options.node_dir_template = work_dir_.parent_path().string() + "/node_@NODE@";
    options.leader_node_dir = work_dir_;
    return StartProcess(MpiCommand(plan_, options), env, RankLogs::kLauncher);
  }

  // The mpirun settings every MPI launch shares (after OpenMpiRankPipes).
  MpiCommandOptions BaseMpiOptions(const std::string& shell) const {
    const unsigned cpus = std::thread::hardware_concurrency();
    MpiCommandOptions options;
    options.mpirun = mpirun_;
    options.rank_dir = rank_dir_;
    options.shell = shell;
    options.command = command_;
    options.as_root = ::geteuid() == 0;
    options.cpus = cpus > 0 ? static_cast<int>(cpus) : 1;
    return options;
  }

  // Makes the named pipes mpirun's ranks write to and starts a pump on each rank's pair.
  // They are opened without blocking (no writer yet); a reader sees end-of-file once a
  // writer came and went (see ReleaseMpiRankPipes).
  Status OpenMpiRankPipes() {
    rank_dir_ = work_dir_ / "ranks";
    RETURN_IF_ERROR(MakeDirs(rank_dir_));
    for (int64_t r = 0; r < plan_.world_size(); ++r) {
      if (!RunsHere(r)) continue;
      int fds[2] = {-1, -1};
      for (int i = 0; i < 2; ++i) {
        fs::path pipe = MpiRankPipe(rank_dir_, r, i == 1);
        if (::mkfifo(pipe.c_str(), 0600) != 0 ||
            (fds[i] = ::open(pipe.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
          std::string error = std::strerror(errno);
          if (i == 1) ::close(fds[0]);
          return InternalError("cannot make the pipe " + pipe.string() + ": " + error);
        }
        // The pump reads only when poll says so; blocking reads keep it simple.
        ::fcntl(fds[i], F_SETFL, ::fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
      }
      ASSIGN_OR_RETURN(auto pump, StartRankPump(fds[0], fds[1], r));
      rank_pumps_.push_back(std::move(pump));
    }
    return Status::Ok();
  }

  // Opens and closes each rank pipe as a writer, so that a reader whose writer never came
  // (a rank mpirun did not start) or is gone sees end-of-file instead of waiting.
  void ReleaseMpiRankPipes() {
    if (rank_dir_.empty()) return;
    for (int64_t r = 0; r < plan_.world_size(); ++r) {
      for (bool is_stderr : {false, true}) {
        int fd = ::open(MpiRankPipe(rank_dir_, r, is_stderr).c_str(),
                        O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
      }
    }
  }

  // Kills every process still below the runner once the job's own processes are reaped. The
  // runner is a child subreaper (RunJob), so a process that daemonised itself out of the
  // job's group and session (setsid, a double fork) was handed to the runner when its parent
  // exited, and is found here as a child.
  void KillLeftovers() {
    if (int n = KillDescendants(); n > 0) {
      GLOG(Info) << "run '" << options_.run_name << "': killed " << n
                 << " process(es) the job left behind";
    }
  }

  // Sends `sig` to every process group of the job.
  void SignalAll(int sig) {
    if (!plan_.distributed()) {
      // It may have exited already; nothing else to do then.
      (void)SignalGroup(pid_, sig);
      return;
    }
    for (const auto& p : procs_) {
      // It may have exited already; nothing else to do then.
      if (p.pid > 0) (void)SignalGroup(p.pid, sig);
    }
    // What left its group (mpirun's ranks lead groups of their own) but not the session.
    if (sig == SIGKILL && ::getsid(0) == ::getpid()) (void)SignalSession(::getpid(), sig, ::getpid());
  }

  // Kills whatever a failed launch had started.
  void StopProcesses() {
    SignalAll(SIGKILL);
    for (auto& p : procs_) {
      if (p.pid > 0 && !p.exit) p.exit = WaitFor(p.pid);
    }
    KillLeftovers();
    ReleaseMpiRankPipes();
    for (auto& p : procs_) p.pump->Stop();
    for (auto& pump : rank_pumps_) pump->Stop();
  }

  // Reaps the job's processes. True once all have exited. A distributed job's first
  // failure (lowest rank among those found in the same pass) is recorded in failed_.
  bool PollProcesses() {
    if (!plan_.distributed()) {
      exit_ = TryWait(pid_);
      return exit_.has_value();
    }
    if (procs_.empty()) return PollMpiRanksOfThisNode();
    bool all = true;
    for (auto& p : procs_) {
      if (!p.exit) p.exit = TryWait(p.pid);
      if (!p.exit) {
        all = false;
        continue;
      }
      const bool failed = (p.exit->code != 0 || p.exit->signal != 0) && !StoppedServer(p.rank);
      if (failed && !failed_ && kill_reason_ == KillReason::kNone) failed_ = &p;
    }
    if (all) {
      // The job's exit: the failure's, else success.
      exit_ = failed_ != nullptr ? *failed_->exit : ExitInfo{};
      if (failed_ == nullptr) {
        for (const auto& p : procs_) {
          if ((p.exit->code != 0 || p.exit->signal != 0) && !StoppedServer(p.rank)) {
            exit_ = *p.exit;
            break;
          }
        }
      }
    }
    return all;
  }

  // A node whose MPI ranks another node's mpirun started: they are over once every pipe of
  // theirs is at end-of-file; the job's exit is the first failure among their exit files.
  bool PollMpiRanksOfThisNode() {
    for (auto& pump : rank_pumps_) {
      if (!pump->WaitForEof(0)) return false;
    }
    std::optional<MpiRankExit> failure = FirstMpiFailure(ReadMpiExits(rank_dir_, plan_.world_size()));
    exit_ = ExitInfo{};
    // Ranks stopped by SIGTERM/SIGKILL were stopped by mpirun for another node's failure or
    // a cancel: this node then reports "stopped", not a failure of its own.
    if (failure && !IsStoppedCode(failure->code)) {
      exit_->code = failure->code;
    } else if (failure) {
      exit_->code = failure->code;
      peer_stopped_ = true;
    } else {
      for (const jobs::ProcessSlot& slot : jobs::Processes(plan_)) {
        if (slot.node_rank != options_.node_rank) continue;
        if (!fs::exists(MpiRankExitFile(rank_dir_, slot.rank))) {
          exit_->code = 128 + SIGKILL;  // killed before it could record its exit
          peer_stopped_ = true;
          break;
        }
      }
    }
    return true;
  }

  static bool IsStoppedCode(int code) { return code == 128 + SIGTERM || code == 128 + SIGKILL; }

  // A worker or ps task the runner stopped because the chief of a parameter-server job ended
  // well: its exit is no failure.
  bool StoppedServer(int64_t rank) const { return servers_stopped_ && rank != 0; }

  // A parameter-server job is over once its chief ends well: its worker and ps tasks serve
  // until stopped, so they get SIGTERM, then SIGKILL after the grace period.
  void StopServersAfterChief(int64_t now) {
    if (!servers_stopped_ && jobs::EndsWithChief(plan_) && kill_reason_ == KillReason::kNone) {
      for (const auto& chief : procs_) {
        if (chief.rank != 0 || !chief.exit || chief.exit->code != 0 || chief.exit->signal != 0) {
          continue;
        }
        GLOG(Info) << "run '" << options_.run_name
                   << "': the chief ended; stopping the worker and parameter-server tasks";
        servers_stopped_ = true;
        servers_kill_at_ms_ = SigkillAtMs(now, options_.grace_seconds);
        for (const auto& p : procs_) {
          // It may have exited already; nothing else to do then.
          if (p.rank != 0 && !p.exit && p.pid > 0) (void)SignalGroup(p.pid, SIGTERM);
        }
      }
    }
    if (servers_stopped_ && !servers_killed_ && now >= servers_kill_at_ms_) {
      servers_killed_ = true;
      for (const auto& p : procs_) {
        // It may have exited already; nothing else to do then.
        if (p.rank != 0 && !p.exit && p.pid > 0) (void)SignalGroup(p.pid, SIGKILL);
      }
    }
  }

  // "rank 2 (node 1)".
  std::string RankName(int64_t rank) const {
    if (rank == RankLogs::kLauncher) return "mpirun";
    if (multi_node()) {
      for (const jobs::ProcessSlot& slot : jobs::Processes(plan_)) {
        if (slot.rank == rank) {
          return "rank " + std::to_string(rank) + " (node " + std::to_string(slot.node_rank) + ")";
        }
      }
    }
    const int64_t per_node = plan_.type == jobs::DistributionPlan::Type::kTensorFlow
                                 ? 0
                                 : std::max<int64_t>(plan_.processes_per_instance, 1);
    int64_t node = per_node > 0 ? rank / per_node : rank % std::max<int64_t>(plan_.instance_count, 1);
    return "rank " + std::to_string(rank) + " (node " + std::to_string(node) + ")";
  }

  static std::string ExitText(const ExitInfo& e) {
    return e.signal != 0 ? "was killed by signal " + std::to_string(e.signal) + " (" +
                               SignalName(e.signal) + ")"
                         : "exited with code " + std::to_string(e.code);
  }

  // The error of a distributed job that failed on its own (not stopped by the runner).
  // Sets *exit_code to the failed rank's code.
  std::string DistributedError(int* exit_code) const {
    auto with_tail = [](std::string text, const std::string& tail) {
      return tail.empty() ? text : text + ":\n" + tail;
    };
    if (plan_.type == jobs::DistributionPlan::Type::kMpi) {
      std::optional<MpiRankExit> failure =
          FirstMpiFailure(ReadMpiExits(rank_dir_, plan_.world_size()));
      // Across nodes: a rank of another node that failed on its own explains this node's
      // stopped ranks better than they do.
      if (multi_node() && !peer_failure_.empty() && (!failure || IsStoppedCode(failure->code))) {
        *exit_code = peer_exit_code_.value_or(exit_->code);
        return peer_failure_;
      }
      if (failure) {
        *exit_code = failure->code;
        return with_tail(RankName(failure->rank) + " exited with code " +
                             std::to_string(failure->code) + " under mpirun; mpirun stopped the others",
                         rank_logs_->StderrText(failure->rank));
      }
      return with_tail("mpirun " + ExitText(*exit_), rank_logs_->StderrText(RankLogs::kLauncher));
    }
    const JobProcess* failed = failed_;
    if (failed == nullptr) {
      for (const auto& p : procs_) {
        if (p.exit && (p.exit->code != 0 || p.exit->signal != 0)) {
          failed = &p;
          break;
        }
      }
    }
    if (failed == nullptr) return "the job failed";
    *exit_code = failed->exit->code;
    std::string text = RankName(failed->rank) + " " + ExitText(*failed->exit);
    if (procs_.size() > 1) text += "; the other ranks were stopped";
    return with_tail(text, rank_logs_->StderrText(failed->rank));
  }

  // ---------------------------------------------------------------- multi-node jobs

  // Whether global rank `rank` runs on this node.
  bool RunsHere(int64_t rank) const {
    if (!multi_node()) return true;
    for (const jobs::ProcessSlot& slot : jobs::Processes(plan_)) {
      if (slot.rank == rank) return slot.node_rank == options_.node_rank;
    }
    return false;
  }

  Json NodeReportBody() const {
    Json body = {{"state", jobs::NodeStateName(node_state_)},
                 {"address", node_address_},
                 {"port", leader() ? base_port_ : 0}};
    return body;
  }

  // What a nodes answer says about the run itself: a cancel request, or its end.
  void ObserveRunState(const Json& view) {
    auto cancel = view.is_object() ? view.find("cancel_requested") : view.end();
    if (cancel != view.end() && cancel->is_boolean() && cancel->get<bool>()) OnCancelRequested();
    Result<jobs::RunStatus> st = jobs::ParseRunStatus(TextField(view, "status"));
    if (st && jobs::IsTerminal(*st)) Stop("the server ended it as " + TextField(view, "status"));
  }

  // Meets the other nodes through the server: reports this node ready with its address
  // (node 0 also the base port), then waits until every node is ready. Fills node_hosts_ and
  // base_port_. OK with stop_ or cancel_requested_ set when the run ended or is canceled
  // meanwhile; an error when another node failed or not all came in time.
  Status Rendezvous() {
    node_address_ = options_.node_address;
    if (node_address_.empty()) {
      ASSIGN_OR_RETURN(node_address_, LocalAddressTowards(options_.server_url));
    }
    if (leader()) {
      const int ports = plan_.type == jobs::DistributionPlan::Type::kTensorFlow
                            ? static_cast<int>(plan_.world_size())
                            : 1;
      ASSIGN_OR_RETURN(base_port_, FindFreePorts(ports));
    }
    node_state_ = jobs::NodeState::kReady;
    GLOG(Info) << "run '" << options_.run_name << "': " << NodeName() << " of "
               << options_.node_count << " is ready at " << node_address_
               << "; waiting for the other nodes";
    const int64_t deadline = Now() + static_cast<int64_t>(options_.rendezvous_seconds) * 1000;
    while (true) {
      Result<Json> view = client_->PostNode(options_.node_rank, NodeReportBody());
      if (Observe(view)) {
        if (!view) {
          Refused("node report", view.error());
          if (stop_) return Status::Ok();
          return view.error().WithPrefix("the server refused " + NodeName() + "'s report");
        }
        ObserveRunState(*view);
        if (stop_ || cancel_requested_) return Status::Ok();
        std::map<int64_t, PeerNode> peers = ParsePeers(*view);
        std::string missing;
        for (int64_t n = 0; n < options_.node_count; ++n) {
          auto it = peers.find(n);
          if (it != peers.end() && it->second.state == jobs::NodeState::kFailed) {
            peer_stopped_ = true;
            return FailedPreconditionError("node " + std::to_string(n) +
                                           " failed before the job started: " + it->second.error);
          }
          if (it == peers.end() || it->second.address.empty()) {
            missing += (missing.empty() ? "" : ", ") + std::to_string(n);
          }
        }
        if (missing.empty()) {
          node_hosts_.clear();
          for (int64_t n = 0; n < options_.node_count; ++n) node_hosts_.push_back(peers[n].address);
          base_port_ = static_cast<int>(peers[0].port);
          std::string hosts;
          for (const auto& h : node_hosts_) hosts += (hosts.empty() ? "" : " ") + h;
          GLOG(Info) << "run '" << options_.run_name << "': all " << options_.node_count
                     << " nodes are ready: " << hosts << " (port " << base_port_ << ")";
          return Status::Ok();
        }
        if (Now() >= deadline) {
          return UnavailableError("node(s) " + missing + " of " + std::to_string(options_.node_count) +
                                  " did not report within " +
                                  std::to_string(options_.rendezvous_seconds) + " s");
        }
      } else if (GaveUp()) {
        return UnavailableError("the server was unreachable while the nodes met");
      }
      if (int sig = g_runner_signal.load(); sig != 0) {
        return UnavailableError("the runner was stopped by signal " + std::to_string(sig) +
                                " while waiting for the other nodes");
      }
      SleepMs(server_down_ ? kRetryEveryMs : kTickMs);
    }
  }

  // While the job runs: reports this node's state (which also keeps it from counting as
  // lost) and reads the others'. Another node's failure stops this node's ranks. Node 0
  // reports Running once every node runs and notes when every other node has ended.
  void PollNodes() {
    if (!ServerUsable()) return;
    Result<Json> view = client_->PostNode(options_.node_rank, NodeReportBody());
    if (!Observe(view)) return;
    if (!view) {
      Refused("node report", view.error());
      return;
    }
    ObserveRunState(*view);
    if (stop_) return;
    std::map<int64_t, PeerNode> peers = ParsePeers(*view);
    const int64_t server_now = peers.count(options_.node_rank) ? peers[options_.node_rank].updated_at : 0;
    bool all_started = true;
    bool others_ended = true;
    for (int64_t n = 0; n < options_.node_count; ++n) {
      if (n == options_.node_rank) continue;
      auto it = peers.find(n);
      const std::optional<jobs::NodeState> state =
          it == peers.end() ? std::nullopt : it->second.state;
      const bool ended = state && jobs::IsFinalNodeState(*state);
      if (state != jobs::NodeState::kRunning && !ended) all_started = false;
      if (!ended) others_ended = false;
      std::string failure;
      std::optional<int> code;
      if (it == peers.end()) {
        // Gone from the server's memory (a restarted server) and not reporting again.
        auto [since, fresh] = missing_since_ms_.try_emplace(n, Now());
        if (leader() && !fresh && Now() - since->second > kNodeSilentMs) {
          failure = "node " + std::to_string(n) + " stopped reporting (the server lost its state)";
        }
      } else {
        missing_since_ms_.erase(n);
      }
      if (state == jobs::NodeState::kStopped) others_stopped_ = true;
      if (state == jobs::NodeState::kFailed) {
        failure = it->second.error.empty() ? "node " + std::to_string(n) + " failed" : it->second.error;
        code = it->second.exit_code;
      } else if (leader() && it != peers.end() && !ended && server_now > 0 &&
                 server_now - it->second.updated_at > kNodeSilentMs) {
        failure = "node " + std::to_string(n) + " stopped reporting " +
                  std::to_string((server_now - it->second.updated_at) / 1000) +
                  " s ago (its runner died or lost the server)";
      }
      if (!failure.empty() && peer_failure_.empty()) {
        peer_failure_ = failure;
        peer_exit_code_ = code;
        GLOG(Warning) << "run '" << options_.run_name << "': " << failure.substr(0, failure.find('\n'))
                      << (exit_ ? "" : "; stopping this node's ranks");
        if (!exit_ && kill_reason_ == KillReason::kNone) {
          peer_stopped_ = true;
          BeginKill(KillReason::kPeerFailed);
        }
      }
    }
    others_ended_ = others_ended;
    if (leader() && all_started && !running_reported_ && !exit_) {
      running_reported_ = true;
      EnqueueStatus(jobs::RunStatus::kRunning, {{"process_group", pid_}});
      FlushStatuses();
    }
  }

  // Runs the main loop until the command exits.
  void Watch() {
    const int64_t start = Now();
    next_ship_ms_ = start;
    next_heartbeat_ms_ = start;
    next_logs_upload_ms_ = start + kLogsUploadEveryMs;
    while (true) {
      if (PollProcesses()) {
        // Node 0 waits for the other nodes to end before it reports (unless its own ranks
        // failed or were stopped: then the run is over for every node). When mpirun failed,
        // the rank that failed may be another node's: their reports get a few seconds.
        if (local_end_ms_ == 0) local_end_ms_ = Now();
        const bool local_ok = exit_->code == 0 && exit_->signal == 0 && kill_reason_ == KillReason::kNone;
        bool wait = multi_node() && leader() && !others_ended_ && peer_failure_.empty() && !stop_;
        if (wait && !local_ok) {
          wait = plan_.type == jobs::DistributionPlan::Type::kMpi &&
                 (kill_reason_ == KillReason::kNone || kill_reason_ == KillReason::kRankFailed) &&
                 Now() - local_end_ms_ < kPeerReportWaitMs;
        }
        if (!wait) break;
      }
      const int64_t now = Now();
      StopServersAfterChief(now);
      if (failed_ != nullptr && kill_reason_ == KillReason::kNone) {
        GLOG(Warning) << "run '" << options_.run_name << "': " << RankName(failed_->rank) << " "
                      << ExitText(*failed_->exit) << "; stopping the other ranks";
        BeginKill(KillReason::kRankFailed);
      }
      if (int sig = g_runner_signal.load(); sig != 0 && kill_reason_ == KillReason::kNone) {
        GLOG(Warning) << "the runner got signal " << sig << " (" << SignalName(sig)
                      << "); stopping the job";
        runner_signal_ = sig;
        BeginKill(KillReason::kRunnerSignal);
      }
      if (kill_reason_ == KillReason::kNone && TimedOut(now, started_ms_, spec_.timeout_seconds)) {
        GLOG(Warning) << "run '" << options_.run_name << "' exceeded limits.timeout ("
                      << spec_.timeout_seconds << " s); stopping it";
        BeginKill(KillReason::kTimeout);
      }
      if (stop_ && kill_reason_ == KillReason::kNone) BeginKill(KillReason::kServerEnded);
      if (kill_reason_ != KillReason::kNone && !sigkill_sent_ && now >= sigkill_at_ms_) {
        GLOG(Warning) << "process group " << pid_ << " outlived its grace period; killing it";
        SignalAll(SIGKILL);
        sigkill_sent_ = true;
      }
      Tick(now);
      if (multi_node() && now >= next_node_poll_ms_ && !stop_) {
        next_node_poll_ms_ = now + kNodePollMs;
        PollNodes();
      }
      SleepMs(kTickMs);
    }
  }

  void BeginKill(KillReason reason) {
    kill_reason_ = reason;
    SignalAll(SIGTERM);
    sigkill_at_ms_ = SigkillAtMs(Now(), options_.grace_seconds);
  }

  // One pass of the periodic work while the job runs.
  void Tick(int64_t now) {
    if (stop_ || !ServerUsable()) return;
    FlushStatuses();
    if (now >= next_ship_ms_) {
      next_ship_ms_ = now + kShipEveryMs;
      ShipLogs();
      RelayMetrics(false);
    }
    if (now >= next_heartbeat_ms_) {
      next_heartbeat_ms_ = now + kHeartbeatEveryMs;
      Heartbeat();
    }
    if (now >= next_logs_upload_ms_) {
      next_logs_upload_ms_ = now + kLogsUploadEveryMs;
      UploadFolder(*logs_uploader_, "logs");
    }
  }

  // ---------------------------------------------------------------- after the command

  int Finish() {
    // Whatever the command left behind goes with it: in its group, and anywhere below the
    // runner (daemons that left the group and session are the runner's children by now).
    SignalAll(SIGKILL);
    KillLeftovers();
    if (plan_.distributed()) return FinishDistributed();
    if (!container_image_.empty()) {
      // A killed engine client may leave its container running.
      SpawnOptions rm;
      rm.argv = {container_engine_.string(), "rm", "-f", ContainerName()};
      if (auto p = Spawn(rm); p.has_value()) WaitFor(*p);
    }
    if (!pump_->WaitForEof(kPipeDrainMs)) {
      GLOG(Warning) << "a process outside the job's process group still holds its output; "
                       "closing the job's log";
    }
    pump_->Stop();
    if (stop_) return 1;
    if (LeaveVerdictToBatchSystem()) return 1;

    // A cancel may have raced the exit (e.g. the backend signalled the group itself).
    if (kill_reason_ == KillReason::kNone && exit_->code != 0 && ServerUsable()) Heartbeat();
    if (stop_) return 1;
    Outcome outcome = Decide();
    GLOG(Info) << "run '" << options_.run_name << "': command "
               << (exit_->signal ? "killed by signal " + std::to_string(exit_->signal)
                                 : "exited with code " + std::to_string(exit_->code))
               << "; finalizing";
    EnqueueStatus(jobs::RunStatus::kFinalizing, {});
    return Report(std::move(outcome), /*after_command=*/true);
  }

  // Finish() for a distributed job: drains every rank's output, then decides as Decide().
  int FinishDistributed() {
    ReleaseMpiRankPipes();
    const int64_t deadline = Now() + kPipeDrainMs;
    bool drained = true;
    auto drain = [&](OutputPump& pump) {
      drained &= pump.WaitForEof(static_cast<int>(std::max<int64_t>(deadline - Now(), 0)));
      pump.Stop();
    };
    for (auto& p : procs_) drain(*p.pump);
    for (auto& pump : rank_pumps_) drain(*pump);
    if (!drained) {
      GLOG(Warning) << "a process outside the job's process groups still holds a rank's output; "
                       "closing the job's logs";
    }
    rank_logs_->Flush();
    if (stop_) return 1;
    if (LeaveVerdictToBatchSystem()) return 1;
    if (kill_reason_ == KillReason::kNone && exit_->code != 0 && ServerUsable()) Heartbeat();
    if (stop_) return 1;
    Outcome outcome = Decide();
    if (multi_node() && leader() && !running_reported_) {
      // Every node's ranks ran (maybe too briefly for PollNodes to see them all running).
      running_reported_ = true;
      EnqueueStatus(jobs::RunStatus::kRunning, {{"process_group", pid_}});
    }
    GLOG(Info) << "run '" << options_.run_name << "': the job's processes ended ("
               << (exit_->code == 0 && exit_->signal == 0 ? "all succeeded" : ExitText(*exit_))
               << "); finalizing";
    EnqueueStatus(jobs::RunStatus::kFinalizing, {});
    return Report(std::move(outcome), /*after_command=*/true);
  }

  // --no-report-on-signal: the signal may reach the command before the runner (Slurm signals
  // every process of the job), so any signal the runner got counts, not only kRunnerSignal.
  bool LeaveVerdictToBatchSystem() {
    if (!options_.no_report_on_signal || g_runner_signal.load() == 0) return false;
    // Best effort: the batch system decides how the run ended.
    if (ServerUsable()) (void)ShipAllLogs();
    GLOG(Warning) << "run '" << options_.run_name << "': the runner was stopped by signal "
                  << g_runner_signal.load() << "; leaving the final status to the batch system";
    return true;
  }

  // The final status, from what is known now that the job's processes have ended.
  Outcome Decide() const {
    JobEnding e{.exit = *exit_,
                .kill_reason = kill_reason_,
                .cancel_requested = cancel_requested_,
                .timeout_seconds = spec_.timeout_seconds,
                .runner_signal = runner_signal_,
                .multi_node = multi_node(),
                .others_stopped = others_stopped_,
                .peer_failure = peer_failure_,
                .peer_exit_code = peer_exit_code_};
    if (exit_->code != 0 || exit_->signal != 0) {
      if (plan_.distributed()) {
        int rank_code = exit_->code;
        e.distributed_error = DistributedError(&rank_code);
        e.distributed_exit_code = rank_code;
      } else {
        e.stderr_tail = pump_->StderrText();
      }
    }
    return DecideOutcome(e);
  }

  // Delivers everything still pending and then the final status. Returns RunJob's exit code.
  int Report(Outcome outcome, bool after_command = false) {
    // The wait for an absent server counts from here, not from when it went away.
    last_answer_ms_ = std::max(last_answer_ms_, Now());
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
            outputs_dir_, "outputs/node_" + std::to_string(options_.node_rank) + "/",
            work_dir_ / "outputs.snapshot-cache");
        steps.push_back({"outputs/", [&] { return outputs_uploader_->Upload(*client_); }, true});
      }
      steps.push_back({"logs/", [&] { return logs_uploader_->Upload(*client_); }, false});
    }
    bool final_enqueued = false;
    while (true) {
      if (stop_) return 1;
      bool pending = false;
      if (ServerUsable()) {
        FlushStatuses();
        for (Step& step : steps) {
          if (step.done || !ServerUsable() || stop_) continue;
          Status s = step.attempt();
          if (s.ok()) {
            step.done = true;
            Observe(s);
          } else if (s.code() == StatusCode::kUnavailable) {
            Observe(s);
          } else {
            if (s.code() != StatusCode::kAborted) {
              Observe(s);
              Refused(step.name, s);
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
      for (const Step& step : steps) pending |= !step.done;
      if (!pending && !final_enqueued && !stop_) {
        Json extra = Json::object();
        if (!outcome.error.empty()) extra["error"] = outcome.error;
        if (outcome.exit_code) extra["exit_code"] = *outcome.exit_code;
        EnqueueStatus(outcome.status, std::move(extra));
        final_enqueued = true;
        continue;  // try it at once
      }
      if (final_enqueued && status_queue_.empty()) break;
      if (stop_) return 1;
      if (GaveUp() || (server_down_ && g_runner_signal.load() != 0)) {
        GLOG(Error) << "gave up reporting run '" << options_.run_name << "' as "
                    << jobs::RunStatusName(outcome.status) << ": the server at "
                    << options_.server_url << " was unreachable for "
                    << options_.server_wait_seconds << " s";
        return 1;
      }
      SleepMs(server_down_ ? kRetryEveryMs : kTickMs);
    }
    GLOG(Info) << "run '" << options_.run_name << "' ended as "
               << jobs::RunStatusName(outcome.status)
               << (outcome.error.empty() ? "" : ": " + outcome.error);
    // Another node exits 0 once its state is delivered, whatever it was: Slurm stops a job's
    // step when a task fails, and node 0 must get to report the run first.
    if (!leader()) return final_refused_ ? 1 : 0;
    return outcome.status == jobs::RunStatus::kCompleted && !final_refused_ ? 0 : 1;
  }

  // ---------------------------------------------------------------- talking to the server

  // Records whether the server answered. Returns false when it could not be reached.
  bool Observe(const Status& s) {
    if (s.code() == StatusCode::kUnavailable) {
      if (!server_down_) {
        GLOG(Warning) << "the server went away (" << s.message()
                      << "); keeping the run's data and retrying";
      }
      server_down_ = true;
      retry_at_ms_ = Now() + kRetryEveryMs;
      return false;
    }
    if (server_down_) GLOG(Info) << "the server at " << options_.server_url << " is back";
    server_down_ = false;
    last_answer_ms_ = Now();
    return true;
  }
  template <typename T>
  bool Observe(const Result<T>& r) {
    return Observe(internal::AsStatus(r));
  }

  bool ServerUsable() const { return !server_down_ || Now() >= retry_at_ms_; }
  bool GaveUp() const {
    return server_down_ &&
           Now() - last_answer_ms_ >= static_cast<int64_t>(options_.server_wait_seconds) * 1000;
  }

  // Runs `call` until it answers something other than Unavailable or the wait is over.
  Status RetryWhileUnavailable(const std::function<Status()>& call) {
    while (true) {
      Status s = call();
      if (Observe(s)) return s;
      // Stopped while waiting for an absent server: nothing to wait for any more.
      if (int sig = g_runner_signal.load(); sig != 0) {
        return UnavailableError("stopped by signal " + std::to_string(sig) +
                                " while the server was unreachable: " + s.message());
      }
      if (GaveUp()) {
        return UnavailableError("gave up after " + std::to_string(options_.server_wait_seconds) +
                                " s: " + s.message());
      }
      SleepMs(kRetryEveryMs);
    }
  }

  // Logs a refusal (not an outage) once per distinct message, and stops the run when the
  // server no longer knows it or us.
  void Refused(const char* what, const Status& s) {
    if (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kPermissionDenied ||
        s.code() == StatusCode::kUnauthenticated) {
      Stop(std::string(what) + ": " + s.ToString());
      return;
    }
    std::string& last = last_refusal_[what];
    if (last != s.ToString()) {
      GLOG(Warning) << what << " refused by the server: " << s.ToString();
      last = s.ToString();
    }
  }

  void Stop(const std::string& reason) {
    if (!stop_) GLOG(Error) << "stopping run '" << options_.run_name << "': " << reason;
    stop_ = true;
    status_queue_.clear();
  }

  void EnqueueStatus(jobs::RunStatus status, Json extra) {
    Json body = extra.is_object() ? std::move(extra) : Json::object();
    if (!leader()) {
      // Another node reports only how it ended; node 0 speaks for the run.
      if (!jobs::IsTerminal(status)) return;
      node_state_ = status == jobs::RunStatus::kCompleted ? jobs::NodeState::kSucceeded
                    : status == jobs::RunStatus::kFailed && !peer_stopped_
                        ? jobs::NodeState::kFailed
                        : jobs::NodeState::kStopped;
      Json node = NodeReportBody();
      if (body.contains("error") && node_state_ == jobs::NodeState::kFailed) {
        std::string error = body["error"].get<std::string>();
        node["error"] = error.find("(node ") != std::string::npos ? error : NodeName() + ": " + error;
      }
      if (body.contains("exit_code")) node["exit_code"] = body["exit_code"];
      node["node_report"] = true;
      node["status"] = std::string(jobs::RunStatusName(status));
      status_queue_.push_back(std::move(node));
      return;
    }
    body["status"] = std::string(jobs::RunStatusName(status));
    status_queue_.push_back(std::move(body));
  }

  // Posts queued status changes in order; stops at the first one the server cannot take now.
  void FlushStatuses() {
    while (!status_queue_.empty() && !stop_ && ServerUsable()) {
      if (status_queue_.front().contains("node_report")) {
        Json body = status_queue_.front();
        body.erase("node_report");
        body.erase("status");
        Result<Json> r = client_->PostNode(options_.node_rank, body);
        if (!Observe(r)) return;
        if (!r) {
          Refused("node report", r.error());
          final_refused_ = true;
        }
        status_queue_.pop_front();
        continue;
      }
      Result<Json> r = client_->PostStatus(status_queue_.front());
      if (!Observe(r)) return;
      if (r) {
        status_queue_.pop_front();
        // The server takes progress reports quietly while a cancel is pending.
        if (TextField(*r, "status") == "CancelRequested") OnCancelRequested();
        continue;
      }
      if (r.error().code() == StatusCode::kFailedPrecondition) {
        if (!ResolveRefusedStatus(r.error())) return;
        if (!status_queue_.empty()) status_queue_.pop_front();
        continue;
      }
      Refused("status update", r.error());
      if (stop_) return;
      if (IsFinalPost(status_queue_.front())) final_refused_ = true;
      status_queue_.pop_front();
    }
  }

  static bool IsFinalPost(const Json& body) {
    Result<jobs::RunStatus> st = jobs::ParseRunStatus(TextField(body, "status"));
    return st && jobs::IsTerminal(*st);
  }

  // The server refused the front status post (412). Finds out why from the run's current
  // status. Returns false when the server could not be asked (the post stays queued).
  bool ResolveRefusedStatus(const Status& refusal) {
    const std::string target = TextField(status_queue_.front(), "status");
    Result<Json> run = client_->GetRun();
    if (!Observe(run)) return false;
    if (!run) {
      Refused("reading the run", run.error());
      return true;
    }
    const std::string current = TextField(*run, "status");
    if (current == target) return true;  // an earlier attempt landed; only its answer was lost
    if (current == "CancelRequested") {
      OnCancelRequested();
      return true;
    }
    Result<jobs::RunStatus> st = jobs::ParseRunStatus(current);
    if (st && jobs::IsTerminal(*st)) {
      Stop("the server already ended it as " + current);
      return true;
    }
    GLOG(Warning) << "the server refused moving run '" << options_.run_name << "' to " << target
                  << " (it is " << current << "): " << refusal.message();
    if (IsFinalPost(status_queue_.front())) final_refused_ = true;
    return true;
  }

  void OnCancelRequested() {
    if (cancel_requested_) return;
    cancel_requested_ = true;
    GLOG(Info) << "run '" << options_.run_name << "': cancel requested";
    if (pid_ > 0 && !exit_ && kill_reason_ == KillReason::kNone) BeginKill(KillReason::kCancel);
  }

  void Heartbeat() {
    Result<Json> r = client_->Heartbeat();
    if (!Observe(r)) return;
    if (!r) {
      Refused("heartbeat", r.error());
      return;
    }
    auto cancel = r->is_object() ? r->find("cancel_requested") : r->end();
    if (cancel != r->end() && cancel->is_boolean() && cancel->get<bool>()) OnCancelRequested();
    std::string current = TextField(*r, "status");
    Result<jobs::RunStatus> st = jobs::ParseRunStatus(current);
    if (st && jobs::IsTerminal(*st)) Stop("the server ended it as " + current);
  }

  void ShipLogs() {
    if (!ServerUsable()) return;
    Status s = ShipAllLogs();
    if (Observe(s) && !s.ok()) Refused("log upload", s);
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

  void RelayMetrics(bool final) {
    if (!ServerUsable()) return;
    Status s = relay_->Relay(final);
    if (Observe(s) && !s.ok()) Refused("metrics upload", s);
  }

  void UploadFolder(FolderUploader& uploader, const char* what) {
    if (!ServerUsable()) return;
    Status s = uploader.Upload(*client_);
    // A file the job is still writing is simply picked up by a later pass.
    if (s.code() == StatusCode::kAborted) return;
    if (Observe(s) && !s.ok()) Refused(what, s);
  }

  const RunnerOptions& options_;
  fs::path work_dir_, wd_, outputs_dir_, logs_dir_, log_file_, metrics_file_;
  std::unique_ptr<RunClient> client_;
  std::unique_ptr<LogShipper> log_shipper_;
  std::unique_ptr<MetricsRelay> relay_;
  std::unique_ptr<FolderUploader> logs_uploader_, outputs_uploader_;

  jobs::JobSpec spec_;
  std::string experiment_;
  std::string command_;
  std::map<std::string, std::string> env_;

  // Server reachability.
  bool server_down_ = false;
  int64_t retry_at_ms_ = 0;
  int64_t last_answer_ms_ = 0;
  std::map<std::string, std::string> last_refusal_;

  std::deque<Json> status_queue_;
  bool final_refused_ = false;
  bool cancel_requested_ = false;
  // The server no longer wants this runner (run ended or unknown, token refused).
  bool stop_ = false;

  // The job's process group.
  pid_t pid_ = -1;
  std::unique_ptr<OutputPump> pump_;
  // A distributed job (plan_.distributed()): the processes waited for (its ranks, or
  // mpirun), their logs, and for MPI the pumps of the ranks' named pipes.
  struct JobProcess {
    int64_t rank = 0;  // RankLogs::kLauncher for mpirun
    pid_t pid = -1;
    std::unique_ptr<OutputPump> pump;
    std::optional<ExitInfo> exit;
  };
  jobs::DistributionPlan plan_;
  fs::path mpirun_;
  fs::path rank_dir_;
  std::vector<JobProcess> procs_;
  std::vector<std::unique_ptr<OutputPump>> rank_pumps_;
  const JobProcess* failed_ = nullptr;  // the first process that failed on its own
  bool servers_stopped_ = false;        // a parameter-server job's chief ended: tasks stopped
  bool servers_killed_ = false;
  int64_t servers_kill_at_ms_ = 0;
  std::unique_ptr<RankLogs> rank_logs_;
  std::vector<std::unique_ptr<RunLogStream>> rank_sinks_;
  std::vector<std::unique_ptr<LogShipper>> rank_shippers_;
  std::optional<ExitInfo> exit_;
  int64_t started_ms_ = 0;
  KillReason kill_reason_ = KillReason::kNone;
  int runner_signal_ = 0;
  int64_t sigkill_at_ms_ = 0;
  bool sigkill_sent_ = false;
  int64_t next_ship_ms_ = 0, next_heartbeat_ms_ = 0, next_logs_upload_ms_ = 0;

  // Multi-node jobs.
  std::unique_ptr<RunLogStream> node_log_sink_;  // std_log_node_RANK.txt
  std::string node_address_;
  jobs::NodeState node_state_ = jobs::NodeState::kReady;
  std::vector<std::string> node_hosts_;  // every node's address, by node rank
  int base_port_ = 0;                    // node 0's MASTER_PORT / first TensorFlow port
  bool running_reported_ = false;        // node 0: Running was reported
  bool others_ended_ = false;            // every other node has reported its end
  bool others_stopped_ = false;          // some other node ended "stopped"
  bool peer_stopped_ = false;            // this node's ranks were stopped for another node
  std::string peer_failure_;             // the first failure another node reported
  std::optional<int> peer_exit_code_;
  std::map<int64_t, int64_t> missing_since_ms_;  // nodes the server no longer lists
  int64_t next_node_poll_ms_ = 0;
  int64_t local_end_ms_ = 0;  // when this node's processes had all exited
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
