// SweepService: runs the workspace's sweeps (issue 12). A sweep is a parent run (kind "sweep",
// no runner) whose trials are ordinary child runs named `<parent>_<n>`; everything it decides
// follows from its stored spec and its children, so it has no driver process to lose and a
// restarted server carries on where it was.
//
//  - Submit checks the sweep, fills a seed when none was given, creates the parent and starts
//    the first trials.
//  - Advance (on every run change, from the service's thread) starts trials while the limits
//    allow (a freed slot is filled at once), records the best trial, stops the trials of a
//    canceled or timed-out sweep and ends the sweep when its trials have ended.
//  - OnMetrics (in the metric ingestion path) judges a trial by the early termination policy
//    on every primary-metric point; a condemned trial is canceled at once with the policy,
//    interval, value and threshold as its reason.
//
// The samplers and policies are src/sweep's pure functions. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "sweep/sweep_job.h"
#include "workspace/run_service.h"

namespace gantry::workspace {

struct SweepSubmitRequest {
  sweep::SweepJob job;
  std::string snapshot_id;
  std::map<std::string, std::string> input_trees;
};

// One trial as the sweep's table shows it.
struct TrialView {
  store::RunRecord run;
  int64_t number = 0;
  Json values = Json::object();  // parameter → value
  std::optional<double> score;   // the last primary-metric value, if any and finite
  int64_t intervals = 0;         // how many primary-metric values it logged
  Json stopped = nullptr;        // early termination: {policy, interval, value, threshold, reason}
  std::string resumed_from;      // the earlier trial it resumes (resume_child_runs), if any
};

struct SweepView {
  store::RunRecord run;  // the parent
  sweep::SweepJob job;
  std::vector<TrialView> trials;  // in trial order
  // The trials of the sweeps it warm-starts from (job.resume_from), sweep by sweep; their
  // run.parent names their sweep.
  std::vector<TrialView> prior_trials;
};

struct SweepOptions {
  // Where a seed comes from when the sweep gives none (a seam for tests).
  std::function<uint64_t()> new_seed;
  // How often the sweeps are checked when nothing wakes the service (the timeouts).
  int64_t poll_ms = 1000;
};

class SweepService final : public MetricsObserver {
 public:
  SweepService(RunService* runs, Clock* clock, SweepOptions options = {});
  ~SweepService() override;

  Result<store::RunRecord> Submit(SweepSubmitRequest request);
  // NotFound for an unknown run, InvalidArgument when it is not a sweep.
  Result<SweepView> Describe(const std::string& name);

  // The ask/tell API, for an outside optimiser (Optuna, your own). Ask starts the sweep's next
  // trial now, with `values` (checked against the space, InvalidArgument naming
  // `values.NAME`) or, without, the sweep's own sampler's (an external sweep needs them).
  // FailedPrecondition when the sweep has ended or has started limits.max_total_trials;
  // Aborted (409: ask again later) when max_concurrent_trials trials are active. Answers the new
  // trial.
  Result<TrialView> Ask(const std::string& sweep,
                        const std::optional<std::map<std::string, Json>>& values);
  // Tell stops a trial of the sweep on the optimiser's word (its pruner), recording
  // `reason` as a policy's stop is recorded (policy "external"). NotFound for a run that is
  // not a trial of this sweep; FailedPrecondition for one that has ended.
  Result<store::RunRecord> Tell(const std::string& sweep, const std::string& trial,
                                const std::string& reason);

  void Start();
  void Stop();
  // One pass over the active sweeps. Exposed for tests.
  void RunOnce();

  void OnMetrics(const std::string& run, const std::vector<store::MetricPoint>& points) override;

 private:
  // What the service keeps of an active sweep between passes (rebuilt from the store after a
  // restart).
  struct State {
    sweep::SweepJob job;
    std::map<std::string, std::vector<double>> series;  // trial → primary-metric values
    std::set<std::string> finished;                     // trials that have ended
    // Warm start: the trials of job.resume_from (ended; the policy compares with them) and
    // those of them that completed with a score in this space (bayesian learns from them).
    std::vector<sweep::TrialSeries> prior;
    std::vector<sweep::Observation> prior_observations;
    std::set<std::string> resumed;  // job.resume_child_runs already started again
  };
  // Checks job.resume_from and job.resume_child_runs against the store before anything is
  // created (each error names its entry).
  Status CheckWarmStart(const sweep::SweepJob& job);
  // The trials of sweep `name`, in trial order, scored by `metric`.
  Result<std::vector<TrialView>> Trials(const std::string& name, const std::string& metric,
                                        sweep::Goal goal);
  Result<State*> StateOf(const store::RunRecord& parent);  // mu_ held
  void Advance(const store::RunRecord& parent);            // mu_ held
  // Starts trial `number` with `values`, or the sampler's when none; answers its name.
  Result<std::string> StartTrial(const store::RunRecord& parent, State& state, int64_t number,
                                 std::optional<std::map<std::string, Json>> values = {});
  // The trial's stored values of `metric`, in order (empty when it has none), as
  // sweep::PrimaryMetricValue counts them.
  std::vector<double> Series(const std::string& trial, const std::string& metric, sweep::Goal goal);
  void Log(const std::string& sweep, const std::string& line);
  void Loop();

  RunService* runs_;
  Clock* clock_;
  SweepOptions options_;
  std::mutex mu_;
  std::map<std::string, State> states_;             // sweep → state; guarded by mu_
  std::map<std::string, std::string> trial_sweep_;  // trial → sweep; guarded by mu_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gantry::workspace
