// RunSpec: what a run is, resolved once at submission (RunService::Submit) and read by every
// layer after it: the job spec as submitted, the tree of each uri input (uploaded, or the
// pinned tree of a dataset version), the dataset versions it used (lineage), the environment
// pinned for it, the GPUs the scheduler gave it, and its distribution plan (derived from the
// job's resources and distribution, never stored). One codec carries it: the metadata store
// keeps it with the run (the job under "job"); the REST API's run object carries the same
// fields with the job under "spec", which is what the runner decodes. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "jobs/distribution.h"
#include "jobs/job_spec.h"

namespace gantry::jobs {

// A dataset version an input of the run was resolved to.
struct DatasetUse {
  std::string input;  // the job's input name
  std::string name;
  int64_t version = 0;
  bool operator==(const DatasetUse&) const = default;
};

// A registered or curated environment, pinned at submission: the exact spec (and its build
// hash) the run was submitted with.
struct PinnedEnvironment {
  std::string name;
  int64_t version = 0;
  std::string hash;
  Json spec = Json::object();  // the environment definition (conda, pip, docker, variables)
  bool operator==(const PinnedEnvironment&) const = default;
};

struct RunSpec {
  JobSpec job;
  std::map<std::string, std::string> input_trees;  // uri input name → tree id
  std::vector<DatasetUse> datasets;
  std::optional<PinnedEnvironment> environment;
  std::vector<int> gpus;  // the GPUs the scheduler gave the run's runner, none before
  DistributionPlan plan;  // from job.resources and job.distribution
};

// Where the job goes in the JSON form.
enum class RunSpecForm {
  kStored,  // {"job", "input_trees", "datasets", "environment", "gpus"}: the store's
  kRest,    // {"spec", "input_trees", "datasets", "environment"}: part of the run object
};

Json PinnedEnvironmentToJson(const PinnedEnvironment& environment);
Json RunSpecToJson(const RunSpec& spec, RunSpecForm form = RunSpecForm::kStored);
// InvalidArgument naming the field when something is malformed; the job's own errors come
// from JobSpec::FromJson. Computes the distribution plan.
Result<RunSpec> RunSpecFromJson(const Json& json, RunSpecForm form = RunSpecForm::kStored);

}  // namespace gantry::jobs
