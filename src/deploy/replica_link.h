// ReplicaLink: the way to one start of a model-server replica: its port on loopback and the
// keep-alive connections opened to it, reused across forwarded requests. A restart of the
// replica makes a new link, so connections never outlive the process they were opened to.
// Thread-safe: requests are forwarded concurrently, each on a connection of its own.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/http_client.h"
#include "workspace/deployment_runtime.h"

namespace gantry::deploy {

class ReplicaLink {
 public:
  explicit ReplicaLink(int port) : port_(port) {}
  int port() const { return port_; }

  // Sends the request and returns the replica's answer with its kForwardedHeaders.
  // Unavailable, naming `deployment`, when the replica does not answer.
  Result<workspace::ForwardedResponse> Forward(const std::string& deployment,
                                               const std::string& method, const std::string& path,
                                               const std::string& body,
                                               const std::string& content_type,
                                               const std::map<std::string, std::string>& headers);

 private:
  // Connections kept for reuse: enough for the concurrency an endpoint sees.
  static constexpr size_t kMaxIdle = 64;
  const int port_;
  std::mutex mu_;
  std::vector<std::unique_ptr<http::HttpClient>> idle_;  // guarded by mu_
};

}  // namespace gantry::deploy
