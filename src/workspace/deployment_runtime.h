// DeploymentRuntime: what EndpointService needs of whatever runs the deployments' model
// servers on this machine (deploy::EndpointController), so that the endpoint rules (names,
// keys, traffic, the deployment records) know nothing of processes or HTTP. Implementations
// are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::workspace {

// One replica of a deployment, as it is now.
struct ReplicaStatus {
  int index = 0;
  int pid = 0;        // 0 when no process runs
  int port = 0;       // 0 until it is ready
  std::string state;  // Starting, Ready, Restarting, Stopped
  int64_t restarts = 0;
  std::string last_exit;  // how its last process ended ("exited with code 1"), or ""
};

// The answer of a replica to a forwarded request.
struct ForwardedResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  // The protocol headers passed back (kForwardedHeaders), by lowercase name.
  std::map<std::string, std::string> headers;
};

// Headers of the inference protocols that a forwarded request and its answer keep: the
// length of the JSON part of an Open Inference request or answer with binary tensor data.
inline constexpr const char* kForwardedHeaders[] = {"inference-header-content-length"};

class DeploymentRuntime {
 public:
  virtual ~DeploymentRuntime() = default;
  // Picks up a created or updated deployment record from the store: (re)provisions it when
  // its generation changed. Returns at once; progress shows in the record's state.
  virtual void Apply(const std::string& endpoint, const std::string& deployment) = 0;
  // Stops the deployment's model servers and removes its folder; returns when they are gone.
  virtual void Remove(const std::string& endpoint, const std::string& deployment) = 0;
  // The deployment's replicas now (none when it runs nowhere).
  virtual std::vector<ReplicaStatus> Replicas(const std::string& endpoint,
                                              const std::string& deployment) = 0;
  // The last `lines` lines of the deployment's log (model servers and controller events).
  virtual Result<std::string> Logs(const std::string& endpoint, const std::string& deployment,
                                   int64_t lines) = 0;
  // Sends a request to a ready replica of the deployment. Unavailable when none is ready
  // (naming why) or the replica's connection fails. `headers` (lowercase names) are sent on as
  // they are; only kForwardedHeaders of the answer come back.
  virtual Result<ForwardedResponse> Forward(const std::string& endpoint,
                                            const std::string& deployment,
                                            const std::string& method, const std::string& path,
                                            const std::string& body,
                                            const std::string& content_type,
                                            const std::map<std::string, std::string>& headers) = 0;
};

}  // namespace gantry::workspace
