#include "artifacts/blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/hashing.h"

namespace gantry::artifacts {

Result<std::string> BlobStore::Put(std::string_view data) {
  // Hashing in memory first makes re-storing a known blob cost no disk write.
  std::string sha = Sha256Hex(data);
  if (Has(sha)) return sha;
  ASSIGN_OR_RETURN(auto writer, NewWriter());
  RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit(sha);
}

Status BlobStore::PutExpecting(std::string_view sha, std::string_view data) {
  if (!IsSha256Hex(sha)) {
    return InvalidArgumentError("not a SHA-256 hex digest: \"" + std::string(sha) + "\"");
  }
  std::string actual = Sha256Hex(data);
  if (actual != sha) {
    return InvalidArgumentError("content hashes to " + actual + ", expected " + std::string(sha));
  }
  if (Has(sha)) return Status::Ok();
  ASSIGN_OR_RETURN(auto writer, NewWriter());
  RETURN_IF_ERROR(writer->Append(data));
  Result<std::string> committed = writer->Commit(sha);
  return committed.has_value() ? Status::Ok() : committed.error();
}

Status BlobStore::PutFileExpecting(std::string_view sha, const fs::path& path) {
  if (!IsSha256Hex(sha)) {
    return InvalidArgumentError("not a SHA-256 hex digest: \"" + std::string(sha) + "\"");
  }
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) {
    return NotFoundError("no regular file " + path.string());
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return InternalError("cannot open " + path.string() + ": " + std::strerror(errno));
  auto writer = NewWriter();
  if (!writer.has_value()) {
    ::close(fd);
    return writer.error();
  }
  std::vector<char> chunk(1 << 20);
  while (true) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status failed = InternalError("cannot read " + path.string() + ": " + std::strerror(errno));
      ::close(fd);
      return failed;
    }
    if (n == 0) break;
    Status appended = (*writer)->Append(std::string_view(chunk.data(), static_cast<size_t>(n)));
    if (!appended.ok()) {
      ::close(fd);
      return appended;
    }
  }
  ::close(fd);
  Result<std::string> committed = (*writer)->Commit(sha);
  if (!committed.has_value()) return committed.error();
  fs::remove(path, ec);
  return Status::Ok();
}

}  // namespace gantry::artifacts
