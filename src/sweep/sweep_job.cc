#include "sweep/sweep_job.h"

#include <algorithm>
#include <cctype>

#include "common/files.h"
#include "common/names.h"
#include "jobs/yaml_json.h"

namespace gantry::sweep {
namespace {

constexpr std::string_view kTopLevel[] = {"$schema",
                                          "type",
                                          "name",
                                          "display_name",
                                          "experiment_name",
                                          "description",
                                          "tags",
                                          "inputs",
                                          "outputs",
                                          "compute",
                                          "trial",
                                          "search_space",
                                          "sampling_algorithm",
                                          "objective",
                                          "early_termination",
                                          "limits",
                                          "resume_from",
                                          "resume_child_runs"};
// Fields of the command job that the sweep's top level gives its trials.
constexpr std::string_view kShared[] = {"name", "display_name", "experiment_name", "description",
                                        "tags", "inputs",       "outputs",         "compute"};
constexpr std::string_view kTrial[] = {
    "code", "command", "environment", "environment_variables", "resources", "distribution"};
constexpr std::string_view kLimits[] = {"max_total_trials", "max_concurrent_trials", "timeout",
                                        "trial_timeout"};
constexpr std::string_view kObjective[] = {"primary_metric", "goal"};
constexpr std::string_view kPrefix = "search_space.";

bool Known(std::span<const std::string_view> names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Status CheckFields(const Json& object, std::span<const std::string_view> names,
                   const std::string& where) {
  for (const auto& [k, v] : object.items()) {
    if (!Known(names, k)) {
      std::string list;
      for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
      return InvalidArgumentError("unknown field '" + where + k + "' (expected one of " + list +
                                  ")");
    }
  }
  return Status::Ok();
}

Result<int64_t> WholeNumber(const Json& limits, const char* field, int64_t min, int64_t fallback) {
  auto it = limits.find(field);
  if (it == limits.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min) {
    return Err(InvalidArgumentError("limits." + std::string(field) + " must be a whole number of " +
                                    "at least " + std::to_string(min) + ", not " + it->dump()));
  }
  return it->get<int64_t>();
}

// A list of distinct run names (absent or null: empty).
Result<std::vector<std::string>> RunNames(const Json& json, const char* field) {
  std::vector<std::string> names;
  auto it = json.find(field);
  if (it == json.end() || it->is_null()) return names;
  if (!it->is_array()) {
    return Err(InvalidArgumentError("field '" + std::string(field) +
                                    "' must be a list of run names, not " + it->dump()));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    const Json& v = (*it)[i];
    if (!v.is_string()) {
      return Err(InvalidArgumentError(where + " must be a run name, not " + v.dump()));
    }
    RETURN_IF_ERROR(ValidateName(where, v.get<std::string>()));
    if (std::find(names.begin(), names.end(), v.get<std::string>()) != names.end()) {
      return Err(InvalidArgumentError(where + ": '" + v.get<std::string>() + "' is listed twice"));
    }
    names.push_back(v.get<std::string>());
  }
  return names;
}

// Replaces each ${{search_space.X}} with value(X); other placeholders stay.
template <typename F>
Result<std::string> ReplaceSpacePlaceholders(std::string_view command, F value) {
  std::string out;
  size_t pos = 0;
  for (const jobs::Placeholder& s : jobs::ScanPlaceholders(command)) {
    if (!s.content.starts_with(kPrefix)) continue;
    ASSIGN_OR_RETURN(std::string text, value(s.content.substr(kPrefix.size())));
    out.append(command.substr(pos, s.begin - pos));
    out.append(text);
    pos = s.end;
  }
  out.append(command.substr(pos));
  return out;
}

std::string VariableName(const std::string& parameter) {
  std::string name = parameter.substr(std::min(parameter.find_first_not_of('-'), parameter.size()));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return "AZUREML_SWEEP_" + name;
}

}  // namespace

std::string ValueText(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

bool IsSweepDocument(const Json& document) {
  return document.is_object() && document.contains("type") && document["type"] == "sweep";
}

Result<SweepJob> SweepJob::FromJson(const Json& json) {
  if (!json.is_object()) return Err(InvalidArgumentError("a sweep job must be a mapping"));
  RETURN_IF_ERROR(CheckFields(json, kTopLevel, ""));
  if (json.contains("type") && json["type"] != "sweep") {
    return Err(InvalidArgumentError("field 'type' must be 'sweep', not " + json["type"].dump()));
  }
  SweepJob sweep;
  if (!json.contains("search_space"))
    return Err(InvalidArgumentError("field 'search_space' is required"));
  sweep.search_space = json["search_space"];
  ASSIGN_OR_RETURN(sweep.space, ParseSearchSpace(sweep.search_space));

  auto trial_it = json.find("trial");
  if (trial_it == json.end() || !trial_it->is_object()) {
    return Err(
        InvalidArgumentError("field 'trial' is required: a mapping with the trial's code, "
                             "command and environment"));
  }
  RETURN_IF_ERROR(CheckFields(*trial_it, kTrial, "trial."));
  auto command_it = trial_it->find("command");
  if (command_it == trial_it->end() || !command_it->is_string() ||
      command_it->get<std::string>().empty()) {
    return Err(InvalidArgumentError("field 'trial.command' is required"));
  }
  const std::string command = command_it->get<std::string>();
  // The command job's own rules check the rest; the search-space placeholders are checked
  // here, against the space.
  ASSIGN_OR_RETURN(
      std::string neutral,
      ReplaceSpacePlaceholders(command, [&](const std::string& name) -> Result<std::string> {
        if (!sweep.space.contains(name)) {
          std::string names;
          for (const auto& [n, e] : sweep.space) names += (names.empty() ? "" : ", ") + n;
          return Err(InvalidArgumentError("trial.command uses '${{search_space." + name +
                                          "}}', but the search_space has no '" + name +
                                          "' (it has " + names + ")"));
        }
        return std::string("0");
      }));
  Json job = Json::object();
  for (const auto& [k, v] : json.items()) {
    if (Known(kShared, k)) job[k] = v;
  }
  for (const auto& [k, v] : trial_it->items()) job[k] = v;
  job["command"] = neutral;
  auto trial = jobs::JobSpec::FromJson(job);
  if (!trial.has_value()) return Err(trial.error().WithPrefix("trial"));
  sweep.trial = std::move(*trial);
  sweep.trial.command = command;

  sweep.sampling_algorithm = json.value("sampling_algorithm", Json("random"));
  ASSIGN_OR_RETURN(sweep.sampling, ParseSampling(sweep.sampling_algorithm, sweep.space));

  auto objective = json.find("objective");
  if (objective == json.end() || !objective->is_object()) {
    return Err(InvalidArgumentError(
        "field 'objective' is required: {primary_metric: NAME, goal: maximize|minimize}"));
  }
  RETURN_IF_ERROR(CheckFields(*objective, kObjective, "objective."));
  auto metric = objective->find("primary_metric");
  if (metric == objective->end() || !metric->is_string() || metric->get<std::string>().empty()) {
    return Err(InvalidArgumentError("field 'objective.primary_metric' is required"));
  }
  sweep.primary_metric = metric->get<std::string>();
  auto goal = objective->find("goal");
  if (goal == objective->end() || !goal->is_string()) {
    return Err(InvalidArgumentError("field 'objective.goal' is required (maximize or minimize)"));
  }
  auto parsed_goal = ParseGoal(goal->get<std::string>());
  if (!parsed_goal.has_value()) return Err(parsed_goal.error().WithPrefix("objective.goal"));
  sweep.goal = *parsed_goal;

  sweep.early_termination = json.value("early_termination", Json());
  ASSIGN_OR_RETURN(sweep.policy, ParsePolicy(sweep.early_termination));
  if (sweep.sampling.type == SamplingType::kBayesian && sweep.policy.type != PolicyType::kNone) {
    return Err(InvalidArgumentError(
        "early_termination: bayesian sampling does not support an early termination policy "
        "(it learns from every trial's final score); remove it or sample at random"));
  }

  Json limits = json.value("limits", Json::object());
  if (!limits.is_object()) return Err(InvalidArgumentError("field 'limits' must be a mapping"));
  RETURN_IF_ERROR(CheckFields(limits, kLimits, "limits."));
  ASSIGN_OR_RETURN(sweep.resume_from, RunNames(json, "resume_from"));
  ASSIGN_OR_RETURN(sweep.resume_child_runs, RunNames(json, "resume_child_runs"));
  const int64_t resumed = static_cast<int64_t>(sweep.resume_child_runs.size());
  std::optional<int64_t> size = SpaceSize(sweep.space);
  // A grid's default budget: its points, after the trials it resumes.
  const int64_t fallback =
      sweep.sampling.type == SamplingType::kGrid && size ? *size + resumed : 1000;
  ASSIGN_OR_RETURN(sweep.limits.max_total_trials,
                   WholeNumber(limits, "max_total_trials", 1, fallback));
  ASSIGN_OR_RETURN(sweep.limits.max_concurrent_trials,
                   WholeNumber(limits, "max_concurrent_trials", 1, 0));
  ASSIGN_OR_RETURN(sweep.limits.timeout_seconds, WholeNumber(limits, "timeout", 0, 0));
  ASSIGN_OR_RETURN(sweep.limits.trial_timeout_seconds, WholeNumber(limits, "trial_timeout", 0, 0));
  if (sweep.limits.max_concurrent_trials > sweep.limits.max_total_trials) {
    return Err(InvalidArgumentError("limits.max_concurrent_trials (" +
                                    std::to_string(sweep.limits.max_concurrent_trials) +
                                    ") must not exceed limits.max_total_trials (" +
                                    std::to_string(sweep.limits.max_total_trials) + ")"));
  }
  if (sweep.resume_from.size() > kMaxResumeFrom) {
    return Err(InvalidArgumentError(
        "resume_from lists " + std::to_string(sweep.resume_from.size()) +
        " sweeps; a sweep warm-starts from at most " + std::to_string(kMaxResumeFrom)));
  }
  if (sweep.sampling.type == SamplingType::kExternal &&
      !(sweep.resume_from.empty() && sweep.resume_child_runs.empty())) {
    return Err(InvalidArgumentError(
        "resume_from, resume_child_runs: an external sweep's optimiser chooses every trial; "
        "give it the earlier trials itself"));
  }
  if (sweep.trial.inputs.contains(kResumeInput) && !sweep.resume_child_runs.empty()) {
    return Err(InvalidArgumentError(std::string("inputs.") + kResumeInput +
                                    ": the name is taken by the resumed trials' earlier outputs "
                                    "(resume_child_runs); rename the input"));
  }
  // A grid has no more points than its size (beyond the trials it resumes).
  if (sweep.sampling.type == SamplingType::kGrid && size) {
    sweep.limits.max_total_trials = std::min(sweep.limits.max_total_trials, *size + resumed);
  }
  if (resumed > sweep.limits.max_total_trials) {
    return Err(InvalidArgumentError("resume_child_runs lists " + std::to_string(resumed) +
                                    " trials, more than " + "limits.max_total_trials (" +
                                    std::to_string(sweep.limits.max_total_trials) +
                                    "), which counts them"));
  }
  return sweep;
}

Json SweepJob::ToJson() const {
  Json job = trial.ToJson();
  Json out = {{"type", "sweep"}};
  Json t = Json::object();
  for (const auto& [k, v] : job.items()) {
    if (Known(kShared, k)) {
      out[k] = v;
    } else if (Known(kTrial, k)) {
      t[k] = v;
    }
  }
  out["trial"] = t;
  out["search_space"] = search_space;
  Json sampling_json = {{"type", SamplingTypeName(sampling.type)}};
  if (sampling.seeded || sampling.seed != 0) sampling_json["seed"] = sampling.seed;
  if (sampling.sobol) sampling_json["rule"] = "sobol";
  out["sampling_algorithm"] = sampling_json;
  out["objective"] = {{"primary_metric", primary_metric}, {"goal", GoalName(goal)}};
  if (!early_termination.is_null()) out["early_termination"] = early_termination;
  Json l = {{"max_total_trials", limits.max_total_trials}};
  if (limits.max_concurrent_trials) l["max_concurrent_trials"] = limits.max_concurrent_trials;
  if (limits.timeout_seconds) l["timeout"] = limits.timeout_seconds;
  if (limits.trial_timeout_seconds) l["trial_timeout"] = limits.trial_timeout_seconds;
  out["limits"] = l;
  if (!resume_from.empty()) out["resume_from"] = resume_from;
  if (!resume_child_runs.empty()) out["resume_child_runs"] = resume_child_runs;
  return out;
}

Result<SweepJob> ParseSweepYaml(std::string_view text, std::string_view file_name) {
  const std::string label = file_name.empty() ? "<sweep>" : std::string(file_name);
  ASSIGN_OR_RETURN(Json json, jobs::YamlToJson(text, label, jobs::YamlScalars::kTyped));
  auto sweep = SweepJob::FromJson(json);
  if (!sweep.has_value()) return Err(sweep.error().WithPrefix(label));
  return sweep;
}

Result<SweepJob> LoadSweepFile(const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  ASSIGN_OR_RETURN(SweepJob sweep, ParseSweepYaml(text, file.string()));
  std::error_code ec;
  const auto dir = std::filesystem::absolute(file, ec).parent_path();
  if (ec) return Err(InternalError("cannot resolve '" + file.string() + "': " + ec.message()));
  RETURN_IF_ERROR(jobs::ResolveLocalPaths(sweep.trial, dir, file.string()));
  return sweep;
}

Result<jobs::JobSpec> TrialJob(const SweepJob& sweep, const std::string& name,
                               const std::map<std::string, Json>& values) {
  jobs::JobSpec job = sweep.trial;
  ASSIGN_OR_RETURN(
      job.command,
      ReplaceSpacePlaceholders(
          sweep.trial.command, [&](const std::string& p) -> Result<std::string> {
            auto it = values.find(p);
            if (it == values.end()) {
              return Err(InvalidArgumentError("no value for '${{search_space." + p + "}}'"));
            }
            return ValueText(it->second);
          }));
  for (const auto& [p, v] : values) job.environment_variables[VariableName(p)] = ValueText(v);
  job.name = name;
  job.display_name = name;
  if (sweep.limits.trial_timeout_seconds) job.timeout_seconds = sweep.limits.trial_timeout_seconds;
  return job;
}

Result<jobs::JobSpec> ResumedTrialJob(const SweepJob& sweep, const std::string& name,
                                      const std::map<std::string, Json>& values,
                                      const std::string& resumed_trial) {
  ASSIGN_OR_RETURN(jobs::JobSpec job, TrialJob(sweep, name, values));
  if (job.inputs.contains(kResumeInput)) {
    return Err(InvalidArgumentError(std::string("inputs.") + kResumeInput +
                                    " is taken; a resumed trial's earlier outputs arrive there"));
  }
  job.inputs[kResumeInput] = {.kind = jobs::InputSpec::Kind::kUriFolder,
                              .path = "runs:" + resumed_trial + "/outputs"};
  job.command += std::string(" ") + kResumeArgument + " ${{inputs." + kResumeInput + "}}";
  return job;
}

}  // namespace gantry::sweep
