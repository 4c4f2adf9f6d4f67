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

// Caps on what a tree may describe; a manifest beyond them is refused, not truncated.
inline constexpr size_t kMaxTreePathBytes = 4096;                // PATH_MAX
inline constexpr size_t kMaxTreePathPartBytes = 255;             // NAME_MAX
inline constexpr int64_t kMaxTreeEntryBytes = int64_t{1} << 40;  // 1 TiB per file

struct TreeEntry {
  // Relative path with '/' separators, e.g. "src/train.py"; never absolute, never "..".
  std::string path;
  // SHA-256 hex of the content (for a link: of its target text).
  std::string blob;
  int64_t size = 0;
  // Permission bits, 0644 or 0755 in snapshots. Never setuid, setgid or sticky.
  uint32_t mode = 0644;
  // Non-empty: the entry is a symbolic link to this relative target (as readlink(2) gives
  // it), which resolves inside the tree. `blob` and `size` then describe the target text, so
  // a reader that knows nothing of links sees a small file naming the target.
  std::string link;

  bool is_link() const { return !link.empty(); }
  bool operator==(const TreeEntry&) const = default;
};

// A link entry for `path` pointing at `target` (blob and size filled in from the target).
TreeEntry LinkEntry(std::string path, std::string target);

// InvalidArgument naming `path` unless it is a canonical relative tree path: UTF-8, '/'
// separated, no empty, "." or ".." parts, no leading '/', no backslash, NUL or other control
// character, at most kMaxTreePathBytes long with parts of at most kMaxTreePathPartBytes.
// The one rule for every path a client names inside a tree or a run.
Status ValidateTreePath(std::string_view path);

// Validates one entry as Tree::Add does, without the checks against other entries.
Status ValidateTreeEntry(const TreeEntry& entry);

class Tree {
 public:
  // Adds a file or link. InvalidArgument when ValidateTreeEntry() refuses it (unsafe path,
  // blob not SHA-256 hex, size negative or beyond kMaxTreeEntryBytes, mode bits beyond 0777,
  // a link target that is absolute or climbs above the tree's root), the path is already
  // present, or it clashes with a file used as a folder (adding "a/b" when "a" is a file or
  // a link, or the reverse).
  Status Add(TreeEntry entry);

  // InvalidArgument naming the link when a link entry, resolved through the tree's other
  // links as the kernel would once the tree is written out, leads outside the tree or into a
  // loop of links. Add() cannot tell, since the links it depends on may come later.
  Status CheckLinks() const;

  // Canonical manifest: compact JSON {"entries":[{"blob","mode","path","size"}...]} (a link
  // entry also has "link"), entries sorted by path, object keys sorted. Same tree, same bytes.
  std::string ToJson() const;
  // Parses and validates a manifest, as Add() does for each entry and CheckLinks() for the
  // whole; modes are masked to 0777 (a setuid bit is dropped, not kept). InvalidArgument
  // naming the offending entry's path (or the JSON problem) otherwise.
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
// StoreTree for a tree a client uploaded: FailedPrecondition naming the first entry whose blob
// is not in the store yet.
Result<std::string> StoreUploadedTree(BlobStore& store, const Tree& tree);
// Loads the tree with id `id`. NotFound when no such blob, InvalidArgument when the blob is
// not a valid manifest.
Result<Tree> LoadTree(BlobStore& store, std::string_view id);
// Writes every file and link of `tree` under `dest` (created if needed) with its mode,
// replacing files already there (see download_folder.h: nothing is written through a
// symlink). NotFound when a blob is missing, DataLoss when a blob's size does not match its
// entry.
Status MaterializeTree(BlobStore& store, const Tree& tree, const fs::path& dest);

}  // namespace gantry::artifacts
