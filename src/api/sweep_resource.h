// /sweeps: submit a sweep job (the CLI's `type: sweep` YAML, the SDK's HyperDriveConfig) and
// read it back in one call: the sweep's run, its spec, its best trial and the trials table
// (values, status, primary metric, why a policy stopped it), the shape a parallel-coordinates
// view or the studio's trials table needs (docs/rest-api.md). The parent and its trials are
// runs too: /runs/NAME, /runs?parent=NAME, /runs/NAME/cancel. The ask/tell routes let an
// outside optimiser start trials with its own values and stop them on its own word.
#pragma once

#include "api/routes.h"
#include "workspace/sweep_service.h"

namespace gantry::api {

class SweepResource {
 public:
  explicit SweepResource(workspace::SweepService& sweeps) : sweeps_(sweeps) {}
  void AddTo(Routes& routes);

 private:
  http::Response Submit(http::Request& req);
  http::Response Describe(http::Request& req);
  http::Response Ask(http::Request& req);
  http::Response Tell(http::Request& req);

  workspace::SweepService& sweeps_;
};

}  // namespace gantry::api
