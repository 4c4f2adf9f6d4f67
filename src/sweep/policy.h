// Early termination (issue 12): the `early_termination` of a CLI v2 sweep job (HyperDrive's
// BanditPolicy, MedianStoppingPolicy, TruncationSelectionPolicy) and the pure rule that says
// whether a trial stops when it reports its primary metric. The sweep calls Judge on every
// primary-metric point as it is ingested, so a trial stops at the interval that condemns it.
//
// An interval is one logged value of the primary metric: a trial's k-th value is its value at
// interval k (1-based), as in Azure ML. A policy judges interval k only when
// k > delay_evaluation and (k - delay_evaluation) is a multiple of evaluation_interval
// (HyperDrive's SDK defaults: evaluation_interval 1, delay_evaluation 0; the CLI v2 reference
// says 0 for evaluation_interval, which would judge nothing: we follow the SDK). Pure;
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "sweep/sampler.h"

namespace gantry::sweep {

enum class PolicyType { kNone, kBandit, kMedianStopping, kTruncationSelection };

// "none", "bandit", "median_stopping", "truncation_selection".
std::string PolicyTypeName(PolicyType type);

struct Policy {
  PolicyType type = PolicyType::kNone;
  int64_t evaluation_interval = 1;
  int64_t delay_evaluation = 0;
  // bandit: exactly one of the two is set.
  std::optional<double> slack_factor, slack_amount;
  // truncation_selection: the percentage (1..99) of trials to cut at each judged interval.
  int64_t truncation_percentage = 0;
  bool exclude_finished_jobs = false;
};

// Reads a CLI v2 `early_termination` mapping (null or absent: no policy). InvalidArgument
// naming `early_termination.FIELD`: an unknown type, bandit with neither or both slacks, a
// negative slack, evaluation_interval under 1, delay_evaluation under 0, a truncation
// percentage outside 1..99.
Result<Policy> ParsePolicy(const Json& early_termination);

// One trial's primary metric so far, as the policy sees it.
struct TrialSeries {
  std::string trial;           // the child run's name
  std::vector<double> values;  // values[k-1] is the value at interval k
  bool finished = false;       // the trial has ended (Completed, Failed, Canceled)
};

// Why a policy stopped a trial: what the run's record shows.
struct StopDecision {
  PolicyType policy = PolicyType::kNone;
  int64_t interval = 0;
  double value = 0;      // the trial's value the policy compared
  double threshold = 0;  // the value it had to reach (maximize) or stay under (minimize)
  std::string reason;    // e.g. "bandit policy at interval 3: 0.61 is below 0.727 (best 0.8
                         // / (1 + slack_factor 0.1))"
};

// A logged value as the primary metric sees it. `json` is the value's JSON text when it is not
// a plain number ("" when it is: then `number` is the value). The SDK sends a NaN, an
// infinity as the strings "NaN", "Infinity", "-Infinity": the infinities count as such, and a
// NaN (a diverged trial) as the worst value for `goal` (-inf maximizing, +inf minimizing), so
// a policy stops it and it is never the best. Any other non-number (a string, a table) is not
// a value of the metric: nullopt.
std::optional<double> PrimaryMetricValue(double number, const std::string& json, Goal goal);

// Judges trial `trials[candidate]` at its latest interval k = its number of values, against
// the other trials' series:
//  - bandit: best = the best value at interval k over all trials that reached k (the
//    candidate included); the threshold is best / (1 + slack_factor) or best - slack_amount
//    when maximizing, best * (1 + slack_factor) or best + slack_amount when minimizing; the
//    candidate stops when its value at k is worse than the threshold.
//  - median_stopping: the candidate's best value over intervals 1..k against the median of
//    the running averages (mean of intervals 1..k) of the other trials that reached k; it
//    stops when it is worse than that median. No judgement without another trial at k.
//  - truncation_selection: the trials that reached k (finished ones unless
//    exclude_finished_jobs) ranked by their value at k; the candidate stops when it is in the
//    worst floor(n * percentage / 100) of them. The threshold is the value at k of the worst
//    trial that survives (the value the candidate had to beat).
// nullopt when the trial goes on (also when k is not a judged interval or no policy).
std::optional<StopDecision> Judge(const Policy& policy, Goal goal,
                                  const std::vector<TrialSeries>& trials, size_t candidate);

}  // namespace gantry::sweep
