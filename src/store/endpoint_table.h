// EndpointTable: online endpoints and their deployments. One table interface for both because
// a deployment belongs to its endpoint: it cannot be put without one, and deleting the
// endpoint deletes its deployments with it. Part of a MetadataStore
// (MetadataStore::endpoints()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

// An online endpoint: a stable scoring URI with keys, routing to its deployments by weight.
struct EndpointRecord {
  std::string name;
  std::string description;
  std::string auth_mode = "key";  // "key" (Authorization: Bearer KEY) or "none"
  std::string primary_key;
  std::string secondary_key;
  Json traffic = Json::object();  // deployment name -> percent (0..100, summing to 100 or 0)
  Json tags = Json::object();
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A deployment of an endpoint: a model (and optional scoring code and environment) served by
// `instance_count` model-server replicas.
struct DeploymentRecord {
  std::string endpoint;
  std::string name;
  // {"model": {"name", "version", "tree_id", "framework"}, "backend", "code_tree",
  //  "scoring_script", "environment": {"name", "version", "hash", "spec"} | null,
  //  "instance_type", "instance_count", "request_settings": {...}, "environment_variables"}
  Json spec = Json::object();
  std::string state = "Creating";  // Creating, Updating, Succeeded, Failed, Deleting
  std::string error;               // why it Failed
  int64_t generation = 1;          // bumped by every update of the spec
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

class EndpointTable {
 public:
  virtual ~EndpointTable() = default;

  // AlreadyExists when the name is taken.
  virtual Status CreateEndpoint(const EndpointRecord& endpoint) = 0;
  // NotFound naming it.
  virtual Result<EndpointRecord> GetEndpoint(const std::string& name) = 0;
  // By name.
  virtual Result<std::vector<EndpointRecord>> ListEndpoints() = 0;
  // Replaces every field but name and created_at. NotFound when it does not exist.
  virtual Status UpdateEndpoint(const EndpointRecord& endpoint) = 0;
  // Deletes the endpoint and its deployments. NotFound when it does not exist.
  virtual Status DeleteEndpoint(const std::string& name) = 0;

  // Inserts or replaces (endpoint, name); FailedPrecondition when the endpoint does not
  // exist.
  virtual Status PutDeployment(const DeploymentRecord& deployment) = 0;
  // NotFound naming the endpoint and deployment.
  virtual Result<DeploymentRecord> GetDeployment(const std::string& endpoint,
                                                 const std::string& name) = 0;
  // Of one endpoint, or of all when `endpoint` is empty; by endpoint then name.
  virtual Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& endpoint) = 0;
  // Sets state and error of the deployment only while it is at `generation` (a newer update
  // wins). FailedPrecondition when it is not (or is gone).
  virtual Status SetDeploymentState(const std::string& endpoint, const std::string& name,
                                    int64_t generation, const std::string& state,
                                    const std::string& error, int64_t updated_at) = 0;
  // NotFound when it does not exist.
  virtual Status DeleteDeployment(const std::string& endpoint, const std::string& name) = 0;
};

}  // namespace gantry::store
