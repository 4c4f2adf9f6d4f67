#include "api/views.h"

#include <utility>

#include "artifacts/tree.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/url.h"
#include "jobs/run_spec.h"
#include "workspace/environment_service.h"

namespace gantry::api {

Json RunToJson(const store::RunRecord& run) {
  Json j = {{"name", run.name},
            {"display_name", run.display_name},
            {"experiment_name", run.experiment_name},
            {"status", run.status},
            {"status_detail", run.status_detail},
            {"compute", run.compute},
            {"created_at", FormatIsoTime(run.created_at)},
            {"started_at", FormatIsoTime(run.started_at)},
            {"ended_at", FormatIsoTime(run.ended_at)},
            {"created_at_ms", run.created_at},
            {"started_at_ms", run.started_at},
            {"ended_at_ms", run.ended_at},
            {"error", run.error},
            {"exit_code", run.exit_code ? Json(*run.exit_code) : Json(nullptr)},
            {"tags", run.tags},
            {"snapshot_id", run.snapshot_id}};
  j["kind"] = run.kind;
  j["parent"] = run.parent;
  j["properties"] = run.properties;
  if (run.kind == "sweep") {
    // A sweep has no job of its own: its spec is the sweep job.
    j["spec"] = run.spec.value("sweep", Json::object());
    j["input_trees"] = run.spec.value("input_trees", Json::object());
    return j;
  }
  // The resolved job (spec, input_trees, datasets, environment), as the runner reads it.
  if (Result<jobs::RunSpec> spec = jobs::RunSpecFromJson(run.spec); spec.has_value()) {
    j.update(jobs::RunSpecToJson(*spec, jobs::RunSpecForm::kRest));
  } else {
    GLOG(Warning) << "run '" << run.name << "' has an unreadable spec: " << spec.error().message();
    j["spec"] = Json::object();
  }
  // The batch system's job id (Slurm) on a slurm target.
  if (!run.launch_id.empty()) j["compute_job_id"] = run.launch_id;
  return j;
}

Json SweepToJson(const workspace::SweepView& view) {
  Json j = RunToJson(view.run);
  const auto& p = view.run.properties;
  j["primary_metric"] = {{"name", view.job.primary_metric},
                         {"goal", sweep::GoalName(view.job.goal)}};
  j["space_size"] = p.value("space_size", "");
  j["best_child_run_id"] = p.value("best_child_run_id", "");
  j["score"] =
      p.contains("score") ? Json::parse(p.value("score", "null"), nullptr, false) : Json(nullptr);
  auto row = [](const workspace::TrialView& t) {
    Json r = {{"name", t.run.name},
              {"number", t.number},
              {"status", t.run.status},
              {"values", t.values},
              {"primary_metric", t.score ? Json(*t.score) : Json(nullptr)},
              {"intervals", t.intervals},
              {"error", t.run.error},
              {"stopped_by_policy", t.stopped},
              {"started_at", FormatIsoTime(t.run.started_at)},
              {"ended_at", FormatIsoTime(t.run.ended_at)}};
    if (!t.resumed_from.empty()) r["resumed_from"] = t.resumed_from;
    return r;
  };
  Json trials = Json::array();
  Json counts = Json::object();
  for (const auto& t : view.trials) {
    if (t.run.name == j["best_child_run_id"]) j["best_values"] = t.values;
    counts[t.run.status] = counts.value(t.run.status, 0) + 1;
    trials.push_back(row(t));
  }
  j["trial_counts"] = counts;
  j["trials"] = trials;
  j["resume_from"] = view.job.resume_from;
  j["resume_child_runs"] = view.job.resume_child_runs;
  // A warm start's earlier trials, each with its sweep (the SDK's include_resume_from_runs).
  Json prior = Json::array();
  for (const auto& t : view.prior_trials) {
    Json r = row(t);
    r["sweep"] = t.run.parent;
    prior.push_back(std::move(r));
  }
  j["prior_trials"] = prior;
  return j;
}

Json EventToJson(const store::StatusEvent& e) {
  return Json{{"status", e.status},
              {"time", FormatIsoTime(e.time)},
              {"time_ms", e.time},
              {"detail", e.detail}};
}

Json MetricValue(const store::MetricPoint& p) {
  if (p.value_json.empty()) return p.value;
  Json v = Json::parse(p.value_json, nullptr, false);
  return v.is_discarded() ? Json(p.value_json) : v;
}

Json ArtifactToJson(const store::ArtifactRecord& a) {
  return {{"path", a.path}, {"blob", a.blob}, {"size", a.size}, {"mode", a.mode}};
}

Json DatasetToJson(const store::DatasetRecord& d) {
  return Json{{"name", d.name},
              {"version", d.version},
              {"id", d.name + ":" + std::to_string(d.version)},
              {"description", d.description},
              {"type", d.type},
              {"tree_id", d.tree_id},
              {"sources", d.sources},
              {"tags", d.tags},
              {"created_at", FormatIsoTime(d.created_at)},
              {"created_at_ms", d.created_at}};
}

Json ModelToJson(const store::ModelRecord& m) {
  return Json{{"name", m.name},
              {"version", m.version},
              {"id", m.name + ":" + std::to_string(m.version)},
              {"description", m.description},
              {"tree_id", m.tree_id},
              {"framework", m.framework},
              {"framework_version", m.framework_version},
              {"type", m.type},
              {"tags", m.tags},
              {"properties", m.properties},
              {"resource_configuration", m.resource_configuration},
              {"run", m.run_name},
              {"datasets", m.datasets},
              {"created_at", FormatIsoTime(m.created_at)},
              {"created_at_ms", m.created_at}};
}

Json EnvironmentToJson(const store::EnvironmentRecord& e) {
  Json stand_in = nullptr;
  if (auto s = workspace::StandInFor(e.name)) {
    stand_in = {{"environment", s->environment}, {"reason", s->reason}};
  }
  return Json{{"name", e.name},
              {"stand_in", stand_in},
              {"version", e.version},
              {"id", e.name + ":" + std::to_string(e.version)},
              {"description", e.description},
              {"spec", e.spec},
              {"hash", e.hash},
              {"curated", workspace::EnvironmentService::IsReservedName(e.name)},
              {"created_at", FormatIsoTime(e.created_at)}};
}

Json ComputeToJson(const workspace::ComputeTarget& t) {
  return Json{
      {"name", t.record.name},
      {"type", t.record.type},
      {"vm_size", t.record.vm_size},
      {"min_nodes", t.record.min_nodes},
      {"max_nodes", t.record.max_nodes},
      {"idle_seconds_before_scaledown", t.record.idle_seconds_before_scaledown},
      {"capacity", t.capacity},
      {"node", {{"cpus", t.shape.cpus}, {"memory_gb", t.shape.memory_gb}, {"gpus", t.shape.gpus}}},
      {"properties", t.record.properties},
      {"provisioning_state", "Succeeded"},
      {"created_at", FormatIsoTime(t.record.created_at)}};
}

Json TokenToJson(const store::AccessTokenRecord& t) {
  return Json{{"id", t.id},
              {"name", t.name},
              {"role", t.role},
              {"created_by", t.created_by},
              {"created_at", FormatIsoTime(t.created_at)},
              {"expires_at", t.expires_at ? Json(FormatIsoTime(t.expires_at)) : Json(nullptr)},
              {"revoked_at", t.revoked_at ? Json(FormatIsoTime(t.revoked_at)) : Json(nullptr)}};
}

Json EndpointToJson(const store::EndpointRecord& e, const std::string& base_url) {
  return Json{{"name", e.name},
              {"description", e.description},
              {"auth_mode", e.auth_mode},
              {"scoring_uri", base_url + "/endpoints/" + UrlEncode(e.name) + "/score"},
              {"traffic", e.traffic},
              {"tags", e.tags},
              {"created_at", FormatIsoTime(e.created_at)},
              {"updated_at", FormatIsoTime(e.updated_at)}};
}

namespace {

Json ReplicasToJson(const std::vector<workspace::ReplicaStatus>& replicas) {
  Json out = Json::array();
  for (const auto& r : replicas) {
    out.push_back({{"index", r.index},
                   {"pid", r.pid},
                   {"port", r.port},
                   {"state", r.state},
                   {"restarts", r.restarts},
                   {"last_exit", r.last_exit}});
  }
  return out;
}

}  // namespace

Json DeploymentToJson(const store::DeploymentRecord& d,
                      const std::vector<workspace::ReplicaStatus>& replicas) {
  const Json& spec = d.spec;
  Json model = spec.value("model", Json::object());
  return Json{{"name", d.name},
              {"endpoint_name", d.endpoint},
              {"provisioning_state", d.state},
              {"error", d.error},
              {"generation", d.generation},
              {"model", model.value("name", "") + ":" + std::to_string(model.value("version", 0))},
              {"model_framework", model.value("framework", "")},
              {"backend", spec.value("backend", "")},
              {"scoring_script", spec.value("scoring_script", "")},
              {"environment", spec.contains("environment") && spec["environment"].is_object()
                                  ? Json(spec["environment"].value("name", "") + ":" +
                                         std::to_string(spec["environment"].value("version", 0)))
                                  : Json(nullptr)},
              {"instance_type", spec.value("instance_type", "")},
              {"instance_count", spec.value("instance_count", 1)},
              {"request_settings", spec.value("request_settings", Json::object())},
              {"replicas", ReplicasToJson(replicas)},
              {"created_at", FormatIsoTime(d.created_at)},
              {"updated_at", FormatIsoTime(d.updated_at)}};
}

Result<store::ArtifactRecord> ArtifactFromJson(const Json& j) {
  if (!j.is_object()) return Err(InvalidArgumentError("each artifact must be an object"));
  store::ArtifactRecord a;
  ASSIGN_OR_RETURN(a.path, GetString(j, "path"));
  ASSIGN_OR_RETURN(a.blob, GetString(j, "blob"));
  ASSIGN_OR_RETURN(a.size, GetInt(j, "size"));
  ASSIGN_OR_RETURN(int64_t mode, GetInt(j, "mode", 0644));
  if (mode < 0 || mode > 07777) {
    return Err(InvalidArgumentError("artifact '" + a.path + "' has a bad mode"));
  }
  // Permission bits only: a setuid, setgid or sticky bit is dropped on upload.
  a.mode = static_cast<uint32_t>(mode) & 0777u;
  // The one rule for paths, blobs and sizes in trees (artifacts/tree.h).
  Status valid = artifacts::ValidateTreeEntry(
      artifacts::TreeEntry{.path = a.path, .blob = a.blob, .size = a.size, .mode = a.mode});
  if (!valid.ok()) return Err(valid.WithPrefix("artifact"));
  return a;
}

Result<std::vector<store::MetricPoint>> MetricPointsFromJson(const Json& metrics) {
  std::vector<store::MetricPoint> points;
  points.reserve(metrics.size());
  for (const auto& m : metrics) {
    if (!m.is_object()) return Err(InvalidArgumentError("each metric must be an object"));
    store::MetricPoint point;
    auto key = m.find("key");
    if (key == m.end() || !key->is_string()) {
      return Err(InvalidArgumentError("each metric needs a string 'key'"));
    }
    point.key = key->get<std::string>();
    auto value = m.find("value");
    if (value == m.end())
      return Err(InvalidArgumentError("metric '" + point.key + "' has no 'value'"));
    if (value->is_number()) {
      point.value = value->get<double>();
    } else {
      point.value_json = value->dump();
    }
    auto step = m.find("step");
    if (step != m.end() && !step->is_null()) {
      if (!step->is_number_integer() || step->get<int64_t>() < 0) {
        return Err(InvalidArgumentError("metric '" + point.key +
                                        "' has a 'step' that is not a non-negative integer"));
      }
      point.step = step->get<int64_t>();
    }
    auto ts = m.find("timestamp");
    if (ts != m.end() && ts->is_number_integer()) point.timestamp = ts->get<int64_t>();
    auto rank = m.find("rank");
    if (rank != m.end() && !rank->is_null()) {
      if (!rank->is_number_integer() || rank->get<int64_t>() < 0 ||
          rank->get<int64_t>() > 1'000'000) {
        return Err(InvalidArgumentError("metric '" + point.key +
                                        "' has a 'rank' that is not a process rank"));
      }
      point.rank = static_cast<int32_t>(rank->get<int64_t>());
    }
    points.push_back(std::move(point));
  }
  return points;
}

}  // namespace gantry::api
