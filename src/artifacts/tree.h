// Tree: an immutable-once-built listing of files (relative path -> blob, size, mode) that
// describes a code snapshot, a dataset version or a run's outputs. Its canonical JSON
// manifest is itself stored as a blob; that blob's SHA-256 is the tree id, so equal trees
// have equal ids.
//
// Thread-safety: a Tree is a value; const methods may be called concurrently, Add() needs
// exclusive access. The free functions are as thread-safe as the BlobStore passed in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/blob_store.h"
#include "common/status.h"

namespace gantry::artifacts {

struct TreeEntry {
  // Relative path with '/' separators, e.g. "src/train.py"; never absolute, never "..".
  std::string path;
  // SHA-256 hex of the content.
  std::string blob;
  int64_t size = 0;
  // Permission bits, 0644 or 0755 in snapshots.
  uint32_t mode = 0644;

  bool operator==(const TreeEntry&) const = default;
};

class Tree {
 public:
  // Adds a file. InvalidArgument when the path is unsafe (absolute, "..", empty or "."
  // components, not UTF-8), the blob is not SHA-256 hex, size is negative, mode has bits
  // beyond 0777, the path is already present, or it clashes with a file used as a folder
  // (adding "a/b" when "a" is a file, or the reverse).
  Status Add(TreeEntry entry);

  // Canonical manifest: compact JSON {"entries":[{"blob","mode","path","size"}...]}, entries
  // sorted by path, object keys sorted. Same tree, same bytes.
  std::string ToJson() const;
  // Parses and validates a manifest, as Add() does for each entry. InvalidArgument naming
  // the offending entry's path (or the JSON problem) otherwise.
  static Result<Tree> FromJson(std::string_view json);

  // Entry at `path`, or nullptr.
  const TreeEntry* Find(std::string_view path) const;
  // Sum of entry sizes.
  int64_t TotalBytes() const;
  // Sorted by path (byte order).
  const std::vector<TreeEntry>& entries() const { return entries_; }

  bool operator==(const Tree&) const = default;

 private:
  std::vector<TreeEntry> entries_;
};

// Stores the tree's manifest as a blob and returns its SHA-256: the tree id.
Result<std::string> StoreTree(BlobStore& store, const Tree& tree);
// Loads the tree with id `id`. NotFound when no such blob, InvalidArgument when the blob is
// not a valid manifest.
Result<Tree> LoadTree(BlobStore& store, std::string_view id);
// Writes every file of `tree` under `dest` (created if needed) with its mode, replacing
// files already there. NotFound when a blob is missing, DataLoss when a blob's size does not
// match its entry. `dest` must be a folder the caller trusts (symlinked subfolders in it are
// followed).
Status MaterializeTree(BlobStore& store, const Tree& tree, const fs::path& dest);

}  // namespace gantry::artifacts
