#include "runner/artifact_transfer.h"

#include <map>
#include <set>
#include <vector>

#include "artifacts/download_folder.h"
#include "artifacts/snapshot.h"
#include "common/files.h"
#include "common/hashing.h"

namespace gantry::runner {
Result<artifacts::Tree> DownloadTree(RunClient& client, const std::string& id, const fs::path& dest,
                                     artifacts::BlobStore* cache) {
  ASSIGN_OR_RETURN(artifacts::Tree tree, client.GetTree(id));
  // A retried download finds the first attempt's files: they are replaced, never written
  // through (see artifacts/download_folder.h).
  ASSIGN_OR_RETURN(artifacts::DownloadFolder folder,
                   artifacts::DownloadFolder::Open(
                       dest, tree, artifacts::DownloadFolderOptions{.overwrite = true}));
  // Identical files are fetched once and copied.
  std::map<std::string, fs::path> written;
  for (const artifacts::TreeEntry& e : tree.entries()) {
    if (e.is_link()) {
      RETURN_IF_ERROR(folder.WriteLink(e));
      continue;
    }
    const fs::path target = dest / e.path;
    if (auto it = written.find(e.blob); it != written.end()) {
      RETURN_IF_ERROR(folder.CopyFile(e, it->second));
      continue;
    }
    if (cache != nullptr && cache->Has(e.blob)) {
      auto cached = cache->Get(e.blob);
      if (cached.has_value() && static_cast<int64_t>(cached->size()) == e.size) {
        RETURN_IF_ERROR(folder.WriteFile(e, *cached));
        written.emplace(e.blob, target);
        continue;
      }
    }
    ASSIGN_OR_RETURN(std::string data, client.GetBlob(e.blob));
    if (static_cast<int64_t>(data.size()) != e.size || Sha256Hex(data) != e.blob) {
      return Err(DataLossError("blob " + e.blob + " for '" + e.path +
                               "' does not match its name or size"));
    }
    RETURN_IF_ERROR(folder.WriteFile(e, data));
    // The cache only saves time: failing to fill it is not an error.
    if (cache != nullptr) (void)cache->PutExpecting(e.blob, data);
    written.emplace(e.blob, target);
  }
  return tree;
}

FolderUploader::FolderUploader(fs::path folder, std::string prefix, fs::path cache_file)
    : folder_(std::move(folder)), prefix_(std::move(prefix)), cache_file_(std::move(cache_file)) {}

Status FolderUploader::Upload(RunClient& client) {
  std::error_code ec;
  if (!fs::is_directory(folder_, ec)) return Status::Ok();
  // The job wrote these files: a link to a file is uploaded with the file's content.
  using Links = artifacts::SnapshotOptions::Links;
  ASSIGN_OR_RETURN(artifacts::Snapshot snap,
                   artifacts::TakeSnapshot(
                       {.root = folder_, .cache_file = cache_file_, .links = Links::kFollowFiles}));
  if (uploaded_ && *uploaded_ == snap.tree) return Status::Ok();
  if (snap.tree.entries().empty()) {
    uploaded_ = std::move(snap.tree);
    return Status::Ok();
  }

  std::vector<std::string> shas;
  std::set<std::string> seen;
  for (const auto& e : snap.tree.entries()) {
    if (seen.insert(e.blob).second) shas.push_back(e.blob);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> missing, client.MissingBlobs(shas));
  for (const std::string& sha : missing) {
    auto source = snap.blob_sources.find(sha);
    if (source == snap.blob_sources.end()) {
      return InternalError("the server asked for blob " + sha + ", which is not in " +
                           folder_.string());
    }
    Result<std::string> data = ReadFile(source->second);
    if (!data) {
      if (data.error().code() == StatusCode::kNotFound) {
        return Status(StatusCode::kAborted, source->second.string() + " vanished while uploading");
      }
      return data.error();
    }
    if (Sha256Hex(*data) != sha) {
      return Status(StatusCode::kAborted, source->second.string() + " changed while uploading");
    }
    RETURN_IF_ERROR(client.PutBlob(sha, *data));
  }

  std::vector<artifacts::TreeEntry> entries;
  entries.reserve(snap.tree.entries().size());
  for (const auto& e : snap.tree.entries()) {
    // Unchanged files need no new record; only new and changed ones are posted.
    const artifacts::TreeEntry* before = uploaded_ ? uploaded_->Find(e.path) : nullptr;
    if (before != nullptr && *before == e) continue;
    artifacts::TreeEntry named = e;
    named.path = prefix_ + e.path;
    entries.push_back(std::move(named));
  }
  RETURN_IF_ERROR(client.PostArtifacts(entries));
  uploaded_ = std::move(snap.tree);
  return Status::Ok();
}

}  // namespace gantry::runner
