#include "sweep/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace gantry::sweep {
namespace {

std::string Num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgumentError("early_termination." + field + ": " + what);
}

Result<int64_t> Int(const Json& j, const char* field, int64_t fallback, int64_t min) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min) {
    return Err(Bad(field, "must be a whole number of at least " + std::to_string(min) + ", not " +
                              it->dump()));
  }
  return it->get<int64_t>();
}

Result<std::optional<double>> Slack(const Json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number() || it->get<double>() < 0) {
    return Err(Bad(field, "must be a number of at least 0, not " + it->dump()));
  }
  return std::optional<double>(it->get<double>());
}

bool Worse(Goal goal, double value, double threshold) {
  return goal == Goal::kMaximize ? value < threshold : value > threshold;
}

}  // namespace

std::string PolicyTypeName(PolicyType type) {
  switch (type) {
    case PolicyType::kNone:
      return "none";
    case PolicyType::kBandit:
      return "bandit";
    case PolicyType::kMedianStopping:
      return "median_stopping";
    case PolicyType::kTruncationSelection:
      return "truncation_selection";
  }
  return "none";
}

Result<Policy> ParsePolicy(const Json& j) {
  Policy p;
  if (j.is_null()) return p;
  if (!j.is_object()) return Err(InvalidArgumentError("early_termination must be a mapping"));
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return Err(Bad("type", "is required"));
  const std::string t = type->get<std::string>();
  std::vector<std::string> allowed = {"type", "evaluation_interval", "delay_evaluation"};
  if (t == "bandit") {
    p.type = PolicyType::kBandit;
    allowed.insert(allowed.end(), {"slack_factor", "slack_amount"});
  } else if (t == "median_stopping") {
    p.type = PolicyType::kMedianStopping;
  } else if (t == "truncation_selection") {
    p.type = PolicyType::kTruncationSelection;
    allowed.insert(allowed.end(), {"truncation_percentage", "exclude_finished_jobs"});
  } else {
    return Err(
        Bad("type", "'" + t + "' is not one of bandit, median_stopping, truncation_selection"));
  }
  for (const auto& [k, v] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return Err(Bad(k, "is not a field of a " + t + " policy"));
    }
  }
  ASSIGN_OR_RETURN(p.evaluation_interval, Int(j, "evaluation_interval", 1, 1));
  ASSIGN_OR_RETURN(p.delay_evaluation, Int(j, "delay_evaluation", 0, 0));
  if (p.type == PolicyType::kBandit) {
    ASSIGN_OR_RETURN(p.slack_factor, Slack(j, "slack_factor"));
    ASSIGN_OR_RETURN(p.slack_amount, Slack(j, "slack_amount"));
    if (p.slack_factor.has_value() == p.slack_amount.has_value()) {
      return Err(Bad("slack_factor",
                     "a bandit policy needs exactly one of slack_factor and "
                     "slack_amount"));
    }
  }
  if (p.type == PolicyType::kTruncationSelection) {
    auto it = j.find("truncation_percentage");
    if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > 99) {
      return Err(Bad("truncation_percentage", "must be a whole number from 1 to 99"));
    }
    p.truncation_percentage = it->get<int64_t>();
    auto ex = j.find("exclude_finished_jobs");
    if (ex != j.end() && !ex->is_null()) {
      if (!ex->is_boolean()) return Err(Bad("exclude_finished_jobs", "must be true or false"));
      p.exclude_finished_jobs = ex->get<bool>();
    }
  }
  return p;
}

std::optional<double> PrimaryMetricValue(double number, const std::string& json, Goal goal) {
  if (json.empty()) return number;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (json == "\"Infinity\"") return kInf;
  if (json == "\"-Infinity\"") return -kInf;
  if (json == "\"NaN\"") return goal == Goal::kMaximize ? -kInf : kInf;
  return std::nullopt;
}

std::optional<StopDecision> Judge(const Policy& policy, Goal goal,
                                  const std::vector<TrialSeries>& trials, size_t candidate) {
  if (policy.type == PolicyType::kNone || candidate >= trials.size()) return std::nullopt;
  const TrialSeries& me = trials[candidate];
  const int64_t k = static_cast<int64_t>(me.values.size());
  if (k <= policy.delay_evaluation ||
      (k - policy.delay_evaluation) % policy.evaluation_interval != 0) {
    return std::nullopt;
  }
  const size_t at = static_cast<size_t>(k - 1);
  const bool max = goal == Goal::kMaximize;
  const std::string name = PolicyTypeName(policy.type) + " policy at interval " + std::to_string(k);
  StopDecision d{.policy = policy.type, .interval = k};
  if (policy.type == PolicyType::kBandit) {
    double best = me.values[at];
    for (const auto& t : trials) {
      if (t.values.size() > at && (max ? t.values[at] > best : t.values[at] < best))
        best = t.values[at];
    }
    std::string how;
    if (policy.slack_factor && best >= 0) {
      d.threshold = max ? best / (1 + *policy.slack_factor) : best * (1 + *policy.slack_factor);
      how = "best " + Num(best) + (max ? " / " : " * ") + "(1 + slack_factor " +
            Num(*policy.slack_factor) + ")";
    } else if (policy.slack_factor) {
      // Below zero Azure's ratio would put the threshold on the wrong side of the best (-1 /
      // 1.1 is above -1): the same relative slack is taken from the best's magnitude instead.
      const double s = *policy.slack_factor;
      d.threshold = max ? best * (1 + s) : best / (1 + s);
      how = "best " + Num(best) + (max ? " * " : " / ") + "(1 + slack_factor " + Num(s) +
            "), a negative best";
    } else {
      d.threshold = max ? best - *policy.slack_amount : best + *policy.slack_amount;
      how =
          "best " + Num(best) + (max ? " - " : " + ") + "slack_amount " + Num(*policy.slack_amount);
    }
    d.value = me.values[at];
    if (!Worse(goal, d.value, d.threshold)) return std::nullopt;
    d.reason = name + ": " + Num(d.value) + (max ? " is below " : " is above ") + Num(d.threshold) +
               " (" + how + ")";
    return d;
  }
  if (policy.type == PolicyType::kMedianStopping) {
    std::vector<double> averages;
    for (size_t i = 0; i < trials.size(); ++i) {
      if (i == candidate || trials[i].values.size() <= at) continue;
      double sum = 0;
      for (size_t j = 0; j <= at; ++j) sum += trials[i].values[j];
      averages.push_back(sum / static_cast<double>(at + 1));
    }
    if (averages.empty()) return std::nullopt;
    std::sort(averages.begin(), averages.end());
    const size_t n = averages.size();
    d.threshold = n % 2 ? averages[n / 2] : (averages[n / 2 - 1] + averages[n / 2]) / 2;
    d.value = me.values[0];
    for (size_t j = 0; j <= at; ++j) {
      d.value = max ? std::max(d.value, me.values[j]) : std::min(d.value, me.values[j]);
    }
    if (!Worse(goal, d.value, d.threshold)) return std::nullopt;
    d.reason = name + ": its best value " + Num(d.value) + (max ? " is below " : " is above ") +
               "the median " + Num(d.threshold) + " of the other " + std::to_string(n) +
               " trials' running averages";
    return d;
  }
  // Truncation selection.
  std::vector<std::pair<double, size_t>> ranked;  // value at k, trial index
  for (size_t i = 0; i < trials.size(); ++i) {
    if (trials[i].values.size() <= at) continue;
    if (policy.exclude_finished_jobs && trials[i].finished && i != candidate) continue;
    ranked.push_back({trials[i].values[at], i});
  }
  // Best first (ties: the earlier trial ranks higher).
  std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    return max ? a.first > b.first : a.first < b.first;
  });
  const size_t cut = ranked.size() * static_cast<size_t>(policy.truncation_percentage) / 100;
  if (cut == 0) return std::nullopt;
  const size_t keep = ranked.size() - cut;
  size_t rank = 0;
  while (rank < ranked.size() && ranked[rank].second != candidate) ++rank;
  if (rank < keep) return std::nullopt;
  d.value = me.values[at];
  d.threshold = ranked[keep - 1].first;
  d.reason = name + ": " + Num(d.value) + " ranks " + std::to_string(rank + 1) + " of " +
             std::to_string(ranked.size()) + ", in the worst " +
             std::to_string(policy.truncation_percentage) + "% (it had to beat " +
             Num(d.threshold) + ")";
  return d;
}

}  // namespace gantry::sweep
