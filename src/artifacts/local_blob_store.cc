#include "artifacts/local_blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/files.h"
#include "common/hashing.h"

namespace gantry::artifacts {
namespace {

std::string Errno(int e) { return std::strerror(e); }

Status ValidateName(std::string_view sha) {
  if (IsSha256Hex(sha)) return Status::Ok();
  return InvalidArgumentError("not a SHA-256 hex digest: \"" + std::string(sha) + "\"");
}

Status SyncFolder(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return InternalError("cannot open " + dir.string() + ": " + Errno(errno));
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return InternalError("cannot flush " + dir.string() + ": " + Errno(e));
  return Status::Ok();
}

fs::path BlobPathIn(const fs::path& root, std::string_view sha) {
  return root / sha.substr(0, 2) / sha.substr(2);
}

// Writes to a temp file under root/tmp/ and renames it into root/ab/cdef... on Commit().
// The temp file is flock()ed for the writer's lifetime so that Open() in another process can
// tell an abandoned temp file (lock free: its writer died) from one still being written.
class LocalBlobWriter : public BlobWriter {
 public:
  LocalBlobWriter(LocalBlobStore* store, fs::path tmp, int fd)
      : store_(store), tmp_(std::move(tmp)), fd_(fd) {}
  ~LocalBlobWriter() override { Discard(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return FailedPreconditionError("blob writer already committed or failed");
    hash_.Update(data);
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        Discard();
        return InternalError("cannot write " + tmp_.string() + ": " + Errno(e));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Result<std::string> Commit(std::string_view expected_sha) override {
    if (fd_ < 0) return Err(FailedPreconditionError("blob writer already committed or failed"));
    if (!expected_sha.empty() && !IsSha256Hex(expected_sha)) {
      Discard();
      return Err(ValidateName(expected_sha));
    }
    std::string sha = hash_.Final();
    if (!expected_sha.empty() && sha != expected_sha) {
      Discard();
      return Err(InvalidArgumentError("content hashes to " + sha + ", expected " +
                                      std::string(expected_sha)));
    }
    if (store_->Has(sha)) {
      Discard();
      return sha;
    }
    // Blobs are immutable; read-only files guard against accidental edits in place.
    if (::fchmod(fd_, 0444) != 0 || ::fsync(fd_) != 0) {
      int e = errno;
      Discard();
      return Err(InternalError("cannot flush " + tmp_.string() + ": " + Errno(e)));
    }
    fs::path dest = BlobPathIn(store_->root(), sha);
    fs::path shard = dest.parent_path();
    Status made = MakeDirs(shard);
    if (!made.ok()) {
      Discard();
      return Err(made);
    }
    // rename() replaces atomically, so a concurrent commit of the same blob is harmless.
    if (::rename(tmp_.c_str(), dest.c_str()) != 0) {
      int e = errno;
      Discard();
      return Err(InternalError("cannot rename to " + dest.string() + ": " + Errno(e)));
    }
    ::close(fd_);
    fd_ = -1;
    RETURN_IF_ERROR(SyncFolder(shard));
    return sha;
  }

 private:
  void Discard() {
    if (fd_ < 0) return;
    ::unlink(tmp_.c_str());
    ::close(fd_);
    fd_ = -1;
  }

  LocalBlobStore* store_;
  fs::path tmp_;
  int fd_;
  Sha256 hash_;
};

// Removes temp files whose writer is gone: their flock can be taken.
void RemoveAbandonedTempFiles(const fs::path& tmp_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp_dir, ec)) {
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(entry.path().c_str());
    ::close(fd);
  }
}

}  // namespace

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(const fs::path& root) {
  RETURN_IF_ERROR(MakeDirs(root / "tmp"));
  RemoveAbandonedTempFiles(root / "tmp");
  return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(root));
}

bool LocalBlobStore::Has(std::string_view sha) {
  struct stat st;
  return IsSha256Hex(sha) && ::stat(BlobPathIn(root_, sha).c_str(), &st) == 0 &&
         S_ISREG(st.st_mode);
}

Result<std::unique_ptr<BlobWriter>> LocalBlobStore::NewWriter() {
  std::string templ = (root_ / "tmp" / "blob-XXXXXX").string();
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0)
    return Err(
        InternalError("cannot create temp file in " + root_.string() + "/tmp: " + Errno(errno)));
  // Cannot fail on a fresh descriptor of a local file; if it did, Open() elsewhere might
  // reap this file, and Commit() would then report the failed rename.
  (void)::flock(fd, LOCK_EX | LOCK_NB);
  return std::make_unique<LocalBlobWriter>(this, fs::path(templ), fd);
}

Status LocalBlobStore::PutFileExpecting(std::string_view sha, const fs::path& path) {
  RETURN_IF_ERROR(ValidateName(sha));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    if (fd >= 0 || e == ENOENT || e == ELOOP)
      return NotFoundError("no regular file " + path.string());
    return InternalError("cannot open " + path.string() + ": " + Errno(e));
  }
  Sha256 hash;
  std::string chunk(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return InternalError("cannot read " + path.string() + ": " + Errno(e));
    }
    if (n == 0) break;
    hash.Update(std::string_view(chunk.data(), static_cast<size_t>(n)));
  }
  std::string actual = hash.Final();
  if (actual != sha) {
    ::close(fd);
    return InvalidArgumentError("content hashes to " + actual + ", expected " + std::string(sha));
  }
  if (Has(sha)) {
    ::close(fd);
    ::unlink(path.c_str());
    return Status::Ok();
  }
  // Blobs are immutable; read-only files guard against accidental edits in place.
  if (::fchmod(fd, 0444) != 0 || ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return InternalError("cannot flush " + path.string() + ": " + Errno(e));
  }
  ::close(fd);
  fs::path dest = BlobPathIn(root_, sha);
  RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
  // rename() replaces atomically, so a concurrent put of the same blob is harmless.
  if (::rename(path.c_str(), dest.c_str()) != 0) {
    int e = errno;
    ::chmod(path.c_str(), 0600);
    // Another filesystem: copy through a writer instead.
    if (e == EXDEV) return BlobStore::PutFileExpecting(sha, path);
    return InternalError("cannot rename " + path.string() + " to " + dest.string() + ": " +
                         Errno(e));
  }
  return SyncFolder(dest.parent_path());
}

Result<fs::path> LocalBlobStore::PathOf(std::string_view sha) {
  RETURN_IF_ERROR(ValidateName(sha));
  if (!Has(sha)) return Err(NotFoundError("no blob " + std::string(sha)));
  return BlobPathIn(root_, sha);
}

Result<std::string> LocalBlobStore::Get(std::string_view sha) {
  ASSIGN_OR_RETURN(fs::path path, PathOf(sha));
  return ReadFile(path);
}

Result<int64_t> LocalBlobStore::SizeOf(std::string_view sha) {
  RETURN_IF_ERROR(ValidateName(sha));
  struct stat st;
  if (::stat(BlobPathIn(root_, sha).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Err(NotFoundError("no blob " + std::string(sha)));
  }
  return static_cast<int64_t>(st.st_size);
}

}  // namespace gantry::artifacts
