// EndpointService: online endpoints and their deployments (Azure ML's managed online
// endpoints). An endpoint is a stable scoring URI with two keys and a traffic split; a
// deployment binds a registered model, and optionally scoring code and an environment, to
// model-server replicas that a DeploymentRuntime (deploy::EndpointController) runs. Every rule
// lives here: names, model and environment references, which backend serves a model, traffic that
// names real deployments and sums to 100 (or 0), key checks and the weighted choice of a deployment
// for each scoring request. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "artifacts/blob_store.h"
#include "common/clock.h"
#include "store/metadata_store.h"
#include "workspace/deployment_runtime.h"
#include "workspace/environment_service.h"
#include "workspace/model_service.h"

namespace gantry::workspace {

struct EndpointRequest {
  std::string name;
  std::string description;
  std::string auth_mode = "key";  // "key" or "none"
  Json tags = Json::object();
};

struct EndpointUpdate {
  std::optional<Json> traffic;  // {"blue": 90, "green": 10}
  std::optional<std::string> description;
  std::optional<Json> tags;
};

struct DeploymentRequest {
  std::string endpoint;
  std::string name;
  // "NAME:VERSION", "NAME@latest" or "NAME" (latest), optionally prefixed "azureml:".
  std::string model;
  // Scoring code: an uploaded tree and the entry script in it. Empty → no-code deployment,
  // served by the backend that fits the model's framework.
  std::string code_tree;
  std::string scoring_script;
  // Environment reference for code deployments (default "Gantry-Python3") and for no-code
  // TensorFlow ones, whose environment provides TensorFlow (see PutDeployment).
  std::string environment;
  std::string instance_type;
  int64_t instance_count = 1;
  // {"request_timeout_ms", "max_concurrent_requests_per_instance"}
  Json request_settings = Json::object();
  Json environment_variables = Json::object();
  int64_t max_batch_size = 0;  // no-code TorchScript and TensorFlow: dynamic batching when > 0
  bool all_traffic = false;    // route 100% of the endpoint's traffic here once created
};

// The answer to a scoring request and which deployment gave it.
struct ScoreResult {
  std::string deployment;
  ForwardedResponse response;
};

class EndpointService {
 public:
  // `runtime` runs the deployments (deploy::EndpointController; a fake in tests of the rules).
  // `path_env` is where tools such as tensorflow_model_server are looked up.
  EndpointService(store::MetadataStore* store, artifacts::BlobStore* blobs, ModelService* models,
                  EnvironmentService* environments, DeploymentRuntime& runtime, Clock* clock,
                  std::string path_env);

  // InvalidArgument naming a bad field; AlreadyExists.
  Result<store::EndpointRecord> CreateEndpoint(const EndpointRequest& request);
  Result<store::EndpointRecord> GetEndpoint(const std::string& name);
  Result<std::vector<store::EndpointRecord>> ListEndpoints();
  // InvalidArgument for traffic naming an unknown deployment, a weight outside 0..100 or a
  // sum other than 100 (or 0).
  Result<store::EndpointRecord> UpdateEndpoint(const std::string& name,
                                               const EndpointUpdate& update);
  // `which` is "primary" or "secondary".
  Result<store::EndpointRecord> RegenerateKey(const std::string& name, const std::string& which);
  // Stops and deletes every deployment, then the endpoint.
  Status DeleteEndpoint(const std::string& name);

  // Creates or updates (new generation) a deployment. NotFound for an unknown endpoint, model
  // or environment; InvalidArgument for bad fields or a model no backend can serve without
  // code (a PyTorch model without model.pt, a TensorFlow one without saved_model.pb). A
  // TensorFlow model is served by the tensorflow backend with the C API of the environment's
  // tensorflow wheel (default: the curated TensorFlow environment); an environment without
  // TensorFlow fails the deployment when it starts.
  Result<store::DeploymentRecord> PutDeployment(const DeploymentRequest& request);
  Result<store::DeploymentRecord> GetDeployment(const std::string& endpoint,
                                                const std::string& name);
  Result<std::vector<store::DeploymentRecord>> ListDeployments(const std::string& endpoint);
  // FailedPrecondition while the deployment still has traffic.
  Status DeleteDeployment(const std::string& endpoint, const std::string& name);
  Result<std::string> DeploymentLogs(const std::string& endpoint, const std::string& name,
                                     int64_t lines);
  // Live replica states (empty without a runtime).
  std::vector<ReplicaStatus> Replicas(const std::string& endpoint, const std::string& name);

  // Checks the key (Unauthenticated without a valid one), picks the deployment (the
  // `deployment` header's when given, else by traffic weight) and forwards the request.
  Result<ScoreResult> Score(const std::string& endpoint, const std::string& bearer_key,
                            const std::string& deployment, const std::string& method,
                            const std::string& path, const std::string& body,
                            const std::string& content_type,
                            const std::map<std::string, std::string>& headers = {});

  // Endpoint and deployment names: a letter, then letters, digits and '-', 3 to 32 long.
  static Status ValidateName(const std::string& kind, const std::string& name);

 private:
  Result<Json> ResolveModel(const std::string& reference, const std::string& field);

  store::MetadataStore* store_;
  artifacts::BlobStore* blobs_;
  ModelService* models_;
  EnvironmentService* environments_;
  DeploymentRuntime& runtime_;
  Clock* clock_;
  std::string path_env_;
  std::mutex mu_;  // serializes read-modify-write of endpoint records
};

}  // namespace gantry::workspace
