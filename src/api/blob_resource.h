// /blobs and /trees: content-addressed uploads and downloads (docs/rest-api.md). A blob is
// accepted only when its bytes hash to its id; a tree only when every file's blob is there.
#pragma once

#include "api/routes.h"
#include "artifacts/blob_store.h"

namespace gantry::api {

class BlobResource {
 public:
  explicit BlobResource(artifacts::BlobStore& blobs) : blobs_(blobs) {}
  void AddTo(Routes& routes);

  // The access of blob uploads, which Api::BeforeBody checks before their body is read too.
  static workspace::RouteAccess UploadAccess() { return workspace::RouteAccess::Upload(); }

 private:
  http::Response Missing(http::Request& req);
  http::Response PutBlob(http::Request& req);
  http::Response GetBlob(http::Request& req);
  http::Response PutTree(http::Request& req);
  http::Response GetTree(http::Request& req);

  artifacts::BlobStore& blobs_;
};

}  // namespace gantry::api
