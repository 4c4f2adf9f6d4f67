// Uploads a local folder or file to the workspace's artifact store as a tree: snapshot
// (ignore files, hash cache) → ask which blobs are missing → send only those → post the
// tree. An unchanged folder re-uploads nothing. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "common/files.h"
#include "common/status.h"
#include "http/http_client.h"

namespace gantry::cli {

struct UploadStats {
  int64_t files = 0, bytes = 0;            // in the tree
  int64_t sent_files = 0, sent_bytes = 0;  // actually uploaded
  int64_t hashed_files = 0;                // hash-cache misses
};

// `what` names the upload in progress output ("code", "input 'data'").
Result<std::string> UploadFolder(http::HttpClient& client, const fs::path& root,
                                 const std::string& what, UploadStats* stats);
Result<std::string> UploadFile(http::HttpClient& client, const fs::path& file,
                               const std::string& what, UploadStats* stats);

// Uploads several local files and folders as one tree. Files keep their names; a folder's
// files go under the folder's name, except a single folder given alone with
// `single_folder_at_root`, whose files land at the root. Globs (*, ?, [) are expanded.
// NotFound naming a path that does not exist or a glob that matches nothing.
Result<std::string> UploadLocalPaths(http::HttpClient& client,
                                     const std::vector<std::string>& paths,
                                     bool single_folder_at_root, const std::string& what,
                                     UploadStats* stats);

// The per-folder hash cache file used for `root`, under $XDG_CACHE_HOME/gantry (or
// ~/.cache/gantry).
fs::path SnapshotCacheFile(const fs::path& root);

}  // namespace gantry::cli
