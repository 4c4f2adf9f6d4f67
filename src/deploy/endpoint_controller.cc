#include "deploy/endpoint_controller.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <sstream>

#include "artifacts/tree.h"
#include "common/logging.h"
#include "common/process.h"
#include "deploy/replica_link.h"
#include "env/environment_builder.h"
#include "http/http_client.h"
#include "http/http_types.h"

namespace gantry::deploy {

namespace {

constexpr int64_t kStopGraceMs = 10'000;

std::string DescribeExit(const ExitInfo& e) {
  if (e.signal != 0) return "was killed by signal " + std::to_string(e.signal);
  return "exited with code " + std::to_string(e.code);
}

// The last `lines` lines of a file ("" when it does not exist).
std::string TailLines(const fs::path& path, int64_t lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (lines <= 0) return all;
  size_t pos = all.size();
  if (pos > 0 && all[pos - 1] == '\n') --pos;
  for (int64_t n = 0; n < lines && pos > 0; ++n) {
    size_t nl = all.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
  }
  return all.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace

struct EndpointController::Replica {
  int index = 0;
  // Written by the controller thread under mu_; read under mu_ elsewhere.
  pid_t pid = 0;
  ReplicaPhase phase = ReplicaPhase::kStarting;
  int64_t restarts = 0;
  std::string last_exit;
  std::shared_ptr<ReplicaLink> link;  // set while Ready
  // Controller thread only.
  int64_t started_at = 0, ready_at = 0, next_start_at = 0, last_health_at = 0;
  int64_t crash_streak = 0;
  int health_failures = 0;
  fs::path port_file;
  std::unique_ptr<http::HttpClient> health;
};

struct EndpointController::Deployment {
  std::string endpoint, name;
  int64_t generation = 0;
  store::DeploymentRecord record;
  DeploymentState state = DeploymentState::kCreating;  // the record's, as last read or written
  fs::path dir;
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string ready_path;
  std::vector<std::shared_ptr<Replica>> replicas;  // the vector is guarded by mu_
  // During an update: the last generation's replicas, serving until the new ones are all
  // ready (the vector is guarded by mu_), and that generation.
  std::vector<std::shared_ptr<Replica>> previous;
  int64_t previous_generation = 0;
  bool ever_ready = false;  // this generation reached Succeeded
  bool failed = false;
};

fs::path NoCodeModelDir(const fs::path& materialized) {
  std::error_code ec;
  fs::path only;
  int count = 0;
  for (const auto& e : fs::directory_iterator(materialized, ec)) {
    ++count;
    only = e.path();
  }
  if (count == 1 && fs::is_directory(only, ec)) return only;
  return materialized;
}

EndpointController::EndpointController(EndpointControllerOptions options,
                                       store::MetadataStore* store, artifacts::BlobStore* blobs,
                                       Clock* clock)
    : options_(std::move(options)),
      rules_{.ready_timeout_ms = options_.ready_timeout_ms,
             .health_interval_ms = options_.health_interval_ms,
             .max_backoff_ms = options_.max_backoff_ms},
      store_(store),
      blobs_(blobs),
      clock_(clock) {}

EndpointController::~EndpointController() { Stop(); }

void EndpointController::Start() {
  auto deployments = store_->endpoints().ListDeployments("");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (deployments.has_value()) {
      for (const auto& d : *deployments) {
        auto state = ParseDeploymentState(d.state);
        if (state == DeploymentState::kFailed || state == DeploymentState::kDeleting) continue;
        commands_.push_back({Command::kApply, {d.endpoint, d.name}, nullptr});
      }
    } else {
      GLOG(Error) << "endpoint controller: cannot list deployments: "
                  << deployments.error().ToString();
    }
  }
  thread_ = std::thread([this] { Loop(); });
}

void EndpointController::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EndpointController::Apply(const std::string& endpoint, const std::string& deployment) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    commands_.push_back({Command::kApply, {endpoint, deployment}, nullptr});
  }
  wake_.notify_all();
}

void EndpointController::Remove(const std::string& endpoint, const std::string& deployment) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    commands_.push_back({Command::kRemove, {endpoint, deployment}, done});
  }
  wake_.notify_all();
  finished.wait();
}

void EndpointController::Loop() {
  for (;;) {
    std::deque<Command> commands;
    std::vector<std::shared_ptr<Deployment>> all;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms),
                     [&] { return stopping_ || !commands_.empty(); });
      if (stopping_) break;
      commands.swap(commands_);
    }
    for (auto& c : commands) {
      std::shared_ptr<Deployment> d;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = deployments_.find(c.key);
        if (it != deployments_.end()) d = it->second;
      }
      if (c.kind == Command::kRemove) {
        if (d) {
          StopReplicas(*d);
          StopPrevious(*d);
          router_.Withdraw(c.key.first, c.key.second);
          std::lock_guard<std::mutex> lock(mu_);
          deployments_.erase(c.key);
        }
        std::error_code ec;
        fs::remove_all(options_.root / c.key.first / c.key.second, ec);
        fs::remove(options_.root / c.key.first, ec);  // the endpoint's folder, once empty
        if (c.done) c.done->set_value();
        continue;
      }
      auto record = store_->endpoints().GetDeployment(c.key.first, c.key.second);
      if (!record.has_value()) continue;  // deleted meanwhile
      if (d && d->generation == record->generation) continue;
      if (d && d->ever_ready && !d->failed) {
        // Rolling update: the serving generation answers until the new one is ready.
        StopPrevious(*d);
        Log(*d, "update to generation " + std::to_string(record->generation) +
                    ": the model servers of generation " + std::to_string(d->generation) +
                    " keep serving until the new ones are ready");
        std::lock_guard<std::mutex> lock(mu_);
        d->previous.swap(d->replicas);
        d->replicas.clear();
        d->previous_generation = d->generation;
        PublishLocked(*d);
      } else if (d) {
        Log(*d, "update to generation " + std::to_string(record->generation) +
                    ": stopping the model servers of generation " + std::to_string(d->generation));
        StopReplicas(*d);
      } else {
        d = std::make_shared<Deployment>();
        d->endpoint = c.key.first;
        d->name = c.key.second;
        d->dir = options_.root / d->endpoint / d->name;
        std::lock_guard<std::mutex> lock(mu_);
        deployments_[c.key] = d;
      }
      d->record = *record;
      d->state = ParseDeploymentState(record->state).value_or(DeploymentState::kCreating);
      d->generation = record->generation;
      d->ever_ready = false;
      d->failed = false;
      Provision(*d);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [key, d] : deployments_) all.push_back(d);
    }
    for (auto& d : all) {
      if (!d->failed) Check(*d);
      ReapPrevious(*d);
    }
  }
  std::vector<std::shared_ptr<Deployment>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, d] : deployments_) all.push_back(d);
    for (auto& c : commands_) {
      if (c.done) c.done->set_value();
    }
    commands_.clear();
  }
  for (auto& d : all) {
    StopReplicas(*d);
    StopPrevious(*d);
  }
}

void EndpointController::Log(const Deployment& d, const std::string& line) {
  std::error_code ec;
  fs::create_directories(d.dir, ec);
  std::ofstream out(d.dir / "deployment.log", std::ios::app);
  out << FormatIsoTime(clock_->NowMillis()) << " [controller] " << line << "\n";
}

void EndpointController::SetState(Deployment& d, DeploymentState to, const std::string& error) {
  if (Status allowed = CheckDeploymentTransition(d.state, to); !allowed.ok()) {
    GLOG(Error) << "deployment " << d.endpoint << "/" << d.name << ": " << allowed.message();
    return;
  }
  d.state = to;
  const std::string state = DeploymentStateName(to);
  Status s = store_->endpoints().SetDeploymentState(d.endpoint, d.name, d.generation, state, error,
                                                    clock_->NowMillis());
  if (!s.ok() && s.code() != StatusCode::kFailedPrecondition) {
    GLOG(Error) << "deployment " << d.endpoint << "/" << d.name << ": " << s.ToString();
  }
  Log(d, "state " + state + (error.empty() ? "" : ": " + error));
}

void EndpointController::Provision(Deployment& d) {
  const Json& spec = d.record.spec;
  auto fail = [&](const std::string& why) {
    d.failed = true;
    SetState(d, DeploymentState::kFailed, why);
  };
  Log(d, "provisioning generation " + std::to_string(d.generation));
  fs::path gen = d.dir / ("g" + std::to_string(d.generation));
  std::error_code ec;
  fs::remove_all(gen, ec);
  fs::create_directories(gen, ec);

  // The model's files, and the scoring code when there is one.
  const Json model = spec.value("model", Json::object());
  auto tree = artifacts::LoadTree(*blobs_, model.value("tree_id", ""));
  if (!tree.has_value()) return fail("cannot read the model's files: " + tree.error().message());
  Status st = artifacts::MaterializeTree(*blobs_, *tree, gen / "model");
  if (!st.ok()) return fail("cannot write the model's files: " + st.message());
  std::string code_tree = spec.value("code_tree", "");
  if (!code_tree.empty()) {
    auto code = artifacts::LoadTree(*blobs_, code_tree);
    if (!code.has_value()) return fail("cannot read the scoring code: " + code.error().message());
    st = artifacts::MaterializeTree(*blobs_, *code, gen / "code");
    if (!st.ok()) return fail("cannot write the scoring code: " + st.message());
  }

  std::string backend = spec.value("backend", "torchscript");
  std::string model_name = model.value("name", d.name);
  d.env = CurrentEnvironment();
  d.env["PATH"] = options_.path_env;
  d.env.erase("GANTRY_URL");
  const Json variables = spec.value("environment_variables", Json::object());
  for (const auto& [k, v] : variables.items()) {
    if (v.is_string()) d.env[k] = v.get<std::string>();
  }
  d.argv = {options_.gantry.string(),
            "serve",
            "--name",
            model_name,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--backend",
            backend};
  // The scoring script's interpreter, or the one whose tensorflow wheel the tensorflow
  // backend loads.
  fs::path python = "/usr/bin/python3";
  const Json environment = spec.value("environment", Json());
  if ((backend == "python" || backend == "tensorflow") && environment.is_object()) {
    auto built = env::BuildEnvironment(
        environment, {.cache_root = options_.env_cache,
                      .path_env = options_.path_env,
                      .log = [&](const std::string& line) { Log(d, "environment: " + line); }});
    if (!built.has_value()) {
      return fail("environment " + environment.value("name", std::string("?")) + ":" +
                  std::to_string(environment.value("version", 0)) +
                  " cannot be built: " + built.error().message());
    }
    if (built->interpreter.empty()) {
      return fail(
          "container environments cannot serve deployments yet; use an environment "
          "with a python interpreter, conda or pip dependencies");
    }
    python = built->interpreter;
    for (const auto& [k, v] : built->variables) d.env[k] = v;
  }
  if (backend == "python") {
    if (!options_.python_sdk_dir.empty()) {
      std::string& pythonpath = d.env["PYTHONPATH"];
      pythonpath = options_.python_sdk_dir.string() + (pythonpath.empty() ? "" : ":" + pythonpath);
    }
    const Json settings = spec.value("request_settings", Json::object());
    int64_t workers = settings.value("max_concurrent_requests_per_instance", int64_t{1});
    int64_t timeout_ms = settings.value("request_timeout_ms", int64_t{60000});
    d.argv.insert(d.argv.end(), {"--model", (gen / "model").string(), "--entry-script",
                                 (gen / "code" / spec.value("scoring_script", "score.py")).string(),
                                 "--source-dir", (gen / "code").string(), "--python",
                                 python.string(), "--workers", std::to_string(workers),
                                 "--request-timeout-ms", std::to_string(timeout_ms)});
    d.ready_path = "/v2/health/ready";
  } else {
    d.argv.insert(d.argv.end(), {"--model", NoCodeModelDir(gen / "model").string()});
    if (backend == "tensorflow") d.argv.insert(d.argv.end(), {"--python", python.string()});
    int64_t max_batch = spec.value("max_batch_size", int64_t{0});
    if (max_batch > 0) {
      d.argv.insert(d.argv.end(), {"--max-batch-size", std::to_string(max_batch)});
    }
    d.ready_path = backend == "tensorflow-serving" ? "/v1/models/" + http::UrlEncode(model_name)
                                                   : "/v2/health/ready";
  }

  int64_t count = std::max<int64_t>(1, spec.value("instance_count", int64_t{1}));
  std::vector<std::shared_ptr<Replica>> replicas;
  for (int i = 0; i < count; ++i) {
    auto r = std::make_shared<Replica>();
    r->index = i;
    r->port_file = gen / ("replica-" + std::to_string(i) + ".port");
    replicas.push_back(r);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    d.replicas = replicas;
    PublishLocked(d);
  }
  for (auto& r : replicas) StartReplica(d, *r);
}

void EndpointController::StartReplica(Deployment& d, Replica& r) {
  std::error_code ec;
  fs::remove(r.port_file, ec);
  fs::create_directories(d.dir, ec);
  int log_fd =
      ::open((d.dir / "deployment.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> argv = d.argv;
  argv.insert(argv.end(), {"--port-file", r.port_file.string()});
  auto pid = Spawn({.argv = argv,
                    .env = d.env,
                    .cwd = r.port_file.parent_path(),
                    .new_session = true,
                    .stdout_fd = log_fd,
                    .stderr_fd = log_fd,
                    .parent_death_signal = SIGTERM});
  if (log_fd >= 0) ::close(log_fd);
  r.started_at = clock_->NowMillis();
  r.health_failures = 0;
  r.health.reset();
  std::lock_guard<std::mutex> lock(mu_);
  r.link = nullptr;
  if (!pid.has_value()) {
    r.pid = 0;
    r.phase = ReplicaPhase::kStopped;
    r.last_exit = "could not start: " + pid.error().message();
  } else {
    r.pid = *pid;
    r.phase = ReplicaPhase::kStarting;
  }
  PublishLocked(d);
}

void EndpointController::StopReplicas(Deployment& d) {
  std::vector<std::shared_ptr<Replica>> replicas;
  {
    std::lock_guard<std::mutex> lock(mu_);
    replicas.swap(d.replicas);
    PublishLocked(d);
  }
  Terminate(replicas);
}

void EndpointController::Terminate(const std::vector<std::shared_ptr<Replica>>& replicas) {
  for (auto& r : replicas) {
    // It may have exited already; nothing else to do then.
    if (r->pid > 0) (void)SignalGroup(r->pid, SIGTERM);
  }
  int64_t deadline = clock_->NowMillis() + kStopGraceMs;
  for (auto& r : replicas) {
    if (r->pid <= 0) continue;
    while (!TryWait(r->pid).has_value()) {
      if (clock_->NowMillis() >= deadline) {
        // It may have exited already; nothing else to do then.
        (void)SignalGroup(r->pid, SIGKILL);
        WaitFor(r->pid);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Whatever the model server left in its group goes too.
    (void)SignalGroup(r->pid, SIGKILL);
    std::lock_guard<std::mutex> lock(mu_);
    r->pid = 0;
    r->phase = ReplicaPhase::kStopped;
    r->link = nullptr;
  }
}

void EndpointController::StopPrevious(Deployment& d) {
  std::vector<std::shared_ptr<Replica>> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous.swap(d.previous);
    PublishLocked(d);
  }
  if (previous.empty()) return;
  Log(d, "stopping the model servers of generation " + std::to_string(d.previous_generation));
  Terminate(previous);
  if (d.previous_generation != d.generation) {
    std::error_code ec;
    fs::remove_all(d.dir / ("g" + std::to_string(d.previous_generation)), ec);
  }
}

void EndpointController::ReapPrevious(Deployment& d) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : d.previous) {
    if (r->pid <= 0) continue;
    if (auto exit = TryWait(r->pid)) {
      r->pid = 0;
      r->phase = ReplicaPhase::kStopped;
      r->last_exit = DescribeExit(*exit);
      r->link = nullptr;
    }
  }
  PublishLocked(d);
}

void EndpointController::Check(Deployment& d) {
  std::vector<std::shared_ptr<Replica>> replicas;
  {
    std::lock_guard<std::mutex> lock(mu_);
    replicas = d.replicas;
  }
  int64_t now = clock_->NowMillis();
  std::vector<ReplicaPhase> phases;
  for (auto& rp : replicas) {
    Replica& r = *rp;
    if (r.phase == ReplicaPhase::kRestarting && now >= r.next_start_at) {
      Log(d, "replica " + std::to_string(r.index) + ": starting again (restart " +
                 std::to_string(r.restarts) + ")");
      StartReplica(d, r);
    }
    if (r.pid <= 0) {
      if (r.phase == ReplicaPhase::kStopped &&
          OnReplicaExit(d.ever_ready) == ExitAction::kFailDeployment) {
        d.failed = true;
        SetState(d, DeploymentState::kFailed,
                 "replica " + std::to_string(r.index) + " " + r.last_exit);
        StopReplicas(d);
        return;
      }
      continue;
    }
    if (auto exit = TryWait(r.pid)) {
      std::string what = DescribeExit(*exit);
      Log(d, "replica " + std::to_string(r.index) + " (pid " + std::to_string(r.pid) + ") " + what);
      {
        std::lock_guard<std::mutex> lock(mu_);
        r.pid = 0;
        r.last_exit = what;
        r.link = nullptr;
        PublishLocked(d);
      }
      if (OnReplicaExit(d.ever_ready) == ExitAction::kFailDeployment) {
        std::string tail = TailLines(d.dir / "deployment.log", 15);
        d.failed = true;
        SetState(d, DeploymentState::kFailed,
                 "the model server " + what + " before it was ready; its log ends:\n" + tail);
        StopReplicas(d);
        return;
      }
      r.crash_streak += 1;
      const int64_t backoff = RestartDelayMs(r.crash_streak, rules_);
      r.next_start_at = now + backoff;
      {
        std::lock_guard<std::mutex> lock(mu_);
        r.restarts += 1;
        r.phase = ReplicaPhase::kRestarting;
        PublishLocked(d);
      }
      Log(d, "replica " + std::to_string(r.index) + ": restarting in " + std::to_string(backoff) +
                 " ms");
      continue;
    }
    if (r.phase == ReplicaPhase::kStarting) {
      std::error_code ec;
      if (fs::exists(r.port_file, ec)) {
        auto text = ReadFile(r.port_file);
        int port = 0;
        if (text.has_value()) port = std::atoi(text->c_str());
        if (port > 0) {
          if (!r.health) {
            auto client = http::HttpClient::Create("http://127.0.0.1:" + std::to_string(port),
                                                   {.timeout_ms = 1000});
            if (client.has_value()) r.health = std::move(*client);
          }
          auto answer = r.health ? r.health->Send("GET", d.ready_path) : Err(UnavailableError(""));
          if (answer.has_value() && answer->status == 200) {
            auto inc = std::make_shared<ReplicaLink>(port);
            {
              std::lock_guard<std::mutex> lock(mu_);
              r.link = inc;
              r.phase = ReplicaPhase::kReady;
              PublishLocked(d);
            }
            r.ready_at = now;
            r.last_health_at = now;
            Log(d, "replica " + std::to_string(r.index) + " ready on port " + std::to_string(port));
          }
        }
      }
      if (r.phase == ReplicaPhase::kStarting && StartTimedOut(now, r.started_at, rules_)) {
        Log(d, "replica " + std::to_string(r.index) + " not ready after " +
                   std::to_string(options_.ready_timeout_ms) + " ms; stopping it");
        // It may have exited already; nothing else to do then.
        (void)SignalGroup(r.pid, SIGKILL);
      }
    } else if (r.phase == ReplicaPhase::kReady) {
      if (CrashStreakResets(now, r.ready_at, rules_)) r.crash_streak = 0;
      if (HealthCheckDue(now, r.last_health_at, rules_)) {
        r.last_health_at = now;
        auto answer = r.health ? r.health->Send("GET", d.ready_path) : Err(UnavailableError(""));
        if (answer.has_value() && answer->status == 200) {
          r.health_failures = 0;
        } else if (TooManyHealthFailures(++r.health_failures, rules_)) {
          Log(d, "replica " + std::to_string(r.index) + " failed " +
                     std::to_string(r.health_failures) + " health checks; killing it");
          // It may have exited already; nothing else to do then.
          (void)SignalGroup(r.pid, SIGKILL);
        }
      }
    }
    phases.push_back(r.phase);
  }
  if (NextRolloutStep(phases, d.ever_ready) == RolloutStep::kSucceed) {
    d.ever_ready = true;
    SetState(d, DeploymentState::kSucceeded, "");
    StopPrevious(d);  // an update is complete: the old generation goes
  }
}

std::vector<ReplicaStatus> EndpointController::Replicas(const std::string& endpoint,
                                                        const std::string& deployment) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ReplicaStatus> out;
  auto it = deployments_.find({endpoint, deployment});
  if (it == deployments_.end()) return out;
  for (const auto& r : it->second->replicas) {
    out.push_back({.index = r->index,
                   .pid = r->pid,
                   .port = r->link ? r->link->port() : 0,
                   .state = ReplicaPhaseName(r->phase),
                   .restarts = r->restarts,
                   .last_exit = r->last_exit});
  }
  return out;
}

Result<std::string> EndpointController::Logs(const std::string& endpoint,
                                             const std::string& deployment, int64_t lines) {
  fs::path log = options_.root / endpoint / deployment / "deployment.log";
  std::error_code ec;
  if (!fs::exists(log, ec)) return std::string();
  return TailLines(log, lines);
}

Result<ForwardedResponse> EndpointController::Forward(
    const std::string& endpoint, const std::string& deployment, const std::string& method,
    const std::string& path, const std::string& body, const std::string& content_type,
    const std::map<std::string, std::string>& headers) {
  return router_.Forward(endpoint, deployment, method, path, body, content_type, headers);
}

void EndpointController::PublishLocked(const Deployment& d) {
  DeploymentRoutes routes;
  for (const auto& r : d.replicas) {
    if (r->phase == ReplicaPhase::kReady && r->link) routes.ready.push_back(r->link);
    routes.states += (routes.states.empty() ? "" : ", ") + std::string("replica ") +
                     std::to_string(r->index) + " " + ReplicaPhaseName(r->phase) +
                     (r->last_exit.empty() ? "" : " (last " + r->last_exit + ")");
  }
  // During an update (or after a failed one), the previous generation answers until the new
  // one has a ready replica.
  for (const auto& r : d.previous) {
    if (r->phase == ReplicaPhase::kReady && r->link) routes.previous.push_back(r->link);
  }
  router_.Publish(d.endpoint, d.name, std::move(routes));
}

}  // namespace gantry::deploy
