// /computes and /vm-sizes: compute targets (the built-in local one, clusters of local slots,
// Slurm partitions) and the VM sizes their nodes may have (docs/rest-api.md).
#pragma once

#include "api/routes.h"
#include "workspace/compute_service.h"

namespace gantry::api {

class ComputeResource {
 public:
  explicit ComputeResource(workspace::ComputeService& computes) : computes_(computes) {}
  void AddTo(Routes& routes);

 private:
  http::Response VmSizes(http::Request& req);
  http::Response Create(http::Request& req);
  http::Response List(http::Request& req);
  http::Response Get(http::Request& req);
  http::Response Delete(http::Request& req);

  workspace::ComputeService& computes_;
};

}  // namespace gantry::api
