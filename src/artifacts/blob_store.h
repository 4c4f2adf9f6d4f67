// BlobStore: content-addressed storage for the bytes behind code snapshots, datasets, run
// outputs and models. A blob is named by the SHA-256 of its content (64 lowercase hex
// digits), so writing the same bytes twice stores them once and a name never changes
// meaning. Writes are all-or-nothing: a blob becomes visible only once its full content has
// been written, flushed and verified.
//
// Thread-safety: implementations must be thread-safe (LocalBlobStore is). A BlobWriter is
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry::artifacts {

namespace fs = std::filesystem;

// Streams one blob into a store. Nothing is visible to readers until Commit() succeeds;
// destroying a writer that was not committed discards what was appended. A writer must not
// outlive the store that made it.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;

  // Appends bytes. FailedPrecondition after Commit(); Internal on I/O failure.
  virtual Status Append(std::string_view data) = 0;
  // Flushes the content and makes it visible under its SHA-256, which is returned. When
  // `expected_sha` is not empty and the content hashes to something else, returns
  // InvalidArgument naming both hashes and stores nothing. Committing content the store
  // already has is a cheap no-op. Call at most once (FailedPrecondition otherwise).
  virtual Result<std::string> Commit(std::string_view expected_sha = "") = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // True when a blob named `sha` is stored; false for malformed names.
  virtual bool Has(std::string_view sha) = 0;
  // Starts a streaming write. Internal when the store cannot create a temp file.
  virtual Result<std::unique_ptr<BlobWriter>> NewWriter() = 0;
  // The whole content. InvalidArgument for a malformed name, NotFound naming `sha` when
  // absent.
  virtual Result<std::string> Get(std::string_view sha) = 0;
  // A local file holding the content, for streaming reads; it must not be modified.
  // InvalidArgument for a malformed name, NotFound naming `sha` when absent.
  virtual Result<fs::path> PathOf(std::string_view sha) = 0;
  // Content length in bytes. Errors as for Get().
  virtual Result<int64_t> SizeOf(std::string_view sha) = 0;

  // Stores `data` and returns its SHA-256. A no-op when already stored.
  Result<std::string> Put(std::string_view data);
  // Stores `data`, which the caller claims hashes to `sha` (e.g. an upload). InvalidArgument
  // when `sha` is malformed or the content hashes to something else (naming both hashes);
  // nothing is stored then.
  Status PutExpecting(std::string_view sha, std::string_view data);
  // Stores the content of the local regular file at `path`, which the caller claims hashes to
  // `sha` (e.g. an upload streamed to disk), taking the file over: on success it is gone from
  // `path` (moved into the store where it can be, else copied and removed). InvalidArgument
  // when `sha` is malformed or the content hashes to something else (naming both hashes);
  // NotFound when `path` is not a regular file; Internal on I/O failure. On any error nothing
  // is stored and the file is left where it is.
  virtual Status PutFileExpecting(std::string_view sha, const fs::path& path);
};

}  // namespace gantry::artifacts
