// EnvironmentService: software environments. A spec says which interpreter, conda or pip
// dependencies, container image and variables a job needs; the SHA-256 of its canonical form
// names its build, so identical specs share one cached build on every node. Curated
// environments ship with the server under reserved name prefixes ("AzureML-", "Gantry-").
// Thread-safe.
//
// Spec (JSON, each part optional):
//   {"python": {"interpreter_path": "/usr/bin/python3", "user_managed_dependencies": true,
//               "conda_dependencies": {"channels": [...], "dependencies": [...]}},
//    "pip": ["requests==2.31"], "docker": {"base_image": "...", "base_dockerfile": "..."},
//    "environment_variables": {"K": "V"}, "requires_modules": ["torch"]}
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/metadata_store.h"

namespace gantry::workspace {

class EnvironmentService {
 public:
  EnvironmentService(store::MetadataStore* store, Clock* clock);

  // InvalidArgument for a bad spec or name, PermissionDenied for a reserved (curated) name.
  // The same spec as the latest version returns that version.
  Result<store::EnvironmentRecord> Register(const std::string& name, const Json& spec,
                                            const std::string& description);
  // Curated or registered; `version` 0 = latest.
  Result<store::EnvironmentRecord> Get(const std::string& name, int64_t version);
  // Curated first, then every registered version.
  Result<std::vector<store::EnvironmentRecord>> List();
  // "azureml:NAME@latest", "azureml:NAME:VERSION", "gantry:..." or a bare curated/registered
  // name. NotFound naming it and listing the curated ones.
  Result<store::EnvironmentRecord> Resolve(const std::string& reference);

  static bool IsReservedName(const std::string& name);
  // Validates and normalizes a spec; InvalidArgument naming the field.
  static Result<Json> NormalizeSpec(const Json& spec);
  static std::string SpecHash(const Json& normalized_spec);

 private:
  store::MetadataStore* store_;
  Clock* clock_;
  std::mutex register_mu_;
};

// The environments that ship with the server.
const std::vector<store::EnvironmentRecord>& CuratedEnvironments();

// The TensorFlow every TensorFlow environment of this server builds.
inline constexpr const char* kTensorFlowVersion = "2.21.0";
// The curated environment that has it: "Gantry-TensorFlow-2.21-CPU".
inline std::string CuratedTensorFlowEnvironment() {
  return std::string("Gantry-TensorFlow-") + std::string(kTensorFlowVersion).substr(0, 4) + "-CPU";
}

// An Azure curated environment name the notebooks use (AzureML-TensorFlow-2.0-GPU,
// AzureML-TensorFlow-1.13-GPU, azureml-tensorflow-2.11-cuda11, AzureML-PyTorch-1.6-GPU,
// AzureML-Minimal, ...) and the local curated environment that stands in for it, with why.
// Get() of such a name gives an environment of that name with the stand-in's spec (for the
// TensorFlow names with TF_USE_LEGACY_KERAS=1: tf.keras is Keras 2, as in Azure's
// TensorFlow 2.x environments). nullopt for any other name.
struct StandIn {
  std::string environment;  // the curated environment's name
  std::string reason;       // one line, e.g. "TensorFlow 1.13 does not install on ..."
};
std::optional<StandIn> StandInFor(const std::string& azure_name);

}  // namespace gantry::workspace
