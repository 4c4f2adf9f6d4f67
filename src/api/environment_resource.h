// /environments: register an environment version (conda, pip, docker, variables) and read the
// registered and curated ones (docs/rest-api.md).
#pragma once

#include "api/routes.h"
#include "workspace/environment_service.h"

namespace gantry::api {

class EnvironmentResource {
 public:
  explicit EnvironmentResource(workspace::EnvironmentService& environments)
      : environments_(environments) {}
  void AddTo(Routes& routes);

 private:
  http::Response Register(http::Request& req);

  workspace::EnvironmentService& environments_;
};

}  // namespace gantry::api
