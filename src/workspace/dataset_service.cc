#include "workspace/dataset_service.h"

#include "artifacts/tree.h"
#include "common/names.h"
#include "common/url.h"

namespace gantry::workspace {

using store::DatasetRecord;

namespace {
// The file name a URL's content is stored under: the last path segment, without query.
Result<std::string> NameFromUrl(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  auto scheme = path.find("://");
  if (scheme != std::string::npos) path = path.substr(scheme + 3);
  auto slash = path.rfind('/');
  std::string name = slash == std::string::npos ? "" : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return Err(InvalidArgumentError("cannot name a file after URL '" + url +
                                    "': it does not end in a file name"));
  }
  return name;
}
}  // namespace

DatasetService::DatasetService(store::MetadataStore* store, artifacts::BlobStore* blobs,
                               artifacts::UrlFetcher* fetcher, Clock* clock,
                               DatasetServiceOptions options)
    : store_(store), blobs_(blobs), fetcher_(fetcher), clock_(clock) {
  for (const auto& root : options.file_roots) {
    std::error_code ec;
    fs::path canonical = fs::canonical(root, ec);
    if (ec) continue;
    file_roots_.push_back(canonical);
    file_roots_.push_back(fs::absolute(root).lexically_normal());
  }
}

Status DatasetService::CheckFileUrl(const std::string& url) const {
  if (!url.starts_with("file://")) return Status::Ok();
  std::string path = UrlDecode(url.substr(7), false);
  if (!path.starts_with("/")) {
    return InvalidArgumentError("file URL '" + url + "' must name an absolute path: file:///PATH");
  }
  auto under_a_root = [&](const fs::path& p) {
    for (const auto& root : file_roots_) {
      auto rel = p.lexically_relative(root);
      if (!rel.empty() && *rel.begin() != "..") return true;
    }
    return false;
  };
  // First by name, so that nothing outside the roots is even looked at (no existence oracle),
  // then with links resolved, so that a link inside a root cannot lead out of it.
  fs::path named = fs::path(path).lexically_normal();
  std::error_code ec;
  fs::path real = named;
  if (under_a_root(named)) {
    real = fs::canonical(named, ec);
    if (ec) return NotFoundError("cannot read " + url + ": " + ec.message());
    if (under_a_root(real)) return Status::Ok();  // `real` has no links left to follow
  }
  return PermissionDeniedError(
      "file " + real.string() + " (from " + url +
      ") is outside the folders this server may "
      "read for datasets; its operator can allow a folder with `gantry server "
      "--allow-file-root DIR`, or upload the file from the client instead");
}

Result<DatasetRecord> DatasetService::Register(const RegisterDatasetRequest& request) {
  RETURN_IF_ERROR(ValidateName("dataset name", request.name));
  if (request.type != "uri_folder" && request.type != "uri_file") {
    return Err(InvalidArgumentError("dataset type must be uri_folder or uri_file, got '" +
                                    request.type + "'"));
  }
  if (!request.tags.is_object()) return Err(InvalidArgumentError("'tags' must be an object"));
  artifacts::Tree tree;
  if (!request.tree_id.empty()) {
    ASSIGN_OR_RETURN(tree, artifacts::LoadTree(*blobs_, request.tree_id));
  }
  for (const auto& url : request.urls) RETURN_IF_ERROR(CheckFileUrl(url));
  for (const auto& url : request.urls) {
    ASSIGN_OR_RETURN(std::string name, NameFromUrl(url));
    ASSIGN_OR_RETURN(artifacts::FetchedBlob blob, fetcher_->Fetch(url, *blobs_, request.cancelled));
    Status added = tree.Add({name, blob.sha, blob.size, 0644});
    if (!added.ok()) {
      return Err(InvalidArgumentError("two sources of dataset '" + request.name +
                                      "' would both be stored as '" + name + "'"));
    }
  }
  if (tree.entries().empty()) {
    return Err(InvalidArgumentError("dataset '" + request.name + "' has no files"));
  }
  if (request.type == "uri_file" && tree.entries().size() != 1) {
    return Err(InvalidArgumentError("a uri_file dataset holds one file; '" + request.name +
                                    "' has " + std::to_string(tree.entries().size())));
  }
  ASSIGN_OR_RETURN(std::string tree_id, artifacts::StoreTree(*blobs_, tree));

  std::lock_guard<std::mutex> lock(register_mu_);
  auto latest = store_->datasets().GetDataset(request.name, 0);
  if (!latest.has_value() && latest.error().code() != StatusCode::kNotFound) {
    return Err(latest.error());
  }
  if (latest.has_value() && request.version == 0) {
    if (latest->tree_id == tree_id) return *latest;  // same bytes: nothing new to register
    if (!request.create_new_version) {
      return Err(AlreadyExistsError(
          "dataset '" + request.name + "' already exists (version " +
          std::to_string(latest->version) +
          ") with different content; register with create_new_version=True to add a version"));
    }
  }
  DatasetRecord d;
  d.name = request.name;
  d.version = request.version;
  d.description = request.description;
  d.type = request.type;
  d.tree_id = tree_id;
  d.sources = request.sources;
  d.tags = request.tags;
  d.created_at = clock_->NowMillis();
  RETURN_IF_ERROR(store_->datasets().CreateDataset(d));
  return d;
}

Result<DatasetRecord> DatasetService::Get(const std::string& name, int64_t version) {
  return store_->datasets().GetDataset(name, version);
}

Result<std::vector<DatasetRecord>> DatasetService::List(const std::string& name) {
  return store_->datasets().ListDatasets(name);
}

Result<DatasetRecord> DatasetService::Resolve(const std::string& reference) {
  std::string rest;
  for (const std::string prefix : {"azureml:", "gantry:"}) {
    if (reference.rfind(prefix, 0) == 0) rest = reference.substr(prefix.size());
  }
  if (rest.empty()) {
    return Err(InvalidArgumentError("'" + reference +
                                    "' is not a dataset reference "
                                    "(azureml:NAME:VERSION or azureml:NAME@latest)"));
  }
  std::string name = rest;
  int64_t version = 0;
  if (auto at = rest.rfind("@latest"); at != std::string::npos && at + 7 == rest.size()) {
    name = rest.substr(0, at);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    name = rest.substr(0, colon);
    std::string v = rest.substr(colon + 1);
    try {
      size_t used = 0;
      version = std::stoll(v, &used);
      if (used != v.size() || version <= 0) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      return Err(InvalidArgumentError("dataset reference '" + reference +
                                      "' has an invalid version '" + v + "'"));
    }
  }
  return store_->datasets().GetDataset(name, version);
}

}  // namespace gantry::workspace
