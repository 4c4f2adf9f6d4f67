// /datasets: register a dataset version (uploaded files or URLs the server downloads) and read
// versions (docs/rest-api.md).
#pragma once

#include "api/routes.h"
#include "workspace/dataset_service.h"

namespace gantry::api {

class DatasetResource {
 public:
  explicit DatasetResource(workspace::DatasetService& datasets) : datasets_(datasets) {}
  void AddTo(Routes& routes);

 private:
  http::Response Register(http::Request& req);

  workspace::DatasetService& datasets_;
};

}  // namespace gantry::api
