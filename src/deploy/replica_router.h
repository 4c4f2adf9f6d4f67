// ReplicaRouter: the forwarding half of running deployments. The controller (the replica
// supervisor) publishes, after every change, which replicas of each deployment are ready and
// how the others stand; Forward sends a request to one of them (deploy::PickReplica) over its
// ReplicaLink, taking only the router's own lock, so a request never waits for the
// supervisor's work. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "deploy/replica_link.h"
#include "workspace/deployment_runtime.h"

namespace gantry::deploy {

// What the router knows of one deployment.
struct DeploymentRoutes {
  std::vector<std::shared_ptr<ReplicaLink>> ready;     // the current generation's ready ones
  std::vector<std::shared_ptr<ReplicaLink>> previous;  // the replaced generation's, while it serves
  // How the current generation's replicas stand, for the error when none is ready:
  // "replica 0 Starting, replica 1 Restarting (last exited with code 1)".
  std::string states;
};

class ReplicaRouter {
 public:
  void Publish(const std::string& endpoint, const std::string& deployment, DeploymentRoutes routes);
  // The deployment runs nowhere any more.
  void Withdraw(const std::string& endpoint, const std::string& deployment);

  // Unavailable naming the deployment when it runs nowhere or has no ready replica (with the
  // replicas' states), or when the replica does not answer.
  Result<workspace::ForwardedResponse> Forward(const std::string& endpoint,
                                               const std::string& deployment,
                                               const std::string& method, const std::string& path,
                                               const std::string& body,
                                               const std::string& content_type,
                                               const std::map<std::string, std::string>& headers);

 private:
  struct Entry {
    DeploymentRoutes routes;
    uint64_t next = 0;  // round-robin cursor
  };
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> table_;  // guarded by mu_
};

}  // namespace gantry::deploy
