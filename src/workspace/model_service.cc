#include "workspace/model_service.h"

#include "artifacts/tree.h"
#include "common/names.h"

namespace gantry::workspace {

using store::ModelRecord;

ModelService::ModelService(store::MetadataStore* store, artifacts::BlobStore* blobs, Clock* clock)
    : store_(store), blobs_(blobs), clock_(clock) {}

Result<std::string> ModelService::TreeFromRun(const std::string& run, const std::string& path) {
  RETURN_IF_ERROR(store_->runs().GetRun(run));
  std::string clean = path;
  while (!clean.empty() && clean.back() == '/') clean.pop_back();
  if (!IsSafeRelativePath(clean)) {
    return Err(InvalidArgumentError("model path '" + path + "' must be a path inside the run"));
  }
  ASSIGN_OR_RETURN(auto artifacts, store_->artifacts().ListArtifacts(run, clean));
  std::string base = clean.substr(clean.rfind('/') + 1);
  artifacts::Tree tree;
  for (const auto& a : artifacts) {
    std::string rel;
    if (a.path == clean) {
      rel = base;
    } else if (a.path.compare(0, clean.size() + 1, clean + "/") == 0) {
      rel = base + "/" + a.path.substr(clean.size() + 1);
    } else {
      continue;  // "outputs/model2" shares the prefix but is another path
    }
    RETURN_IF_ERROR(tree.Add({rel, a.blob, a.size, a.mode}));
  }
  if (tree.entries().empty()) {
    return Err(NotFoundError("run '" + run + "' has no artifact at '" + clean + "'"));
  }
  return artifacts::StoreTree(*blobs_, tree);
}

Result<ModelRecord> ModelService::Register(RegisterModelRequest request) {
  ModelRecord& m = request.model;
  RETURN_IF_ERROR(ValidateName("model name", m.name));
  if (!m.tags.is_object()) return Err(InvalidArgumentError("model 'tags' must be an object"));
  if (!m.properties.is_object()) {
    return Err(InvalidArgumentError("model 'properties' must be an object"));
  }
  if (!request.run_name.empty()) {
    if (request.run_path.empty()) {
      return Err(InvalidArgumentError("registering from run '" + request.run_name +
                                      "' needs a 'path' such as outputs/model"));
    }
    ASSIGN_OR_RETURN(m.tree_id, TreeFromRun(request.run_name, request.run_path));
    m.run_name = request.run_name;
  } else if (!request.tree_id.empty()) {
    if (!blobs_->Has(request.tree_id)) {
      return Err(FailedPreconditionError("tree " + request.tree_id + " is not uploaded"));
    }
    RETURN_IF_ERROR(artifacts::LoadTree(*blobs_, request.tree_id));
    m.tree_id = request.tree_id;
  } else {
    return Err(InvalidArgumentError("a model needs either 'tree_id' or 'run' and 'path'"));
  }
  if (m.framework.empty()) m.framework = "Custom";
  m.created_at = clock_->NowMillis();
  RETURN_IF_ERROR(store_->models().CreateModel(m));
  return m;
}

Result<ModelRecord> ModelService::Get(const std::string& name, int64_t version) {
  return store_->models().GetModel(name, version);
}

Result<std::vector<ModelRecord>> ModelService::List(const std::string& name) {
  return store_->models().ListModels(name);
}

Result<ModelRecord> ModelService::UpdateTags(const std::string& name, int64_t version,
                                             const std::map<std::string, std::string>& add,
                                             const std::vector<std::string>& remove) {
  ASSIGN_OR_RETURN(ModelRecord m, store_->models().GetModel(name, version));
  for (const auto& [k, v] : add) m.tags[k] = v;
  for (const auto& k : remove) m.tags.erase(k);
  RETURN_IF_ERROR(store_->models().UpdateModel(m));
  return m;
}

Result<ModelRecord> ModelService::AddProperties(const std::string& name, int64_t version,
                                                const std::map<std::string, std::string>& add) {
  ASSIGN_OR_RETURN(ModelRecord m, store_->models().GetModel(name, version));
  for (const auto& [k, v] : add) {
    if (m.properties.contains(k) && m.properties[k] != v) {
      return Err(FailedPreconditionError("property '" + k + "' of model " + name + ":" +
                                         std::to_string(m.version) +
                                         " is already set; properties cannot be changed"));
    }
    m.properties[k] = v;
  }
  RETURN_IF_ERROR(store_->models().UpdateModel(m));
  return m;
}

}  // namespace gantry::workspace
