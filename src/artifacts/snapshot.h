// Snapshot: turns a local folder (a job's code, a dataset to upload) into a Tree, honouring
// its ignore files (see ignore_rules.h), so that only blobs the server lacks need uploading.
//
// Hashing is the expensive part, so file hashes are cached by (relative path, size, mtime in
// ns): re-snapshotting an unchanged folder costs one stat per file and reads nothing. Files
// whose mtime is within two seconds of the snapshot's start are hashed but not cached, so
// that an edit landing in the same timestamp tick as the hash cannot go unnoticed.
//
// Walk rules: special files are skipped; modes are 0755 when the owner may execute the
// file, else 0644. Symlinks follow SnapshotOptions::links: by default a link is never
// followed. One whose target stays inside the folder is recorded as a link entry (see
// TreeEntry::link) and comes back as a link wherever the tree is written out; one that leads
// outside (an absolute path elsewhere, or "../" above the folder) is refused with its path
// named, so that code/creds -> ~/.ssh/id_rsa can never upload the key.
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
  // How symlinks are taken.
  enum class Links {
    // The default, for what a user uploads (code, datasets, models): a link is recorded as a
    // link when its target stays inside `root` (an absolute target inside it is rewritten
    // as a relative one); InvalidArgument naming it when the target leads outside. The
    // target is never read either way.
    kKeepInside,
    // For a run's outputs/ and logs/, which the job itself wrote and whose content is what
    // matters: a link to a file is included with that file's content; links to folders and
    // broken links are skipped.
    kFollowFiles,
  };
  Links links = Links::kKeepInside;
};

struct Snapshot {
  Tree tree;
  // SHA-256 -> one local file with that content, for uploading missing blobs.
  std::map<std::string, fs::path> blob_sources;
  // SHA-256 -> the target text of a link entry, whose blob is that text.
  std::map<std::string, std::string> link_blobs;
  // Files whose hash was computed because the cache could not vouch for them.
  int64_t hashed_files = 0;
};

// Snapshots `options.root`. NotFound naming the folder when it does not exist,
// InvalidArgument when it is not a folder, a file's name is not a safe tree path (not valid
// UTF-8, a backslash or control character) or a link leads outside the folder, Internal or
// PermissionDenied (naming the path) when something cannot be read.
Result<Snapshot> TakeSnapshot(const SnapshotOptions& options);

}  // namespace gantry::artifacts
