#include "workspace/sweep_service.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "common/ids.h"
#include "common/logging.h"
#include "common/names.h"
#include "jobs/run_status.h"

namespace gantry::workspace {

using jobs::RunStatus;
using store::RunRecord;

namespace {

constexpr char kTrialNumber[] = "trial_number";
constexpr char kHyperparameters[] = "hyperparameters";
constexpr char kEarlyTermination[] = "early_termination";
constexpr char kResumedFrom[] = "resumed_from";

bool IsTerminalName(const std::string& status) {
  auto s = jobs::ParseRunStatus(status);
  return s.has_value() && jobs::IsTerminal(*s);
}

std::string Number(double v) { return Json(v).dump(); }

// Is `a` better than `b` for `goal`?
bool Better(sweep::Goal goal, double a, double b) {
  return goal == sweep::Goal::kMaximize ? a > b : a < b;
}

std::string PropertyOf(const RunRecord& run, const char* key) {
  auto it = run.properties.find(key);
  return it != run.properties.end() && it->is_string() ? it->get<std::string>() : "";
}

// A trial's values as its sampler gave them (empty when unreadable).
std::map<std::string, Json> ValuesOf(const RunRecord& trial) {
  std::map<std::string, Json> values;
  Json j = Json::parse(PropertyOf(trial, kHyperparameters), nullptr, false);
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) values[k] = v;
  }
  return values;
}

std::string Names(const sweep::SearchSpace& space) {
  std::string names;
  for (const auto& [n, e] : space) names += (names.empty() ? "" : ", ") + n;
  return names;
}

}  // namespace

SweepService::SweepService(RunService* runs, Clock* clock, SweepOptions options)
    : runs_(runs), clock_(clock), options_(std::move(options)) {
  if (!options_.new_seed) {
    options_.new_seed = [] { return std::random_device{}() & 0x7fffffffu; };
  }
}

SweepService::~SweepService() { Stop(); }

void SweepService::Start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void SweepService::Stop() {
  stopping_ = true;
  runs_->WakeAll();
  if (thread_.joinable()) thread_.join();
}

void SweepService::Loop() {
  uint64_t seen = runs_->change_count();
  // Logs and metrics wake the loop too; only a status change (or the poll, for timeouts)
  // gives a sweep something to decide.
  uint64_t statuses = runs_->status_change_count();
  int64_t last_pass = clock_->NowMillis();
  RunOnce();
  while (!stopping_) {
    seen = runs_->WaitForChange(seen, options_.poll_ms);
    const uint64_t now_statuses = runs_->status_change_count();
    const int64_t now = clock_->NowMillis();
    if (now_statuses == statuses && now - last_pass < options_.poll_ms) continue;
    statuses = now_statuses;
    last_pass = now;
    RunOnce();
  }
}

Result<RunRecord> SweepService::Submit(SweepSubmitRequest request) {
  sweep::SweepJob& job = request.job;
  const jobs::JobSpec& trial = job.trial;
  if (!trial.name.empty()) RETURN_IF_ERROR(ValidateName("sweep name", trial.name));
  if (!trial.experiment_name.empty()) {
    RETURN_IF_ERROR(ValidateName("experiment name", trial.experiment_name));
  }
  if (job.sampling.type != sweep::SamplingType::kGrid && !job.sampling.seeded) {
    job.sampling.seed = options_.new_seed();
    job.sampling.seeded = true;
  }
  RunRecord run;
  run.name = trial.name.empty() ? NewRunName() : trial.name;
  run.experiment_name = trial.experiment_name.empty() ? "Default" : trial.experiment_name;
  run.display_name = trial.display_name.empty() ? run.name : trial.display_name;
  run.compute = trial.compute.empty() ? "local" : trial.compute;
  // Trial i is `<name>_<i>`: its name must be a valid run name too.
  RETURN_IF_ERROR(ValidateName("sweep name", run.name + "_0"));
  RETURN_IF_ERROR(CheckWarmStart(job));
  // The first trial's job must be one RunService accepts; checked before anything is stored.
  {
    std::mt19937_64 rng(job.sampling.seed);
    std::map<std::string, Json> values;
    for (const auto& [name, e] : job.space) values[name] = sweep::Draw(e, rng);
    ASSIGN_OR_RETURN(jobs::JobSpec first, sweep::TrialJob(job, run.name + "_0", values));
    RETURN_IF_ERROR(jobs::ValidatePlaceholders(first));
  }
  for (const auto& [k, v] : trial.tags) run.tags[k] = v;
  run.spec = {{"sweep", job.ToJson()}, {"input_trees", request.input_trees}};
  run.snapshot_id = request.snapshot_id;
  std::optional<int64_t> size = sweep::SpaceSize(job.space);
  run.properties = {
      {"primary_metric_config",
       Json{{"name", job.primary_metric}, {"goal", sweep::GoalName(job.goal)}}.dump()},
      {"space_size", size ? std::to_string(*size) : "infinite"},
      {"sampler",
       sweep::SamplingTypeName(job.sampling.type) + (job.sampling.sobol ? "/sobol" : "")},
      {"sampler_seed", std::to_string(job.sampling.seed)},
      {"max_total_trials", std::to_string(job.limits.max_total_trials)}};
  if (!job.resume_from.empty()) run.properties["resume_from"] = Json(job.resume_from).dump();
  if (!job.resume_child_runs.empty()) {
    run.properties["resume_child_runs"] = Json(job.resume_child_runs).dump();
  }
  run.status_detail = "sampling trials";
  ASSIGN_OR_RETURN(RunRecord created, runs_->CreateSweep(run));
  Log(created.name,
      "sweep " + created.name + ": " + sweep::SamplingTypeName(job.sampling.type) +
          " sampling over " + std::to_string(job.space.size()) + " parameter(s), space size " +
          PropertyOf(created, "space_size") + ", up to " +
          std::to_string(job.limits.max_total_trials) + " trials, " +
          (job.limits.max_concurrent_trials ? std::to_string(job.limits.max_concurrent_trials)
                                            : std::string("unlimited")) +
          " at a time; objective: " + sweep::GoalName(job.goal) + " " + job.primary_metric + "\n");
  {
    std::lock_guard<std::mutex> lock(mu_);
    Advance(created);
  }
  return runs_->Get(created.name);
}

Status SweepService::CheckWarmStart(const sweep::SweepJob& job) {
  for (size_t i = 0; i < job.resume_from.size(); ++i) {
    const std::string where = "resume_from[" + std::to_string(i) + "]";
    const std::string& name = job.resume_from[i];
    auto prior = runs_->Get(name);
    if (!prior.has_value()) return prior.error().WithPrefix(where);
    if (prior->kind != "sweep" || !prior->spec.contains("sweep")) {
      return InvalidArgumentError(where + ": run '" + name + "' is not a sweep");
    }
    if (!IsTerminalName(prior->status)) {
      return FailedPreconditionError(where + ": sweep '" + name + "' is " + prior->status +
                                     "; warm start from a sweep that has ended");
    }
    auto prior_job = sweep::SweepJob::FromJson(prior->spec["sweep"]);
    if (!prior_job.has_value()) return prior_job.error().WithPrefix(where);
    if (prior_job->primary_metric != job.primary_metric || prior_job->goal != job.goal) {
      return InvalidArgumentError(
          where + ": sweep '" + name + "' " + sweep::GoalName(prior_job->goal) + "s '" +
          prior_job->primary_metric + "', this one " + sweep::GoalName(job.goal) + "s '" +
          job.primary_metric + "'; warm start needs the same objective");
    }
    bool same = prior_job->space.size() == job.space.size();
    for (const auto& [p, e] : job.space) same = same && prior_job->space.contains(p);
    if (!same) {
      return InvalidArgumentError(where + ": sweep '" + name + "' sweeps " +
                                  Names(prior_job->space) + ", this one " + Names(job.space) +
                                  "; warm start needs the same parameters");
    }
  }
  for (size_t i = 0; i < job.resume_child_runs.size(); ++i) {
    const std::string where = "resume_child_runs[" + std::to_string(i) + "]";
    const std::string& name = job.resume_child_runs[i];
    auto trial = runs_->Get(name);
    if (!trial.has_value()) return trial.error().WithPrefix(where);
    if (trial->parent.empty() || PropertyOf(*trial, kHyperparameters).empty()) {
      return InvalidArgumentError(where + ": run '" + name + "' is not a trial of a sweep");
    }
    if (!IsTerminalName(trial->status)) {
      return FailedPreconditionError(where + ": trial '" + name + "' is " + trial->status +
                                     "; resume a trial that has ended");
    }
    Status fits = sweep::CheckPoint(job.space, ValuesOf(*trial));
    if (!fits.ok()) {
      return InvalidArgumentError(where + ": trial '" + name +
                                  "' has values outside this search space: " + fits.message());
    }
  }
  return Status::Ok();
}

Result<SweepService::State*> SweepService::StateOf(const RunRecord& parent) {
  auto it = states_.find(parent.name);
  if (it != states_.end()) return &it->second;
  if (parent.kind != "sweep" || !parent.spec.contains("sweep")) {
    return Err(InvalidArgumentError("run '" + parent.name + "' is not a sweep"));
  }
  auto job = sweep::SweepJob::FromJson(parent.spec["sweep"]);
  if (!job.has_value()) return Err(job.error().WithPrefix("sweep '" + parent.name + "'"));
  State state;
  state.job = std::move(*job);
  // After a restart: the trials' series come back from the store.
  auto children = runs_->List({.parent = parent.name, .oldest_first = true});
  if (children.has_value()) {
    for (const auto& child : *children) {
      trial_sweep_[child.name] = parent.name;
      if (IsTerminalName(child.status)) state.finished.insert(child.name);
      state.series[child.name] = Series(child.name, state.job.primary_metric, state.job.goal);
      if (std::string from = PropertyOf(child, kResumedFrom); !from.empty()) {
        state.resumed.insert(from);
      }
    }
  }
  for (const std::string& prior : state.job.resume_from) {
    auto trials = runs_->List({.parent = prior, .oldest_first = true});
    if (!trials.has_value()) continue;
    for (const auto& t : *trials) {
      sweep::TrialSeries series{.trial = t.name,
                                .values = Series(t.name, state.job.primary_metric, state.job.goal),
                                .finished = true};
      std::map<std::string, Json> values = ValuesOf(t);
      if (t.status == "Completed" && !series.values.empty() &&
          std::isfinite(series.values.back()) && sweep::CheckPoint(state.job.space, values).ok()) {
        state.prior_observations.push_back({.values = values, .score = series.values.back()});
      }
      state.prior.push_back(std::move(series));
    }
  }
  return &states_.emplace(parent.name, std::move(state)).first->second;
}

void SweepService::RunOnce() {
  auto sweeps = runs_->List({.statuses = jobs::ActiveRunStatusNames(), .kind = "sweep"});
  if (!sweeps.has_value()) {
    GLOG(Error) << "sweeps: cannot list active sweeps: " << sweeps.error().ToString();
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& parent : *sweeps) Advance(parent);
}

Result<std::string> SweepService::StartTrial(const RunRecord& parent, State& state, int64_t number,
                                             std::optional<std::map<std::string, Json>> given) {
  const sweep::SweepJob& job = state.job;
  const std::string name = parent.name + "_" + std::to_string(number);
  // The trials it resumes run first, with their own values.
  std::string resumed;
  if (!given) {
    for (const std::string& r : job.resume_child_runs) {
      if (!state.resumed.contains(r)) {
        resumed = r;
        break;
      }
    }
  }
  std::vector<sweep::Observation> history = state.prior_observations;
  if (!given && resumed.empty() && job.sampling.type == sweep::SamplingType::kBayesian) {
    auto children = runs_->List({.parent = parent.name, .oldest_first = true});
    if (children.has_value()) {
      for (const auto& child : *children) {
        const auto& series = state.series[child.name];
        if (child.status != "Completed" || series.empty() || !std::isfinite(series.back())) {
          continue;
        }
        Json values = Json::parse(PropertyOf(child, kHyperparameters), nullptr, false);
        if (!values.is_object()) continue;
        sweep::Observation o{.score = series.back()};
        for (const auto& [k, v] : values.items()) o.values[k] = v;
        history.push_back(std::move(o));
      }
    }
  }
  std::map<std::string, Json> values;
  SubmitRequest submit;
  if (given) {
    values = std::move(*given);
    ASSIGN_OR_RETURN(submit.spec, sweep::TrialJob(job, name, values));
  } else if (!resumed.empty()) {
    ASSIGN_OR_RETURN(RunRecord earlier, runs_->Get(resumed));
    values = ValuesOf(earlier);
    ASSIGN_OR_RETURN(submit.spec, sweep::ResumedTrialJob(job, name, values, resumed));
    ASSIGN_OR_RETURN(submit.input_trees[sweep::kResumeInput],
                     runs_->FolderTree(resumed, "outputs"));
    submit.properties[kResumedFrom] = resumed;
  } else {
    // The sampler's own sequence starts after the resumed trials.
    const int64_t index = number - static_cast<int64_t>(state.resumed.size());
    ASSIGN_OR_RETURN(values, sweep::Suggest(job.sampling, job.space, index, job.goal, history));
    ASSIGN_OR_RETURN(submit.spec, sweep::TrialJob(job, name, values));
  }
  submit.snapshot_id = parent.snapshot_id;
  if (parent.spec.contains("input_trees") && parent.spec["input_trees"].is_object()) {
    for (const auto& [k, v] : parent.spec["input_trees"].items()) {
      if (v.is_string()) submit.input_trees[k] = v.get<std::string>();
    }
  }
  submit.parent = parent.name;
  Json values_json = Json::object();
  for (const auto& [k, v] : values) values_json[k] = v;
  submit.properties[kTrialNumber] = std::to_string(number);
  submit.properties[kHyperparameters] = values_json.dump();
  trial_sweep_[name] = parent.name;
  state.series[name];
  ASSIGN_OR_RETURN(RunRecord run, runs_->Submit(submit));
  if (!resumed.empty()) state.resumed.insert(resumed);
  Log(parent.name, "trial " + run.name + " queued with " + values_json.dump() +
                       (resumed.empty() ? "" : ", resuming " + resumed) + "\n");
  return run.name;
}

void SweepService::Advance(const RunRecord& parent_in) {
  auto fresh = runs_->Get(parent_in.name);
  if (!fresh.has_value() || IsTerminalName(fresh->status)) {
    states_.erase(parent_in.name);
    return;
  }
  const RunRecord& parent = *fresh;
  auto state_or = StateOf(parent);
  if (!state_or.has_value()) {
    (void)runs_->EndSweep(parent.name, RunStatus::kFailed, state_or.error().message(),
                          state_or.error().message());
    return;
  }
  State& state = **state_or;
  const sweep::SweepJob& job = state.job;
  auto children = runs_->List({.parent = parent.name, .oldest_first = true});
  if (!children.has_value()) return;
  int64_t active = 0, failed = 0, with_metric = 0;
  std::string first_error, best;
  double best_score = 0;
  for (const auto& child : *children) {
    const bool ended = IsTerminalName(child.status);
    if (!ended) ++active;
    if (ended && state.finished.insert(child.name).second) {
      // Its last points may have arrived after the last judgement: read them once more.
      state.series[child.name] = Series(child.name, job.primary_metric, job.goal);
      const auto& series = state.series[child.name];
      std::string line = "trial " + child.name + " " + child.status;
      if (!series.empty()) line += ", " + job.primary_metric + " " + Number(series.back());
      if (child.status == "Failed") line += ": " + child.error.substr(0, child.error.find('\n'));
      if (!PropertyOf(child, kEarlyTermination).empty()) {
        // A job may exit between the policy's decision and its stop: it keeps its own end.
        line += std::string(" (") +
                (child.status == "Canceled" ? "" : "it ended before the policy's stop: ") +
                PropertyOf(child, kEarlyTermination) + ")";
      }
      Log(parent.name, line + "\n");
    }
    if (child.status == "Failed") {
      ++failed;
      if (first_error.empty()) first_error = child.name + ": " + child.error;
    }
    const auto& series = state.series[child.name];
    if (!series.empty()) ++with_metric;
    // A diverged trial (NaN, an infinity) is never the best.
    if (!series.empty() && std::isfinite(series.back())) {
      if (best.empty() || Better(job.goal, series.back(), best_score)) {
        best = child.name;
        best_score = series.back();
      }
    }
  }
  if (!best.empty() && (PropertyOf(parent, "best_child_run_id") != best ||
                        PropertyOf(parent, "score") != Number(best_score))) {
    (void)runs_->SetProperties(parent.name,
                               {{"best_child_run_id", best}, {"score", Number(best_score)}});
  }
  const int64_t started = static_cast<int64_t>(children->size());
  const int64_t now = clock_->NowMillis();
  const bool timed_out = job.limits.timeout_seconds > 0 &&
                         now - parent.started_at >= job.limits.timeout_seconds * 1000;
  const bool canceling = parent.status == jobs::RunStatusName(RunStatus::kCancelRequested);
  if (canceling || timed_out) {
    const std::string reason =
        canceling
            ? "the sweep " + parent.name + " was canceled"
            : "the sweep's timeout (" + std::to_string(job.limits.timeout_seconds) + " s) passed";
    for (const auto& child : *children) {
      if (!IsTerminalName(child.status) && child.status != "CancelRequested") {
        (void)runs_->Cancel(child.name, reason);
      }
    }
  }
  bool exhausted = started >= job.limits.max_total_trials;
  // An external sweep's trials start only when its optimiser asks.
  if (!canceling && !timed_out && job.sampling.type != sweep::SamplingType::kExternal) {
    int64_t number = started;
    while (!exhausted &&
           (job.limits.max_concurrent_trials == 0 || active < job.limits.max_concurrent_trials)) {
      Status st = internal::AsStatus(StartTrial(parent, state, number));
      if (st.code() == StatusCode::kOutOfRange) {  // the grid is done
        exhausted = true;
        break;
      }
      if (!st.ok()) {
        Log(parent.name,
            "cannot start trial " + std::to_string(number) + ": " + st.message() + "\n");
        for (const auto& child : *children) {
          if (!IsTerminalName(child.status)) (void)runs_->Cancel(child.name, "the sweep failed");
        }
        (void)runs_->EndSweep(parent.name, RunStatus::kFailed, st.message(),
                              "cannot start trial " + std::to_string(number) + ": " + st.message());
        states_.erase(parent.name);
        return;
      }
      ++number;
      ++active;
      exhausted = number >= job.limits.max_total_trials;
    }
  }
  if (active > 0 || !(exhausted || canceling || timed_out)) return;
  // Every trial has ended.
  const int64_t total = static_cast<int64_t>(children->size());
  if (canceling) {
    (void)runs_->EndSweep(parent.name, RunStatus::kCanceled, "canceled; its trials have ended");
  } else if (total > 0 && failed == total) {
    (void)runs_->EndSweep(parent.name, RunStatus::kFailed, "every trial failed",
                          "every trial failed; the first: " + first_error);
  } else if (with_metric == 0) {
    const std::string error = "no trial logged the primary metric '" + job.primary_metric +
                              "' (objective.primary_metric); check the name the script logs";
    (void)runs_->EndSweep(parent.name, RunStatus::kFailed, error, error);
  } else {
    (void)runs_->EndSweep(parent.name, RunStatus::kCompleted,
                          timed_out ? "the sweep's timeout passed" : "every trial has ended");
  }
  Log(parent.name,
      "sweep " + parent.name + " ended; best trial: " +
          (best.empty() ? std::string("none")
                        : best + " (" + job.primary_metric + " " + Number(best_score) + ")") +
          "\n");
  states_.erase(parent.name);
  std::erase_if(trial_sweep_, [&](const auto& entry) { return entry.second == parent.name; });
}

void SweepService::OnMetrics(const std::string& run,
                             const std::vector<store::MetricPoint>& points) {
  std::lock_guard<std::mutex> lock(mu_);
  auto owner = trial_sweep_.find(run);
  if (owner == trial_sweep_.end()) return;
  auto parent = runs_->Get(owner->second);
  if (!parent.has_value() || IsTerminalName(parent->status)) return;
  auto state_or = StateOf(*parent);
  if (!state_or.has_value()) return;
  State& state = **state_or;
  const sweep::SweepJob& job = state.job;
  if (std::none_of(points.begin(), points.end(),
                   [&](const store::MetricPoint& p) { return p.key == job.primary_metric; })) {
    return;
  }
  // The stored series, not this batch: a resent batch is not counted twice.
  auto& series = state.series[run];
  const size_t judged = series.size();
  series = Series(run, job.primary_metric, job.goal);
  if (job.policy.type == sweep::PolicyType::kNone) return;
  std::vector<sweep::TrialSeries> trials;
  size_t candidate = 0;
  for (const auto& [name, values] : state.series) {
    if (name == run) candidate = trials.size();
    trials.push_back({.trial = name, .values = values, .finished = state.finished.count(name) > 0});
  }
  // A warm start's earlier trials count as finished trials.
  trials.insert(trials.end(), state.prior.begin(), state.prior.end());
  // Every interval this batch brought is judged in turn (a batch may carry several).
  std::optional<sweep::StopDecision> stop;
  const std::vector<double> all = series;
  for (size_t k = judged + 1; k <= all.size() && !stop; ++k) {
    trials[candidate].values.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
    stop = sweep::Judge(job.policy, job.goal, trials, candidate);
  }
  if (!stop) return;
  auto canceled = runs_->Cancel(run, "stopped by the early termination policy: " + stop->reason);
  if (!canceled.has_value()) return;  // it ended meanwhile
  Json why = {{"policy", sweep::PolicyTypeName(stop->policy)},
              {"interval", stop->interval},
              {"value", stop->value},
              {"threshold", stop->threshold},
              {"reason", stop->reason}};
  (void)runs_->SetProperties(
      run, {{kEarlyTermination, stop->reason}, {"early_termination_detail", why.dump()}});
  Log(owner->second, "trial " + run + " stopped: " + stop->reason + "\n");
}

Result<TrialView> SweepService::Ask(const std::string& name,
                                    const std::optional<std::map<std::string, Json>>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(RunRecord parent, runs_->Get(name));
  ASSIGN_OR_RETURN(State * state, StateOf(parent));
  if (parent.status != jobs::RunStatusName(RunStatus::kRunning)) {
    return Err(FailedPreconditionError("sweep '" + name + "' is " + parent.status));
  }
  const sweep::SweepJob& job = state->job;
  if (values) RETURN_IF_ERROR(sweep::CheckPoint(job.space, *values));
  if (!values && job.sampling.type == sweep::SamplingType::kExternal) {
    return Err(InvalidArgumentError("field 'values' is required: sweep '" + name +
                                    "' is external (its optimiser gives each trial's values)"));
  }
  ASSIGN_OR_RETURN(auto children, runs_->List({.parent = name, .oldest_first = true}));
  const int64_t started = static_cast<int64_t>(children.size());
  if (started >= job.limits.max_total_trials) {
    return Err(FailedPreconditionError("sweep '" + name + "' has started all its " +
                                       std::to_string(job.limits.max_total_trials) +
                                       " trials (limits.max_total_trials)"));
  }
  int64_t active = 0;
  for (const auto& child : children) active += IsTerminalName(child.status) ? 0 : 1;
  if (job.limits.max_concurrent_trials > 0 && active >= job.limits.max_concurrent_trials) {
    return Err(Status(StatusCode::kAborted,
                      "sweep '" + name + "' has " + std::to_string(active) +
                          " active trials, its " +
                          "limits.max_concurrent_trials; ask again when one has ended"));
  }
  ASSIGN_OR_RETURN(std::string trial, StartTrial(parent, *state, started, values));
  TrialView view;
  ASSIGN_OR_RETURN(view.run, runs_->Get(trial));
  view.number = started;
  view.values = Json::parse(PropertyOf(view.run, kHyperparameters), nullptr, false);
  return view;
}

Result<RunRecord> SweepService::Tell(const std::string& name, const std::string& trial,
                                     const std::string& reason) {
  ASSIGN_OR_RETURN(RunRecord run, runs_->Get(trial));
  if (run.parent != name) {
    return Err(NotFoundError("run '" + trial + "' is not a trial of sweep '" + name + "'"));
  }
  const std::string why =
      "stopped by the outside optimiser" + (reason.empty() ? "" : ": " + reason);
  ASSIGN_OR_RETURN(RunRecord parent, runs_->Get(name));
  ASSIGN_OR_RETURN(sweep::SweepJob job,
                   sweep::SweepJob::FromJson(parent.spec.value("sweep", Json())));
  ASSIGN_OR_RETURN(RunRecord stopped, runs_->Cancel(trial, why));
  const std::vector<double> series = Series(trial, job.primary_metric, job.goal);
  Json detail = {{"policy", "external"}, {"reason", why}};
  if (!series.empty()) {
    detail["interval"] = series.size();
    detail["value"] = series.back();
  }
  RETURN_IF_ERROR(runs_->SetProperties(
      trial, {{kEarlyTermination, why}, {"early_termination_detail", detail.dump()}}));
  Log(name, "trial " + trial + " " + why + "\n");
  return runs_->Get(trial);
}

Result<SweepView> SweepService::Describe(const std::string& name) {
  SweepView view;
  ASSIGN_OR_RETURN(view.run, runs_->Get(name));
  if (view.run.kind != "sweep" || !view.run.spec.contains("sweep")) {
    return Err(InvalidArgumentError("run '" + name + "' is not a sweep"));
  }
  ASSIGN_OR_RETURN(view.job, sweep::SweepJob::FromJson(view.run.spec["sweep"]));
  ASSIGN_OR_RETURN(view.trials, Trials(name, view.job.primary_metric, view.job.goal));
  for (const std::string& prior : view.job.resume_from) {
    auto trials = Trials(prior, view.job.primary_metric, view.job.goal);
    if (!trials.has_value()) continue;  // deleted since: the warm start already used it
    view.prior_trials.insert(view.prior_trials.end(), trials->begin(), trials->end());
  }
  return view;
}

Result<std::vector<TrialView>> SweepService::Trials(const std::string& name,
                                                    const std::string& metric, sweep::Goal goal) {
  std::vector<TrialView> trials;
  ASSIGN_OR_RETURN(auto children, runs_->List({.parent = name, .oldest_first = true}));
  for (auto& child : children) {
    TrialView t;
    t.number = std::atoll(PropertyOf(child, kTrialNumber).c_str());
    t.values = Json::parse(PropertyOf(child, kHyperparameters), nullptr, false);
    if (!t.values.is_object()) t.values = Json::object();
    const std::vector<double> series = Series(child.name, metric, goal);
    t.intervals = static_cast<int64_t>(series.size());
    if (!series.empty() && std::isfinite(series.back())) t.score = series.back();
    Json why = Json::parse(PropertyOf(child, "early_termination_detail"), nullptr, false);
    if (why.is_object()) t.stopped = why;
    t.resumed_from = PropertyOf(child, kResumedFrom);
    t.run = std::move(child);
    trials.push_back(std::move(t));
  }
  std::sort(trials.begin(), trials.end(),
            [](const TrialView& a, const TrialView& b) { return a.number < b.number; });
  return trials;
}

std::vector<double> SweepService::Series(const std::string& trial, const std::string& metric,
                                         sweep::Goal goal) {
  std::vector<double> values;
  if (auto points = runs_->Metrics(trial, metric); points.has_value()) {
    for (const auto& p : *points) {
      if (auto v = sweep::PrimaryMetricValue(p.value, p.value_json, goal)) values.push_back(*v);
    }
  }
  return values;
}

void SweepService::Log(const std::string& sweep, const std::string& line) {
  Status st = runs_->AppendServerLog(sweep, line);
  if (!st.ok()) GLOG(Warning) << "sweep " << sweep << ": cannot log: " << st.ToString();
}

}  // namespace gantry::workspace
