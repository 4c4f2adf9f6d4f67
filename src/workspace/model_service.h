// ModelService: the model registry. A model version is a tree of files in the artifact
// store plus metadata (framework, resource configuration, tags, immutable properties) and
// lineage (the run that produced it, the datasets it used). Registering a name again makes
// the next version. Thread-safe: the store serializes writes; versions are assigned inside
// one store transaction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "artifacts/blob_store.h"
#include "common/clock.h"
#include "store/metadata_store.h"

namespace gantry::workspace {

struct RegisterModelRequest {
  // name, description, framework, framework_version, type, tags, properties,
  // resource_configuration and datasets are taken from here; version and tree are assigned.
  store::ModelRecord model;
  // Either an uploaded tree ...
  std::string tree_id;
  // ... or files of a run: `run_path` is a file or folder among the run's artifacts, such as
  // "outputs/model". The model keeps the last component: "outputs/model/a.pt" → "model/a.pt".
  std::string run_name;
  std::string run_path;
};

class ModelService {
 public:
  ModelService(store::MetadataStore* store, artifacts::BlobStore* blobs, Clock* clock);

  // InvalidArgument for a bad name or missing source; NotFound when the run or the path in
  // it does not exist; FailedPrecondition when the tree is not uploaded.
  Result<store::ModelRecord> Register(RegisterModelRequest request);
  // `version` 0 = latest.
  Result<store::ModelRecord> Get(const std::string& name, int64_t version);
  Result<std::vector<store::ModelRecord>> List(const std::string& name);
  // Tags are mutable.
  Result<store::ModelRecord> UpdateTags(const std::string& name, int64_t version,
                                        const std::map<std::string, std::string>& add,
                                        const std::vector<std::string>& remove);
  // Properties are immutable: new keys may be added, an existing key keeps its value
  // (FailedPrecondition when asked to change it).
  Result<store::ModelRecord> AddProperties(const std::string& name, int64_t version,
                                           const std::map<std::string, std::string>& add);

 private:
  Result<std::string> TreeFromRun(const std::string& run, const std::string& path);

  store::MetadataStore* store_;
  artifacts::BlobStore* blobs_;
  Clock* clock_;
};

}  // namespace gantry::workspace
