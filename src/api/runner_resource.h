// The runner's side of /runs/NAME (docs/rest-api.md, "Runner endpoints"): a runner, with its
// run's token, reports the run's status, heartbeats, meets the other nodes of a multi-node run,
// appends to its logs and posts metrics, tags and artifacts. The messages' shapes are
// jobs/run_messages.h's.
#pragma once

#include "api/routes.h"
#include "workspace/run_service.h"

namespace gantry::api {

class RunnerResource {
 public:
  explicit RunnerResource(workspace::RunService& runs) : runs_(runs) {}
  void AddTo(Routes& routes);

 private:
  http::Response ReportStatus(http::Request& req);
  http::Response Heartbeat(http::Request& req);
  http::Response ReportNode(http::Request& req);
  http::Response Nodes(http::Request& req);
  http::Response AppendLog(http::Request& req);
  http::Response AppendMetrics(http::Request& req);
  http::Response SetTags(http::Request& req);
  http::Response AddArtifacts(http::Request& req);

  workspace::RunService& runs_;
};

}  // namespace gantry::api
