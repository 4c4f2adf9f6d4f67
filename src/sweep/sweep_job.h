// SweepJob: a sweep as its author wrote it, in the shape of the Azure ML CLI v2 sweep-job
// YAML (https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json): `trial` (code,
// command with `${{search_space.NAME}}`, environment), `search_space`, `sampling_algorithm`,
// `objective`, `early_termination` and `limits`, with the command job's top-level fields
// (name, experiment_name, inputs, outputs, compute, tags). The same JSON shape travels in REST
// bodies (the SDK's HyperDriveConfig builds it) and is stored with the sweep's parent run.
//
// Everything that can be known before a trial runs is checked here, each error naming its
// field: the expressions, grid or bayesian over the wrong expressions, bayesian with a policy,
// a placeholder not in the space, max_concurrent_trials over max_total_trials. TrialJob makes
// trial n's command job. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "jobs/job_spec.h"
#include "sweep/policy.h"
#include "sweep/sampler.h"
#include "sweep/search_space.h"

namespace gantry::sweep {

struct SweepLimits {
  int64_t max_total_trials = 1000;    // Azure's default; capped by a grid's size
  int64_t max_concurrent_trials = 0;  // 0 = as many as the compute takes
  int64_t timeout_seconds = 0;        // the whole sweep; 0 = none
  int64_t trial_timeout_seconds = 0;  // each trial; 0 = none
};

struct SweepJob {
  // The trial as a command job: the sweep's top-level fields (name, experiment, inputs,
  // outputs, compute, tags) and trial's (code, environment, variables, resources,
  // distribution). Its `command` is the template with `${{search_space.NAME}}` in it.
  jobs::JobSpec trial;
  Json search_space = Json::object();  // as written (CLI v2 form)
  SearchSpace space;                   // parsed
  Json sampling_algorithm = "random";  // as written
  Sampling sampling;                   // parsed; sampling.seed is 0 until the server fills it
  std::string primary_metric;
  Goal goal = Goal::kMaximize;
  Json early_termination;  // as written; null = none
  Policy policy;
  SweepLimits limits;
  // Warm start (HyperDrive's resume_from and resume_child_runs; Gantry takes both in the YAML
  // too): earlier sweeps whose trials the sampler and the policy learn from (at most
  // kMaxResumeFrom), and earlier trials that run again first, with their values and their
  // outputs as `--resume-from DIR`. They count against limits.max_total_trials.
  std::vector<std::string> resume_from;
  std::vector<std::string> resume_child_runs;

  // The YAML's shape in JSON; FromJson(ToJson()) gives the same job.
  Json ToJson() const;
  // InvalidArgument naming the field.
  static Result<SweepJob> FromJson(const Json& json);
};

// Azure's limit on the sweeps one sweep warm-starts from.
inline constexpr size_t kMaxResumeFrom = 5;
// The input a resumed trial's earlier outputs arrive in, and the argument naming its folder.
inline constexpr char kResumeInput[] = "resume_from";
inline constexpr char kResumeArgument[] = "--resume-from";

// True when a YAML or JSON document is a sweep job (`type: sweep`).
bool IsSweepDocument(const Json& document);

// Reads a sweep YAML (`file_name` labels messages). InvalidArgument naming the field.
Result<SweepJob> ParseSweepYaml(std::string_view text, std::string_view file_name);
// Reads `file` and resolves trial.code and uri input paths against its folder (as
// jobs::LoadJobFile does for a command job).
Result<SweepJob> LoadSweepFile(const std::filesystem::path& file);

// Trial `name`'s command job: every `${{search_space.NAME}}` in the command replaced by its
// value (numbers as JSON writes them, strings verbatim), the values also in
// AZUREML_SWEEP_<NAME> variables (leading '-' dropped, other characters outside [A-Za-z0-9_]
// as '_'), limits.trial_timeout as the trial's timeout, `name` as its name.
Result<jobs::JobSpec> TrialJob(const SweepJob& sweep, const std::string& name,
                               const std::map<std::string, Json>& values);

// TrialJob for a trial that resumes an earlier one: its command also gets
// `--resume-from ${{inputs.resume_from}}`, a uri_folder input whose tree (the earlier trial's
// outputs/) the caller supplies. InvalidArgument when the trial already has an input of that
// name.
Result<jobs::JobSpec> ResumedTrialJob(const SweepJob& sweep, const std::string& name,
                                      const std::map<std::string, Json>& values,
                                      const std::string& resumed_trial);

// The text a value takes in a command line: a string verbatim, anything else as JSON.
std::string ValueText(const Json& value);

}  // namespace gantry::sweep
