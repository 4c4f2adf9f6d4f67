#include "runner/artifact_transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "artifacts/snapshot.h"
#include "common/files.h"
#include "common/hashing.h"

namespace gantry::runner {
namespace {

Status WriteFileWithMode(const fs::path& path, std::string_view data, uint32_t mode) {
  RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  // Removing first replaces a symlink instead of writing through it, and a read-only file
  // left by an earlier attempt does not block the write.
  std::error_code ec;
  fs::remove(path, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return InternalError("cannot create " + path.string() + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return InternalError("cannot write " + path.string() + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  // fchmod, not open's mode: the umask must not strip bits the tree recorded.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0 || ::close(fd) != 0) {
    return InternalError("cannot finish " + path.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<artifacts::Tree> DownloadTree(RunClient& client, const std::string& id,
                                     const fs::path& dest, artifacts::BlobStore* cache) {
  ASSIGN_OR_RETURN(artifacts::Tree tree, client.GetTree(id));
  RETURN_IF_ERROR(MakeDirs(dest));
  // Identical files are fetched once and copied.
  std::map<std::string, fs::path> written;
  for (const artifacts::TreeEntry& e : tree.entries()) {
    // Tree::FromJson already refused unsafe paths; this is the last line before writing.
    if (!IsSafeRelativePath(e.path)) {
      return Err(InvalidArgumentError("unsafe path in tree " + id + ": " + e.path));
    }
    const fs::path target = dest / e.path;
    if (auto it = written.find(e.blob); it != written.end()) {
      ASSIGN_OR_RETURN(std::string data, ReadFile(it->second));
      RETURN_IF_ERROR(WriteFileWithMode(target, data, e.mode));
      continue;
    }
    if (cache != nullptr && cache->Has(e.blob)) {
      auto cached = cache->Get(e.blob);
      if (cached.has_value() && static_cast<int64_t>(cached->size()) == e.size) {
        RETURN_IF_ERROR(WriteFileWithMode(target, *cached, e.mode));
        written.emplace(e.blob, target);
        continue;
      }
    }
    ASSIGN_OR_RETURN(std::string data, client.GetBlob(e.blob));
    if (static_cast<int64_t>(data.size()) != e.size || Sha256Hex(data) != e.blob) {
      return Err(DataLossError("blob " + e.blob + " for '" + e.path +
                               "' does not match its name or size"));
    }
    RETURN_IF_ERROR(WriteFileWithMode(target, data, e.mode));
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
  ASSIGN_OR_RETURN(artifacts::Snapshot snap,
                   artifacts::TakeSnapshot({.root = folder_, .cache_file = cache_file_}));
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
