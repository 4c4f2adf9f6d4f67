#include "api/run_resource.h"

#include <algorithm>

#include "api/views.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Role;
using workspace::RouteAccess;
using workspace::RunAccess;

namespace {

// The body of POST /runs: {"spec", "snapshot_id", "input_trees"}.
Result<workspace::SubmitRequest> SubmitFromBody(const BodyFields& body) {
  if (!body.is_object() || !body.json().contains("spec")) {
    return Err(InvalidArgumentError("field 'spec' is required"));
  }
  workspace::SubmitRequest submit;
  ASSIGN_OR_RETURN(submit.spec, jobs::JobSpec::FromJson(body.json()["spec"]));
  ASSIGN_OR_RETURN(submit.snapshot_id, body.String("snapshot_id"));
  if (body.json().contains("input_trees")) {
    const Json& trees = body.json()["input_trees"];
    if (!trees.is_object()) return Err(InvalidArgumentError("'input_trees' must be an object"));
    for (const auto& [k, v] : trees.items()) {
      if (!v.is_string())
        return Err(InvalidArgumentError("input_trees." + k + " must be a string"));
      submit.input_trees[k] = v.get<std::string>();
    }
  }
  return submit;
}

}  // namespace

void RunResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/runs";
  const RouteAccess own_run = RouteAccess::Read(RunAccess::kOwnRun);
  routes.Add("POST", p, RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Submit(r); });
  routes.Add("GET", p, RouteAccess::Read(), [this](Request& r) { return List(r); });
  routes.Add("GET", p + "/{name}", own_run, [this](Request& r) { return Describe(r); });
  routes.Add("POST", p + "/{name}/cancel", RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Cancel(r); });
  routes.Add("GET", p + "/{name}/events", own_run, [this](Request& r) { return Events(r); });
  routes.Add("GET", p + "/{name}/logs/{stream...}", own_run,
             [this](Request& r) { return ReadLog(r); });
  routes.Add("GET", p + "/{name}/metrics", own_run, [this](Request& r) { return Metrics(r); });
  routes.Add("GET", p + "/{name}/artifacts", own_run, [this](Request& r) { return Artifacts(r); });
  routes.Add("GET", p + "/{name}/artifacts/content/{path...}", own_run,
             [this](Request& r) { return ArtifactContent(r); });
  // Files added to a run from outside its runner (run.log_image and run.upload_file in a
  // notebook), or by the run's own scripts: never replacing one (RunService::AddFiles).
  routes.Add("POST", p + "/{name}/files",
             RouteAccess::Write(Role::kContributor, RunAccess::kOwnRun),
             [this](Request& r) { return AddFiles(r); });
}

Response RunResource::Submit(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto submit = SubmitFromBody(*body);
  if (!submit.has_value()) return Error(submit.error());
  auto run = runs_.Submit(*submit);
  if (!run.has_value()) return Error(run.error());
  return Response::FromJson(201, RunToJson(*run));
}

Response RunResource::List(Request& req) {
  store::RunFilter filter;
  filter.experiment_name = req.Query("experiment");
  if (!req.Query("status").empty()) filter.statuses = {req.Query("status")};
  // A sweep's trials are listed under it (?parent=NAME); the plain list shows top-level runs,
  // as `az ml job list` does, unless ?include_children=true.
  if (!req.Query("parent").empty()) {
    filter.parent = req.Query("parent");
  } else if (req.Query("include_children") != "true") {
    filter.parent = "";
  }
  auto limit = QueryInt(req, "limit", 100);
  if (!limit.has_value()) return Error(limit.error());
  filter.limit = static_cast<int>(*limit);
  auto runs = runs_.List(filter);
  if (!runs.has_value()) return Error(runs.error());
  Json out = Json::array();
  for (const auto& run : *runs) out.push_back(RunToJson(run));
  return Response::FromJson(200, {{"runs", out}});
}

Response RunResource::Describe(Request& req) {
  auto d = runs_.Describe(req.Param("name"));
  if (!d.has_value()) return Error(d.error());
  Json j = RunToJson(d->run);
  Json history = Json::array();
  for (const auto& e : d->history) history.push_back(EventToJson(e));
  j["status_history"] = history;
  Json metrics = Json::object();
  for (const auto& m : d->latest_metrics) metrics[m.key] = MetricValue(m);
  j["metrics"] = metrics;
  Json logs = Json::array();
  for (const auto& [stream, size] : d->logs) logs.push_back({{"stream", stream}, {"size", size}});
  j["logs"] = logs;
  return Response::FromJson(200, j);
}

Response RunResource::Cancel(Request& req) {
  auto run = runs_.Cancel(req.Param("name"));
  if (!run.has_value()) return Error(run.error());
  return Response::FromJson(200, RunToJson(*run));
}

Response RunResource::Events(Request& req) {
  auto since = QueryInt(req, "since", 0);
  auto offset = QueryInt(req, "offset", 0);
  auto wait = QueryInt(req, "wait_ms", 0);
  for (const auto* q : {&since, &offset, &wait}) {
    if (!q->has_value()) return Error(q->error());
  }
  auto ev = runs_.WaitForEvents(req.Param("name"), static_cast<size_t>(*since), *offset,
                                std::min<int64_t>(*wait, 30000));
  if (!ev.has_value()) return Error(ev.error());
  Json events = Json::array();
  for (const auto& e : ev->events) events.push_back(EventToJson(e));
  return Response::FromJson(200, {{"status", ev->status},
                                  {"events", events},
                                  {"next", ev->next},
                                  {"log", ev->log},
                                  {"offset", ev->offset},
                                  {"terminal", ev->terminal}});
}

Response RunResource::ReadLog(Request& req) {
  auto offset = QueryInt(req, "offset", 0);
  auto limit = QueryInt(req, "limit", 64 << 20);
  if (!offset.has_value()) return Error(offset.error());
  if (!limit.has_value()) return Error(limit.error());
  if (auto run = runs_.Get(req.Param("name")); !run.has_value()) return Error(run.error());
  auto text = runs_.ReadLog(req.Param("name"), req.Param("stream"), *offset, *limit);
  if (!text.has_value()) return Error(text.error());
  return Response::Text(200, std::move(*text));
}

Response RunResource::Metrics(Request& req) {
  if (auto run = runs_.Get(req.Param("name")); !run.has_value()) return Error(run.error());
  auto points = runs_.Metrics(req.Param("name"), req.Query("key"));
  if (!points.has_value()) return Error(points.error());
  auto rank = QueryInt(req, "rank", -1);
  if (!rank.has_value()) return Error(rank.error());
  Json out = Json::object();
  for (const auto& m : *points) {
    if (*rank >= 0 && m.rank != *rank) continue;
    Json point = {{"step", m.step}, {"value", MetricValue(m)}, {"timestamp", m.timestamp}};
    if (m.rank >= 0) point["rank"] = m.rank;
    out[m.key].push_back(std::move(point));
  }
  return Response::FromJson(200, {{"metrics", out}});
}

Response RunResource::Artifacts(Request& req) {
  if (auto run = runs_.Get(req.Param("name")); !run.has_value()) return Error(run.error());
  auto list = runs_.Artifacts(req.Param("name"), req.Query("prefix"));
  if (!list.has_value()) return Error(list.error());
  Json out = Json::array();
  for (const auto& a : *list) out.push_back(ArtifactToJson(a));
  return Response::FromJson(200, {{"artifacts", out}});
}

Response RunResource::ArtifactContent(Request& req) {
  auto data = runs_.ReadArtifact(req.Param("name"), req.Param("path"));
  if (!data.has_value()) return Error(data.error());
  return Response::Text(200, std::move(*data), "application/octet-stream");
}

Response RunResource::AddFiles(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  if (!body->is_object() || !body->json().contains("files") || !body->json()["files"].is_array()) {
    return Error(InvalidArgumentError("field 'files' must be a list"));
  }
  std::vector<store::ArtifactRecord> files;
  for (const auto& f : body->json()["files"]) {
    auto rec = ArtifactFromJson(f);
    if (!rec.has_value()) return Error(rec.error());
    files.push_back(std::move(*rec));
  }
  Status st = runs_.AddFiles(req.Param("name"), files);
  if (!st.ok()) return Error(st);
  return Response::FromJson(201, {{"count", files.size()}});
}

}  // namespace gantry::api
