// Artifact transfer between a job's folders and the server's content-addressed store:
// DownloadTree writes a snapshot or input tree into a folder; FolderUploader publishes a
// folder (outputs/, logs/) as run artifacts, sending only the blobs the server lacks.
//
// Thread-compatible: one owner; the RunClient passed in is used on the caller's thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "artifacts/blob_store.h"
#include "artifacts/tree.h"
#include "common/status.h"
#include "runner/run_client.h"

namespace gantry::runner {

namespace fs = std::filesystem;

// Fetches tree `id` and writes each file under `dest` (created) with its mode, checking
// every blob's size and SHA-256, and each link entry as a symlink (see
// artifacts/download_folder.h: files already there are replaced, never written through).
// Returns the tree. Unavailable when the server went away (the caller may retry the whole
// download), NotFound for an unknown tree or blob, DataLoss when a blob's content does not
// match its name, InvalidArgument for a tree no download may write (a .git part, a link out
// of the tree, a symlinked folder in `dest`), Internal when a file cannot be written.
// With a `cache` (this node's blob cache), blobs it holds are copied from it instead of
// fetched, and fetched blobs are added to it, so repeated runs on a node download a dataset
// or snapshot once.
Result<artifacts::Tree> DownloadTree(RunClient& client, const std::string& id, const fs::path& dest,
                                     artifacts::BlobStore* cache = nullptr);

class FolderUploader {
 public:
  // Publishes `folder` as artifacts named `prefix` + relative path (e.g. "outputs/").
  // `cache_file` keeps file hashes between passes (see artifacts/snapshot.h).
  FolderUploader(fs::path folder, std::string prefix, fs::path cache_file);

  // Makes the server list every file now in the folder. A pass over an unchanged folder
  // costs one snapshot (a stat per file) and no request. An absent folder is empty.
  // Unavailable: the server went away, retry later. Aborted: a file changed between hashing
  // and sending (the job is still writing it), retry later. Other errors are the server's
  // refusal (e.g. ResourceExhausted for a blob over its size limit) or local I/O errors.
  Status Upload(RunClient& client);

  // Files the server has confirmed, by the last successful pass.
  size_t uploaded_files() const { return uploaded_ ? uploaded_->entries().size() : 0; }

 private:
  fs::path folder_;
  std::string prefix_;
  fs::path cache_file_;
  std::optional<artifacts::Tree> uploaded_;
};

}  // namespace gantry::runner
