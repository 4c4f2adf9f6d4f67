// /endpoints: online endpoints (create, read, traffic and tags, delete, keys), their
// deployments (put, read, logs, delete), and the scoring routes /endpoints/NAME/PATH that
// forward a request to a deployment's model server (docs/rest-api.md, docs/deploy.md).
#pragma once

#include "api/routes.h"
#include "workspace/endpoint_service.h"

namespace gantry::api {

class EndpointResource {
 public:
  explicit EndpointResource(workspace::EndpointService& endpoints) : endpoints_(endpoints) {}
  void AddTo(Routes& routes);

 private:
  http::Response Create(http::Request& req);
  http::Response List(http::Request& req);
  http::Response Get(http::Request& req);
  http::Response Update(http::Request& req);
  http::Response Delete(http::Request& req);
  http::Response Keys(http::Request& req);
  http::Response RegenerateKey(http::Request& req);
  http::Response PutDeployment(http::Request& req);
  http::Response ListDeployments(http::Request& req);
  http::Response GetDeployment(http::Request& req);
  http::Response DeploymentLogs(http::Request& req);
  http::Response DeleteDeployment(http::Request& req);
  http::Response Score(http::Request& req);

  workspace::EndpointService& endpoints_;
};

}  // namespace gantry::api
