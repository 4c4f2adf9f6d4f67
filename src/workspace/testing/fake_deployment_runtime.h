// A DeploymentRuntime for tests of the endpoint rules: it runs nothing, records what it was
// asked to apply, remove and forward, and answers forwarded requests with a canned answer
// naming the deployment. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "workspace/deployment_runtime.h"

namespace gantry::workspace::testing {

class FakeDeploymentRuntime : public DeploymentRuntime {
 public:
  struct Forwarded {
    std::string endpoint, deployment, method, path, body;
  };

  void Apply(const std::string& endpoint, const std::string& deployment) override {
    std::lock_guard<std::mutex> lock(mu_);
    applied_.push_back(endpoint + "/" + deployment);
  }
  void Remove(const std::string& endpoint, const std::string& deployment) override {
    std::lock_guard<std::mutex> lock(mu_);
    removed_.push_back(endpoint + "/" + deployment);
  }
  std::vector<ReplicaStatus> Replicas(const std::string&, const std::string&) override {
    return {ReplicaStatus{.index = 0, .pid = 4242, .port = 5001, .state = "Ready"}};
  }
  Result<std::string> Logs(const std::string& endpoint, const std::string& deployment,
                           int64_t lines) override {
    return endpoint + "/" + deployment + ": last " + std::to_string(lines) + " lines\n";
  }
  Result<ForwardedResponse> Forward(const std::string& endpoint, const std::string& deployment,
                                    const std::string& method, const std::string& path,
                                    const std::string& body, const std::string&,
                                    const std::map<std::string, std::string>&) override {
    std::lock_guard<std::mutex> lock(mu_);
    forwarded_.push_back({endpoint, deployment, method, path, body});
    return ForwardedResponse{.status = 200,
                             .body = "{\"from\": \"" + deployment + "\"}",
                             .content_type = "application/json"};
  }

  std::vector<std::string> applied() const {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }
  std::vector<std::string> removed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return removed_;
  }
  std::vector<Forwarded> forwarded() const {
    std::lock_guard<std::mutex> lock(mu_);
    return forwarded_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> applied_, removed_;
  std::vector<Forwarded> forwarded_;
};

}  // namespace gantry::workspace::testing
