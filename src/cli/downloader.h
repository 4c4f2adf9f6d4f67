// Downloads trees and run files from the workspace into a local folder, the reverse of
// uploader.h. Everything is checked before the first file is written (see
// artifacts/download_folder.h): nothing outside the folder, nothing in .git or .gantry, no
// write through a symlink, no setuid bits, and no existing file replaced unless `overwrite`.
// Thread-compatible.
#pragma once

#include <functional>
#include <string>

#include "artifacts/tree.h"
#include "common/files.h"
#include "common/status.h"
#include "http/http_client.h"

namespace gantry::cli {

// Fetches the content of one file entry; the result is checked against the entry's
// SHA-256 and size by the caller.
using FetchEntry = std::function<Result<std::string>(const artifacts::TreeEntry&)>;

// Writes every entry of `tree` below `dest`: files fetched by `fetch`, links as symlinks.
// Returns the number of entries written. InvalidArgument naming the path for an entry no
// download may write, AlreadyExists for an existing one without `overwrite`, DataLoss when
// fetched bytes do not match their entry.
Result<int64_t> DownloadEntries(const artifacts::Tree& tree, const fs::path& dest, bool overwrite,
                                const FetchEntry& fetch);

// Downloads tree `tree_id` (GET /api/v1/trees/ID, then each blob) into `dest`, as above.
Result<int64_t> DownloadTree(http::HttpClient& client, const std::string& tree_id,
                             const fs::path& dest, bool overwrite);

}  // namespace gantry::cli
