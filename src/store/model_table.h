// ModelTable: the model registry — numbered versions per model name, each naming its files (a
// tree in the artifact store) and its lineage. Part of a MetadataStore
// (MetadataStore::models()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

struct ModelRecord {
  std::string name;
  int64_t version = 0;  // assigned by CreateModel: 1 + the highest so far
  std::string description;
  std::string tree_id;    // the model's files, a tree in the artifact store
  std::string framework;  // e.g. "PyTorch", "TensorFlow", "Custom"
  std::string framework_version;
  std::string type = "custom_model";
  Json tags = Json::object();             // mutable
  Json properties = Json::object();       // immutable once set (new keys may be added)
  Json resource_configuration = nullptr;  // {"cpu", "memory_in_gb", "gpu"} or null
  std::string run_name;                   // lineage: the run that produced it, "" when uploaded
  Json datasets = Json::array();          // lineage: [{"name", "version"}]
  int64_t created_at = 0;
};

class ModelTable {
 public:
  virtual ~ModelTable() = default;

  // Inserts a new version of model.name, assigning model.version in the same transaction.
  virtual Status CreateModel(ModelRecord& model) = 0;
  // `version` 0 means the latest. NotFound naming the model (and version).
  virtual Result<ModelRecord> GetModel(const std::string& name, int64_t version) = 0;
  // All versions (of `name` when not empty), by name then version.
  virtual Result<std::vector<ModelRecord>> ListModels(const std::string& name) = 0;
  // Replaces tags and properties of one version. NotFound when it does not exist.
  virtual Status UpdateModel(const ModelRecord& model) = 0;
};

}  // namespace gantry::store
