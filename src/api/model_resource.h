// /models: register a model version (from uploaded files or a run's outputs), read versions,
// change tags and add properties (docs/rest-api.md).
#pragma once

#include "api/routes.h"
#include "workspace/model_service.h"

namespace gantry::api {

class ModelResource {
 public:
  explicit ModelResource(workspace::ModelService& models) : models_(models) {}
  void AddTo(Routes& routes);

 private:
  http::Response Register(http::Request& req);
  http::Response UpdateTags(http::Request& req);
  http::Response AddProperties(http::Request& req);

  workspace::ModelService& models_;
  Routes* routes_ = nullptr;  // for Caller
};

}  // namespace gantry::api
