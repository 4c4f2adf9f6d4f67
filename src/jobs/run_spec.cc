#include "jobs/run_spec.h"

#include <utility>

namespace gantry::jobs {
namespace {

const char* JobKey(RunSpecForm form) { return form == RunSpecForm::kStored ? "job" : "spec"; }

Result<PinnedEnvironment> PinnedEnvironmentFromJson(const Json& j) {
  PinnedEnvironment e;
  ASSIGN_OR_RETURN(e.name, GetString(j, "name"));
  ASSIGN_OR_RETURN(e.version, GetInt(j, "version"));
  ASSIGN_OR_RETURN(e.hash, GetString(j, "hash"));
  if (auto spec = j.find("spec"); spec != j.end() && !spec->is_null()) {
    if (!spec->is_object()) return Err(InvalidArgumentError("field 'spec' must be an object"));
    e.spec = *spec;
  }
  return e;
}

}  // namespace

Json PinnedEnvironmentToJson(const PinnedEnvironment& e) {
  return {{"name", e.name}, {"version", e.version}, {"hash", e.hash}, {"spec", e.spec}};
}

Json RunSpecToJson(const RunSpec& spec, RunSpecForm form) {
  Json datasets = Json::array();
  for (const DatasetUse& d : spec.datasets) {
    datasets.push_back({{"input", d.input}, {"name", d.name}, {"version", d.version}});
  }
  Json j = {
      {JobKey(form), spec.job.ToJson()},
      {"input_trees", spec.input_trees},
      {"datasets", std::move(datasets)},
      {"environment", spec.environment ? PinnedEnvironmentToJson(*spec.environment) : Json()}};
  if (form == RunSpecForm::kStored && !spec.gpus.empty()) j["gpus"] = spec.gpus;
  return j;
}

Result<RunSpec> RunSpecFromJson(const Json& json, RunSpecForm form) {
  if (!json.is_object()) return Err(InvalidArgumentError("the run's spec must be an object"));
  RunSpec spec;
  auto job = json.find(JobKey(form));
  ASSIGN_OR_RETURN(spec.job, JobSpec::FromJson(job != json.end() ? *job : Json()));
  if (auto trees = json.find("input_trees"); trees != json.end() && !trees->is_null()) {
    if (!trees->is_object())
      return Err(InvalidArgumentError("field 'input_trees' must be an object"));
    for (const auto& [name, id] : trees->items()) {
      if (!id.is_string()) {
        return Err(InvalidArgumentError("field 'input_trees." + name + "' must be a string"));
      }
      spec.input_trees[name] = id.get<std::string>();
    }
  }
  if (auto datasets = json.find("datasets"); datasets != json.end() && !datasets->is_null()) {
    if (!datasets->is_array())
      return Err(InvalidArgumentError("field 'datasets' must be an array"));
    for (const Json& d : *datasets) {
      if (!d.is_object()) return Err(InvalidArgumentError("each of 'datasets' must be an object"));
      DatasetUse use;
      ASSIGN_OR_RETURN(use.input, GetString(d, "input"));
      ASSIGN_OR_RETURN(use.name, GetString(d, "name"));
      ASSIGN_OR_RETURN(use.version, GetInt(d, "version"));
      spec.datasets.push_back(std::move(use));
    }
  }
  if (auto env = json.find("environment"); env != json.end() && !env->is_null()) {
    if (!env->is_object())
      return Err(InvalidArgumentError("field 'environment' must be an object"));
    Result<PinnedEnvironment> pinned = PinnedEnvironmentFromJson(*env);
    if (!pinned) return Err(pinned.error().WithPrefix("environment"));
    spec.environment = std::move(*pinned);
  }
  if (auto gpus = json.find("gpus"); gpus != json.end() && !gpus->is_null()) {
    if (!gpus->is_array()) return Err(InvalidArgumentError("field 'gpus' must be an array"));
    for (const Json& g : *gpus) {
      ASSIGN_OR_RETURN(int64_t gpu, IntFromJson(g, "gpus"));
      spec.gpus.push_back(static_cast<int>(gpu));
    }
  }
  ASSIGN_OR_RETURN(spec.plan, PlanDistribution(spec.job.resources, spec.job.distribution));
  return spec;
}

}  // namespace gantry::jobs
