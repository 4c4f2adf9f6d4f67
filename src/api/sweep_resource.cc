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

Response SweepResource::Describe(Request& req) {
  auto view = sweeps_.Describe(req.Param("name"));
  if (!view.has_value()) return Error(view.error());
  return Response::FromJson(200, SweepToJson(*view));
}

}  // namespace gantry::api
