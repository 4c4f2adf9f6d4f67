#include "workspace/endpoint_service.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "artifacts/tree.h"
#include "common/ids.h"
#include "common/names.h"
#include "common/process.h"
#include "deploy/deployment_state.h"
#include "deploy/traffic.h"

namespace gantry::workspace {

namespace {

const std::string kDeleting = deploy::DeploymentStateName(deploy::DeploymentState::kDeleting);

bool KeyMatches(const std::string& given, const std::string& key) {
  return !key.empty() && given.size() == key.size() &&
         CRYPTO_memcmp(given.data(), key.data(), key.size()) == 0;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int64_t TrafficOf(const Json& traffic, const std::string& deployment) {
  auto it = traffic.find(deployment);
  return it != traffic.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

EndpointService::EndpointService(store::MetadataStore* store, artifacts::BlobStore* blobs,
                                 ModelService* models, EnvironmentService* environments,
                                 DeploymentRuntime& runtime, Clock* clock, std::string path_env)
    : store_(store),
      blobs_(blobs),
      models_(models),
      environments_(environments),
      runtime_(runtime),
      clock_(clock),
      path_env_(std::move(path_env)) {}

Status EndpointService::ValidateName(const std::string& kind, const std::string& name) {
  RETURN_IF_ERROR(gantry::ValidateName(kind + " name", name));
  // Azure's stricter rule for endpoints: their names become parts of scoring URIs.
  bool ok =
      name.size() >= 3 && name.size() <= 32 && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') ok = false;
  }
  if (!ok) {
    return InvalidArgumentError(kind + " name '" + name +
                                "' must be 3 to 32 characters: a letter, then letters, digits "
                                "or '-'");
  }
  return Status::Ok();
}

Result<store::EndpointRecord> EndpointService::CreateEndpoint(const EndpointRequest& request) {
  RETURN_IF_ERROR(ValidateName("endpoint", request.name));
  if (request.auth_mode != "key" && request.auth_mode != "none") {
    return Err(
        InvalidArgumentError("auth_mode must be 'key' or 'none', got '" + request.auth_mode + "'"));
  }
  if (!request.tags.is_object()) return Err(InvalidArgumentError("tags must be an object"));
  store::EndpointRecord e;
  e.name = request.name;
  e.description = request.description;
  e.auth_mode = request.auth_mode;
  e.primary_key = NewSecretToken();
  e.secondary_key = NewSecretToken();
  e.tags = request.tags;
  e.created_at = e.updated_at = clock_->NowMillis();
  RETURN_IF_ERROR(store_->endpoints().CreateEndpoint(e));
  return e;
}

Result<store::EndpointRecord> EndpointService::GetEndpoint(const std::string& name) {
  return store_->endpoints().GetEndpoint(name);
}

Result<std::vector<store::EndpointRecord>> EndpointService::ListEndpoints() {
  return store_->endpoints().ListEndpoints();
}

Result<store::EndpointRecord> EndpointService::UpdateEndpoint(const std::string& name,
                                                              const EndpointUpdate& update) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto e, store_->endpoints().GetEndpoint(name));
  if (update.traffic) {
    const Json& t = *update.traffic;
    if (!t.is_object()) {
      return Err(InvalidArgumentError("traffic must map deployment names to percentages"));
    }
    ASSIGN_OR_RETURN(auto deployments, store_->endpoints().ListDeployments(name));
    Json traffic = Json::object();
    int64_t sum = 0;
    for (const auto& [dep, weight] : t.items()) {
      bool known = std::any_of(deployments.begin(), deployments.end(),
                               [&](const auto& d) { return d.name == dep; });
      if (!known) {
        return Err(InvalidArgumentError("traffic names deployment '" + dep + "', which endpoint '" +
                                        name + "' does not have"));
      }
      if (!weight.is_number_integer() || weight.get<int64_t>() < 0 || weight.get<int64_t>() > 100) {
        return Err(InvalidArgumentError("traffic for deployment '" + dep +
                                        "' must be a whole percentage from 0 to 100, got " +
                                        weight.dump()));
      }
      traffic[dep] = weight.get<int64_t>();
      sum += weight.get<int64_t>();
    }
    if (sum != 100 && sum != 0) {
      return Err(
          InvalidArgumentError("traffic percentages must add up to 100 (or all be 0); "
                               "these add up to " +
                               std::to_string(sum)));
    }
    e.traffic = traffic;
  }
  if (update.description) e.description = *update.description;
  if (update.tags) {
    if (!update.tags->is_object()) return Err(InvalidArgumentError("tags must be an object"));
    e.tags = *update.tags;
  }
  e.updated_at = clock_->NowMillis();
  RETURN_IF_ERROR(store_->endpoints().UpdateEndpoint(e));
  return e;
}

Result<store::EndpointRecord> EndpointService::RegenerateKey(const std::string& name,
                                                             const std::string& which) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto e, store_->endpoints().GetEndpoint(name));
  std::string w = Lower(which);
  if (w == "primary") {
    e.primary_key = NewSecretToken();
  } else if (w == "secondary") {
    e.secondary_key = NewSecretToken();
  } else {
    return Err(
        InvalidArgumentError("key_type must be 'primary' or 'secondary', got '" + which + "'"));
  }
  e.updated_at = clock_->NowMillis();
  RETURN_IF_ERROR(store_->endpoints().UpdateEndpoint(e));
  return e;
}

Status EndpointService::DeleteEndpoint(const std::string& name) {
  ASSIGN_OR_RETURN(auto deployments, store_->endpoints().ListDeployments(name));
  RETURN_IF_ERROR(store_->endpoints().GetEndpoint(name));
  for (const auto& d : deployments) {
    // Best effort: the record is deleted below whatever this says.
    (void)store_->endpoints().SetDeploymentState(d.endpoint, d.name, d.generation, kDeleting, "",
                                                 clock_->NowMillis());
    runtime_.Remove(d.endpoint, d.name);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return store_->endpoints().DeleteEndpoint(name);
}

Result<Json> EndpointService::ResolveModel(const std::string& reference, const std::string& field) {
  std::string rest = reference;
  if (rest.rfind("azureml:", 0) == 0) rest = rest.substr(8);
  if (rest.empty()) return Err(InvalidArgumentError("field '" + field + "' is required"));
  int64_t version = 0;
  std::string name = rest;
  if (rest.size() > 7 && rest.ends_with("@latest")) {
    name = rest.substr(0, rest.size() - 7);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    name = rest.substr(0, colon);
    std::string v = rest.substr(colon + 1);
    if (v.empty() || !std::all_of(v.begin(), v.end(), ::isdigit) || v.size() > 12 ||
        std::stoll(v) <= 0) {
      return Err(InvalidArgumentError("field '" + field + "': model reference '" + reference +
                                      "' has an invalid version; use NAME:VERSION or "
                                      "NAME@latest"));
    }
    version = std::stoll(v);
  }
  ASSIGN_OR_RETURN(auto m, models_->Get(name, version));
  return Json{{"name", m.name},
              {"version", m.version},
              {"tree_id", m.tree_id},
              {"framework", m.framework},
              {"framework_version", m.framework_version}};
}

Result<store::DeploymentRecord> EndpointService::PutDeployment(const DeploymentRequest& r) {
  RETURN_IF_ERROR(ValidateName("deployment", r.name));
  ASSIGN_OR_RETURN(auto endpoint, store_->endpoints().GetEndpoint(r.endpoint));
  if (r.instance_count < 1 || r.instance_count > 64) {
    return Err(InvalidArgumentError("instance_count must be from 1 to 64, got " +
                                    std::to_string(r.instance_count)));
  }
  if (!r.request_settings.is_object()) {
    return Err(InvalidArgumentError("request_settings must be an object"));
  }
  for (const char* key : {"request_timeout_ms", "max_concurrent_requests_per_instance"}) {
    if (r.request_settings.contains(key) && (!r.request_settings[key].is_number_integer() ||
                                             r.request_settings[key].get<int64_t>() < 1)) {
      return Err(InvalidArgumentError(std::string("request_settings.") + key +
                                      " must be a positive integer"));
    }
  }
  if (!r.environment_variables.is_object()) {
    return Err(InvalidArgumentError("environment_variables must be an object"));
  }
  for (const auto& [k, v] : r.environment_variables.items()) {
    if (!v.is_string()) {
      return Err(InvalidArgumentError("environment variable '" + k + "' must be a string"));
    }
  }
  ASSIGN_OR_RETURN(Json model, ResolveModel(r.model, "model"));
  ASSIGN_OR_RETURN(auto model_tree,
                   artifacts::LoadTree(*blobs_, model["tree_id"].get<std::string>()));
  const std::string model_id =
      model["name"].get<std::string>() + ":" + std::to_string(model["version"].get<int64_t>());

  Json spec = {{"model", model},
               {"instance_type", r.instance_type},
               {"instance_count", r.instance_count},
               {"request_settings", r.request_settings},
               {"environment_variables", r.environment_variables}};
  if (!r.code_tree.empty()) {
    if (r.scoring_script.empty()) {
      return Err(InvalidArgumentError("field 'scoring_script' is required with scoring code"));
    }
    auto code = artifacts::LoadTree(*blobs_, r.code_tree);
    if (!code.has_value()) {
      return Err(FailedPreconditionError("the scoring code (tree " + r.code_tree +
                                         ") is not uploaded: " + code.error().message()));
    }
    if (code->Find(r.scoring_script) == nullptr) {
      return Err(InvalidArgumentError("scoring script '" + r.scoring_script +
                                      "' is not in the uploaded code"));
    }
    std::string env_ref = r.environment.empty() ? "Gantry-Python3" : r.environment;
    ASSIGN_OR_RETURN(auto env, environments_->Resolve(env_ref));
    spec["backend"] = "python";
    spec["code_tree"] = r.code_tree;
    spec["scoring_script"] = r.scoring_script;
    spec["environment"] = {
        {"name", env.name}, {"version", env.version}, {"hash", env.hash}, {"spec", env.spec}};
  } else {
    std::string framework = Lower(model["framework"].get<std::string>());
    const bool tensorflow = framework == "tensorflow";
    if (!r.environment.empty() && !tensorflow) {
      return Err(
          InvalidArgumentError("an environment is used only with scoring code "
                               "(code_configuration) or for a TensorFlow model (whose "
                               "environment provides TensorFlow); a no-code deployment "
                               "of this model runs in the model server itself"));
    }
    if (framework == "pytorch" || framework == "torchscript") {
      bool has_pt = model_tree.Find("model.pt") != nullptr;
      for (const auto& e : model_tree.entries()) {
        auto slash = e.path.find('/');
        if (slash != std::string::npos && e.path.substr(slash + 1) == "model.pt") has_pt = true;
      }
      if (!has_pt) {
        return Err(InvalidArgumentError(
            "no-code deployment of a PyTorch model loads a TorchScript file 'model.pt'; model " +
            model_id +
            " has none. Save it with torch.jit.save, or deploy with a scoring "
            "script"));
      }
      spec["backend"] = "torchscript";
      if (r.max_batch_size > 0) spec["max_batch_size"] = r.max_batch_size;
    } else if (tensorflow) {
      // The tensorflow backend finds the SavedModel at the top, in a numbered version folder
      // or one folder down (serving/tensorflow_backend.cc).
      bool has_saved_model = false;
      for (const auto& e : model_tree.entries()) {
        fs::path p(e.path);
        if (p.filename() == "saved_model.pb" && std::distance(p.begin(), p.end()) <= 3) {
          has_saved_model = true;
        }
      }
      if (!has_saved_model) {
        return Err(InvalidArgumentError(
            "no-code deployment of a TensorFlow model loads a SavedModel (saved_model.pb); "
            "model " +
            model_id +
            " has none. Save it with tf.saved_model.save or "
            "model.export(path), or deploy with a scoring script"));
      }
      // The model server loads the C API of the environment's tensorflow wheel; without an
      // environment named, the curated TensorFlow one's (built on first use).
      ASSIGN_OR_RETURN(auto env,
                       environments_->Resolve(r.environment.empty() ? CuratedTensorFlowEnvironment()
                                                                    : r.environment));
      spec["backend"] = "tensorflow";
      spec["environment"] = {
          {"name", env.name}, {"version", env.version}, {"hash", env.hash}, {"spec", env.spec}};
      if (r.max_batch_size > 0) spec["max_batch_size"] = r.max_batch_size;
    } else {
      return Err(InvalidArgumentError(
          "model " + model_id + " has framework '" + model["framework"].get<std::string>() +
          "'; no-code deployment serves PyTorch (TorchScript model.pt) and TensorFlow "
          "(SavedModel) models. Give a scoring script (code_configuration / InferenceConfig)"));
    }
  }

  std::lock_guard<std::mutex> lock(mu_);
  store::DeploymentRecord d;
  d.endpoint = r.endpoint;
  d.name = r.name;
  d.spec = spec;
  d.created_at = d.updated_at = clock_->NowMillis();
  if (auto old = store_->endpoints().GetDeployment(r.endpoint, r.name); old.has_value()) {
    d.created_at = old->created_at;
    d.generation = old->generation + 1;
    d.state = deploy::DeploymentStateName(deploy::DeploymentState::kUpdating);
  } else if (old.error().code() != StatusCode::kNotFound) {
    return Err(old.error());
  }
  RETURN_IF_ERROR(store_->endpoints().PutDeployment(d));
  if (r.all_traffic) {
    endpoint.traffic = Json::object();
    endpoint.traffic[r.name] = 100;
    ASSIGN_OR_RETURN(auto all, store_->endpoints().ListDeployments(r.endpoint));
    for (const auto& other : all) {
      if (other.name != r.name) endpoint.traffic[other.name] = 0;
    }
    endpoint.updated_at = clock_->NowMillis();
    RETURN_IF_ERROR(store_->endpoints().UpdateEndpoint(endpoint));
  }
  runtime_.Apply(d.endpoint, d.name);
  return d;
}

Result<store::DeploymentRecord> EndpointService::GetDeployment(const std::string& endpoint,
                                                               const std::string& name) {
  RETURN_IF_ERROR(store_->endpoints().GetEndpoint(endpoint));
  return store_->endpoints().GetDeployment(endpoint, name);
}

Result<std::vector<store::DeploymentRecord>> EndpointService::ListDeployments(
    const std::string& endpoint) {
  RETURN_IF_ERROR(store_->endpoints().GetEndpoint(endpoint));
  return store_->endpoints().ListDeployments(endpoint);
}

Status EndpointService::DeleteDeployment(const std::string& endpoint, const std::string& name) {
  ASSIGN_OR_RETURN(auto e, store_->endpoints().GetEndpoint(endpoint));
  ASSIGN_OR_RETURN(auto d, store_->endpoints().GetDeployment(endpoint, name));
  if (int64_t share = TrafficOf(e.traffic, name); share > 0) {
    return FailedPreconditionError("deployment '" + name + "' still receives " +
                                   std::to_string(share) + "% of endpoint '" + endpoint +
                                   "''s traffic; set its traffic to 0 first");
  }
  // Best effort: the record is deleted below whatever this says.
  (void)store_->endpoints().SetDeploymentState(endpoint, name, d.generation, kDeleting, "",
                                               clock_->NowMillis());
  runtime_.Remove(endpoint, name);
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(store_->endpoints().DeleteDeployment(endpoint, name));
  if (auto fresh = store_->endpoints().GetEndpoint(endpoint);
      fresh.has_value() && fresh->traffic.contains(name)) {
    fresh->traffic.erase(name);
    fresh->updated_at = clock_->NowMillis();
    RETURN_IF_ERROR(store_->endpoints().UpdateEndpoint(*fresh));
  }
  return Status::Ok();
}

Result<std::string> EndpointService::DeploymentLogs(const std::string& endpoint,
                                                    const std::string& name, int64_t lines) {
  RETURN_IF_ERROR(GetDeployment(endpoint, name));
  return runtime_.Logs(endpoint, name, lines);
}

std::vector<ReplicaStatus> EndpointService::Replicas(const std::string& endpoint,
                                                     const std::string& name) {
  return runtime_.Replicas(endpoint, name);
}

Result<ScoreResult> EndpointService::Score(const std::string& endpoint,
                                           const std::string& bearer_key,
                                           const std::string& deployment, const std::string& method,
                                           const std::string& path, const std::string& body,
                                           const std::string& content_type,
                                           const std::map<std::string, std::string>& headers) {
  ASSIGN_OR_RETURN(auto e, store_->endpoints().GetEndpoint(endpoint));
  if (e.auth_mode == "key" &&
      !(KeyMatches(bearer_key, e.primary_key) || KeyMatches(bearer_key, e.secondary_key))) {
    return Err(UnauthenticatedError(
        bearer_key.empty() ? "endpoint '" + endpoint +
                                 "' needs a key: send 'Authorization: Bearer KEY' (gantry "
                                 "online-endpoint get-credentials --name " +
                                 endpoint + ")"
                           : "the key is not valid for endpoint '" + endpoint + "'"));
  }
  std::string chosen = deployment;
  if (chosen.empty()) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    chosen = deploy::PickByTraffic(e.traffic, static_cast<int64_t>(rng() % 100));
    if (chosen.empty()) {
      return Err(UnavailableError("endpoint '" + endpoint +
                                  "' routes no traffic to any deployment; set it with "
                                  "`gantry online-endpoint update --name " +
                                  endpoint + " --traffic \"DEPLOYMENT=100\"`"));
    }
  } else {
    RETURN_IF_ERROR(store_->endpoints().GetDeployment(endpoint, chosen));
  }
  ASSIGN_OR_RETURN(auto answer,
                   runtime_.Forward(endpoint, chosen, method, path, body, content_type, headers));
  return ScoreResult{chosen, std::move(answer)};
}

}  // namespace gantry::workspace
