#include "api/sweep_resource.h"

#include "api/views.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Role;
using workspace::RouteAccess;

void SweepResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/sweeps";
  routes.Add("POST", p, RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Submit(r); });
  routes.Add("POST", p + "/{name}/ask", RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Ask(r); });
  routes.Add("POST", p + "/{name}/tell", RouteAccess::Write(Role::kContributor),
             [this](Request& r) { return Tell(r); });
  // A person's view: a run's own token does not read sweeps.
  routes.Add("GET", p + "/{name}", RouteAccess::Read(), [this](Request& r) { return Describe(r); });
}

// The body: {"spec": <sweep job>, "snapshot_id", "input_trees"}.
Response SweepResource::Submit(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  if (!body->is_object() || !body->json().contains("spec")) {
    return Error(InvalidArgumentError("field 'spec' is required"));
  }
  workspace::SweepSubmitRequest submit;
  auto job = sweep::SweepJob::FromJson(body->json()["spec"]);
  if (!job.has_value()) return Error(job.error());
  submit.job = std::move(*job);
  auto snapshot = body->String("snapshot_id");
  if (!snapshot.has_value()) return Error(snapshot.error());
  submit.snapshot_id = *snapshot;
  if (body->json().contains("input_trees")) {
    const Json& trees = body->json()["input_trees"];
    if (!trees.is_object()) return Error(InvalidArgumentError("'input_trees' must be an object"));
    for (const auto& [k, v] : trees.items()) {
      if (!v.is_string())
        return Error(InvalidArgumentError("input_trees." + k + " must be a string"));
      submit.input_trees[k] = v.get<std::string>();
    }
  }
  auto run = sweeps_.Submit(std::move(submit));
  if (!run.has_value()) return Error(run.error());
  return Response::FromJson(201, RunToJson(*run));
}

// {"values": {param: value}} (optional): the new trial's values.
Response SweepResource::Ask(Request& req) {
  std::optional<std::map<std::string, Json>> values;
  if (!req.body.empty()) {
    auto body = BodyFields::Parse(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object()) return Error(InvalidArgumentError("the body must be a JSON object"));
    if (body->json().contains("values")) {
      const Json& v = body->json()["values"];
      if (!v.is_object()) return Error(InvalidArgumentError("field 'values' must be an object"));
      values.emplace();
      for (const auto& [k, value] : v.items()) (*values)[k] = value;
    }
  }
  auto trial = sweeps_.Ask(req.Param("name"), values);
  if (!trial.has_value()) return Error(trial.error());
  return Response::FromJson(201, {{"trial", trial->run.name},
                                  {"number", trial->number},
                                  {"values", trial->values},
                                  {"status", trial->run.status}});
}

// {"trial": NAME, "reason": "..."}: the optimiser stops that trial.
Response SweepResource::Tell(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto trial = body->String("trial");
  if (!trial.has_value()) return Error(trial.error());
  if (trial->empty()) return Error(InvalidArgumentError("field 'trial' is required"));
  auto reason = body->String("reason");
  if (!reason.has_value()) return Error(reason.error());
  auto run = sweeps_.Tell(req.Param("name"), *trial, *reason);
  if (!run.has_value()) return Error(run.error());
  return Response::FromJson(200, RunToJson(*run));
}

Response SweepResource::Describe(Request& req) {
  auto view = sweeps_.Describe(req.Param("name"));
  if (!view.has_value()) return Error(view.error());
  return Response::FromJson(200, SweepToJson(*view));
}

}  // namespace gantry::api
