#include "deploy/replica_router.h"

#include "deploy/traffic.h"

namespace gantry::deploy {

void ReplicaRouter::Publish(const std::string& endpoint, const std::string& deployment,
                            DeploymentRoutes routes) {
  std::lock_guard<std::mutex> lock(mu_);
  table_[{endpoint, deployment}].routes = std::move(routes);
}

void ReplicaRouter::Withdraw(const std::string& endpoint, const std::string& deployment) {
  std::lock_guard<std::mutex> lock(mu_);
  table_.erase({endpoint, deployment});
}

Result<workspace::ForwardedResponse> ReplicaRouter::Forward(
    const std::string& endpoint, const std::string& deployment, const std::string& method,
    const std::string& path, const std::string& body, const std::string& content_type,
    const std::map<std::string, std::string>& headers) {
  std::shared_ptr<ReplicaLink> target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find({endpoint, deployment});
    if (it == table_.end()) {
      return Err(UnavailableError("deployment '" + deployment + "' of endpoint '" + endpoint +
                                  "' has no model server running"));
    }
    Entry& e = it->second;
    std::optional<size_t> pick =
        PickReplica(e.routes.ready.size(), e.routes.previous.size(), e.next);
    if (!pick) {
      return Err(UnavailableError("deployment '" + deployment + "' of endpoint '" + endpoint +
                                  "' has no ready model server" +
                                  (e.routes.states.empty() ? "" : ": " + e.routes.states)));
    }
    ++e.next;
    target = *pick < e.routes.ready.size() ? e.routes.ready[*pick]
                                           : e.routes.previous[*pick - e.routes.ready.size()];
  }
  return target->Forward(deployment, method, path, body, content_type, headers);
}

}  // namespace gantry::deploy
