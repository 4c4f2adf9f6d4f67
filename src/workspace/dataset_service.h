// DatasetService: versioned file datasets. Registering pins a content manifest (a tree in
// the artifact store), so version N always means the same bytes: local files arrive as an
// uploaded tree, http(s)/file URLs are fetched by the server. Identical content registered
// again returns the existing version instead of storing anything twice.
// Thread-safe: the store serializes writes; registrations of one name are serialized here.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "artifacts/blob_store.h"
#include "artifacts/url_fetcher.h"
#include "common/clock.h"
#include "common/files.h"
#include "store/metadata_store.h"

namespace gantry::workspace {

struct RegisterDatasetRequest {
  std::string name;
  std::string description;
  std::string type = "uri_folder";  // uri_folder | uri_file
  Json tags = Json::object();
  int64_t version = 0;              // an explicit version; 0 = next
  bool create_new_version = false;  // allow a new version of an existing name
  std::string tree_id;              // local files, already uploaded ("" = none)
  std::vector<std::string> urls;    // fetched by the server into the dataset's root
  Json sources = Json::array();     // what the user named, kept as the record's sources
  // Asked while URLs are fetched: true stops the fetch (the client went away). May be empty.
  std::function<bool()> cancelled;
};

struct DatasetServiceOptions {
  // Folders whose files file:// URLs may name (each file is resolved, links and `..`
  // included, before the check). Empty: no file:// URL is read.
  std::vector<fs::path> file_roots;
};

class DatasetService {
 public:
  DatasetService(store::MetadataStore* store, artifacts::BlobStore* blobs,
                 artifacts::UrlFetcher* fetcher, Clock* clock, DatasetServiceOptions options = {});

  // InvalidArgument (name, type, empty), NotFound/Unavailable naming a URL that could not be
  // fetched (nothing is registered), PermissionDenied for a file:// URL outside the allowed
  // roots, ResourceExhausted for a source over the fetch limit, AlreadyExists when the name
  // exists with other content and create_new_version is false.
  Result<store::DatasetRecord> Register(const RegisterDatasetRequest& request);
  Result<store::DatasetRecord> Get(const std::string& name, int64_t version);
  Result<std::vector<store::DatasetRecord>> List(const std::string& name);
  // Resolves "azureml:NAME:VERSION", "azureml:NAME@latest", "azureml:NAME" (latest), and the
  // same with "gantry:".
  Result<store::DatasetRecord> Resolve(const std::string& reference);

  // OK when `url` is not file://, or names a file under an allowed root; PermissionDenied
  // naming the path otherwise (NotFound when it does not exist).
  Status CheckFileUrl(const std::string& url) const;

 private:
  store::MetadataStore* store_;
  artifacts::BlobStore* blobs_;
  artifacts::UrlFetcher* fetcher_;
  Clock* clock_;
  std::vector<fs::path> file_roots_;  // each root canonical and as named
  std::mutex register_mu_;
};

}  // namespace gantry::workspace
