// /runs as people and their tools see them: submit, list, describe, cancel, follow (events),
// and read a run's logs, metrics and artifacts; add files to it (docs/rest-api.md). What the
// runner reports about its run is RunnerResource's.
#pragma once

#include "api/routes.h"
#include "workspace/run_service.h"

namespace gantry::api {

class RunResource {
 public:
  explicit RunResource(workspace::RunService& runs) : runs_(runs) {}
  void AddTo(Routes& routes);

 private:
  http::Response Submit(http::Request& req);
  http::Response List(http::Request& req);
  http::Response Describe(http::Request& req);
  http::Response Cancel(http::Request& req);
  http::Response Events(http::Request& req);
  http::Response ReadLog(http::Request& req);
  http::Response Metrics(http::Request& req);
  http::Response Artifacts(http::Request& req);
  http::Response ArtifactContent(http::Request& req);
  http::Response AddFiles(http::Request& req);

  workspace::RunService& runs_;
};

}  // namespace gantry::api
