#include "api/runner_resource.h"

#include "api/views.h"
#include "jobs/run_messages.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::RouteAccess;
using workspace::RunAccess;

void RunnerResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/runs/{name}";
  const RouteAccess report = RouteAccess::RunReport();
  routes.Add("POST", p + "/status", report, [this](Request& r) { return ReportStatus(r); });
  routes.Add("POST", p + "/heartbeat", report, [this](Request& r) { return Heartbeat(r); });
  routes.Add("POST", p + "/nodes/{rank}", report, [this](Request& r) { return ReportNode(r); });
  routes.Add("GET", p + "/nodes", RouteAccess::Read(RunAccess::kOwnRun),
             [this](Request& r) { return Nodes(r); });
  routes.Add("POST", p + "/logs/{stream...}", report, [this](Request& r) { return AppendLog(r); });
  routes.Add("POST", p + "/metrics", report, [this](Request& r) { return AppendMetrics(r); });
  routes.Add("POST", p + "/tags", report, [this](Request& r) { return SetTags(r); });
  routes.Add("POST", p + "/artifacts", report, [this](Request& r) { return AddArtifacts(r); });
}

Response RunnerResource::ReportStatus(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto report = jobs::StatusReportFromJson(body->json());
  if (!report.has_value()) return Error(report.error());
  auto run = runs_.ReportStatus(req.Param("name"), req.BearerToken(), *report);
  if (!run.has_value()) return Error(run.error());
  return Response::FromJson(200, RunToJson(*run));
}

Response RunnerResource::Heartbeat(Request& req) {
  auto reply = runs_.Heartbeat(req.Param("name"), req.BearerToken());
  if (!reply.has_value()) return Error(reply.error());
  return Response::FromJson(200, jobs::RunControlReplyToJson(*reply));
}

Response RunnerResource::ReportNode(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto rank = NodeRankParam(req);
  if (!rank.has_value()) return Error(rank.error());
  auto report = jobs::NodeReportFromJson(body->json(), *rank);
  if (!report.has_value()) return Error(report.error());
  auto view = runs_.ReportNode(req.Param("name"), req.BearerToken(), std::move(*report));
  if (!view.has_value()) return Error(view.error());
  return Response::FromJson(200, jobs::NodesViewToJson(*view));
}

Response RunnerResource::Nodes(Request& req) {
  auto view = runs_.Nodes(req.Param("name"));
  if (!view.has_value()) return Error(view.error());
  return Response::FromJson(200, jobs::NodesViewToJson(*view));
}

Response RunnerResource::AppendLog(Request& req) {
  auto offset = QueryInt(req, "offset", 0);
  if (!offset.has_value()) return Error(offset.error());
  auto length =
      runs_.AppendLog(req.Param("name"), req.BearerToken(), req.Param("stream"), *offset, req.body);
  if (!length.has_value()) return Error(length.error());
  return Response::FromJson(200, {{"length", *length}});
}

Response RunnerResource::AppendMetrics(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  if (!body->is_object() || !body->json().contains("metrics") ||
      !body->json()["metrics"].is_array()) {
    return Error(InvalidArgumentError("field 'metrics' must be a list"));
  }
  auto points = MetricPointsFromJson(body->json()["metrics"]);
  if (!points.has_value()) return Error(points.error());
  const size_t n = points->size();
  auto through = QueryInt(req, "through", 0);
  if (!through.has_value()) return Error(through.error());
  Status st = runs_.AppendMetrics(req.Param("name"), req.BearerToken(), std::move(*points),
                                  *through, req.Query("sender"));
  if (!st.ok()) return Error(st);
  // A sweep's policy may have stopped the run on these very points: the runner hears of it
  // in this answer rather than at its next heartbeat.
  auto run = runs_.Get(req.Param("name"));
  const bool cancel = run.has_value() && run->status == "CancelRequested";
  return Response::FromJson(200, {{"accepted", n}, {"cancel_requested", cancel}});
}

Response RunnerResource::SetTags(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  if (!body->is_object() || !body->json().contains("tags") || !body->json()["tags"].is_object()) {
    return Error(InvalidArgumentError("field 'tags' must be an object"));
  }
  auto tags = body->StringMap("tags");
  if (!tags.has_value()) return Error(tags.error());
  auto run = runs_.SetTags(req.Param("name"), req.BearerToken(), *tags);
  if (!run.has_value()) return Error(run.error());
  return Response::FromJson(200, RunToJson(*run));
}

Response RunnerResource::AddArtifacts(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  if (!body->is_object() || !body->json().contains("artifacts") ||
      !body->json()["artifacts"].is_array()) {
    return Error(InvalidArgumentError("field 'artifacts' must be a list"));
  }
  std::vector<store::ArtifactRecord> artifacts;
  for (const auto& a : body->json()["artifacts"]) {
    auto rec = ArtifactFromJson(a);
    if (!rec.has_value()) return Error(rec.error());
    artifacts.push_back(std::move(*rec));
  }
  Status st = runs_.AddArtifacts(req.Param("name"), req.BearerToken(), artifacts);
  if (!st.ok()) return Error(st);
  return Response::FromJson(200, {{"count", artifacts.size()}});
}

}  // namespace gantry::api
