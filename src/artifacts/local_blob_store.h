// LocalBlobStore: a BlobStore in a local folder, one read-only file per blob.
//
// Layout: root/ab/cdef... holds the blob whose SHA-256 is "abcdef..." (the first two hex
// digits name a shard folder); root/tmp/ holds writes in progress. A write goes to a temp
// file, is fsynced, and is renamed into place, so a crash or a killed upload never leaves a
// partial blob visible. Temp files left by dead writers are removed at Open(). An upload
// streamed to a file in root/tmp/ is hashed and renamed into place (PutFileExpecting).
//
// Thread-safety: thread-safe, and several processes may share one root: rename is atomic,
// so concurrent writes of the same blob both succeed with identical results.
#pragma once

#include <memory>

#include "artifacts/blob_store.h"

namespace gantry::artifacts {

class LocalBlobStore : public BlobStore {
 public:
  // Opens (creating if needed) the store rooted at `root`. Internal when the folders cannot
  // be created.
  static Result<std::unique_ptr<LocalBlobStore>> Open(const fs::path& root);

  bool Has(std::string_view sha) override;
  Result<std::unique_ptr<BlobWriter>> NewWriter() override;
  Result<std::string> Get(std::string_view sha) override;
  Result<fs::path> PathOf(std::string_view sha) override;
  Result<int64_t> SizeOf(std::string_view sha) override;
  // Hashes the file and renames it into place when it is on the store's filesystem (put it
  // in temp_dir() for that), so a large upload is not copied again.
  Status PutFileExpecting(std::string_view sha, const fs::path& path) override;

  const fs::path& root() const { return root_; }
  // root/tmp/: where a file for PutFileExpecting can be renamed from. A file left there is
  // removed at the next Open() unless it is flock()ed (by a writer still alive).
  fs::path temp_dir() const { return root_ / "tmp"; }

 private:
  explicit LocalBlobStore(fs::path root) : root_(std::move(root)) {}

  const fs::path root_;
};

}  // namespace gantry::artifacts
