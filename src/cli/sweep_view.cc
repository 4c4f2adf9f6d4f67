#include "cli/sweep_view.h"

#include <cstdio>
#include <iostream>
#include <string>

namespace gantry::cli {
namespace {

std::string Text(const Json& v) { return v.is_null() ? "-" : FormatValue(v); }

std::string Values(const Json& values) {
  std::string out;
  if (!values.is_object()) return out;
  for (const auto& [k, v] : values.items()) out += (out.empty() ? "" : " ") + k + "=" + Text(v);
  return out;
}

}  // namespace

std::string FormatValue(const Json& v) {
  if (v.is_number_float()) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.6g", v.get<double>());
    return buf;
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void PrintSweep(const Json& s) {
  const Json spec = s.value("spec", Json::object());
  const Json sampling = spec.value("sampling_algorithm", Json::object());
  std::cout << "Name:         " << s.value("name", "") << " (sweep)\n"
            << "Experiment:   " << s.value("experiment_name", "") << "\n"
            << "Status:       " << s.value("status", "") << "\n"
            << "Sampling:     " << sampling.value("type", "") << " "
            << (sampling.contains("seed") ? "seed " + Text(sampling["seed"]) : "")
            << (sampling.contains("rule") ? " rule " + Text(sampling["rule"]) : "") << "\n"
            << "Objective:    " << s["primary_metric"].value("goal", "") << " "
            << s["primary_metric"].value("name", "") << "\n"
            << "Space size:   " << s.value("space_size", "") << "\n";
  if (spec.contains("early_termination")) {
    std::cout << "Policy:       " << spec["early_termination"].dump() << "\n";
  }
  std::string counts;
  const Json trial_counts = s.value("trial_counts", Json::object());
  for (const auto& [status, n] : trial_counts.items()) {
    counts += (counts.empty() ? "" : ", ") + std::to_string(n.get<int64_t>()) + " " + status;
  }
  std::cout << "Trials:       " << s["trials"].size() << " of "
            << spec.value("limits", Json::object()).value("max_total_trials", 0)
            << (counts.empty() ? "" : " (" + counts + ")") << "\n";
  if (!s.value("best_child_run_id", "").empty()) {
    std::cout << "Best trial:   " << s.value("best_child_run_id", "") << "\n"
              << "Best score:   " << Text(s["score"]) << "\n"
              << "Best values:  " << Values(s.value("best_values", Json::object())) << "\n";
  }
  auto names = [](const Json& list) {
    std::string out;
    for (const auto& n : list) out += (out.empty() ? "" : ", ") + Text(n);
    return out;
  };
  if (!s.value("resume_from", Json::array()).empty()) {
    std::cout << "Warm start:   from " << names(s["resume_from"]) << " ("
              << s.value("prior_trials", Json::array()).size() << " earlier trials)\n";
  }
  if (!s.value("resume_child_runs", Json::array()).empty()) {
    std::cout << "Resumes:      " << names(s["resume_child_runs"]) << "\n";
  }
  if (!s.value("error", "").empty()) std::cout << "Error:        " << s.value("error", "") << "\n";
}

void PrintTrials(const Json& s) {
  const std::string metric = s["primary_metric"].value("name", "metric");
  printf("%-28s %-16s %-14s %s\n", "NAME", "STATUS", metric.substr(0, 14).c_str(), "VALUES");
  for (const auto& t : s["trials"]) {
    std::string status = t.value("status", "");
    if (t["stopped_by_policy"].is_object()) status += "*";
    std::string values = Values(t["values"]);
    if (t.contains("resumed_from")) values += " (resumes " + Text(t["resumed_from"]) + ")";
    printf("%-28s %-16s %-14s %s\n", t.value("name", "").c_str(), status.c_str(),
           Text(t["primary_metric"]).c_str(), values.c_str());
  }
  bool any_stopped = false;
  for (const auto& t : s["trials"]) {
    if (!t["stopped_by_policy"].is_object()) continue;
    if (!any_stopped) std::cout << "\n* stopped by the early termination policy:\n";
    any_stopped = true;
    std::cout << "  " << t.value("name", "") << ": " << t["stopped_by_policy"].value("reason", "")
              << "\n";
  }
}

}  // namespace gantry::cli
