// Snapshot: turns a local folder (a job's code, a dataset to upload) into a Tree, honouring
// its ignore files (see ignore_rules.h), so that only blobs the server lacks need uploading.
//
// Hashing is the expensive part, so file hashes are cached by (relative path, size, mtime in
// ns): re-snapshotting an unchanged folder costs one stat per file and reads nothing. Files
// whose mtime is within two seconds of the snapshot's start are hashed but not cached, so
// that an edit landing in the same timestamp tick as the hash cannot go unnoticed.
//
// Walk rules: symlinks to files are included with their target's content, symlinks to
// folders are not followed, broken symlinks and special files are skipped. Modes are 0755
// when the owner may execute the file, else 0644.
//
// Thread-safety: TakeSnapshot() is thread-safe as long as calls use different cache files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "artifacts/tree.h"
#include "common/status.h"

namespace gantry::artifacts {

struct SnapshotOptions {
  // Folder to snapshot. Required.
  fs::path root;
  // Hash cache, read at start and rewritten atomically when it changed. Empty (the default)
  // means no cache. A missing or corrupt cache is ignored; failing to write it is not an
  // error, since it only saves time. Typically root/.gantry/snapshot-cache (.gantry is never
  // part of a snapshot).
  fs::path cache_file;
};

struct Snapshot {
  Tree tree;
  // SHA-256 -> one local file with that content, for uploading missing blobs.
  std::map<std::string, fs::path> blob_sources;
  // Files whose hash was computed because the cache could not vouch for them.
  int64_t hashed_files = 0;
};

// Snapshots `options.root`. NotFound naming the folder when it does not exist,
// InvalidArgument when it is not a folder or a file's name is not valid UTF-8, Internal or
// PermissionDenied (naming the path) when something cannot be read.
Result<Snapshot> TakeSnapshot(const SnapshotOptions& options);

}  // namespace gantry::artifacts
