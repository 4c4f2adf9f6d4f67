// DownloadFolder: writes the files and links of a tree that came from elsewhere (a server, a
// run's listing) into a local folder without hurting what is already there.
//
// Every entry is checked before the first byte is written, so a refused tree leaves the
// folder as it was: no ".git" or ".gantry" part (a download must not plant hooks or
// workspace credentials), links that stay inside the tree (Tree::CheckLinks), no folder on
// the way that is a symlink or a file, and no existing file unless overwriting was asked
// for. Writing then opens each folder below the root without following symlinks, writes a
// temporary file, sets the mode masked to 0777 (never setuid, setgid or sticky) and renames
// it into place, so a reader never sees half a file and a symlink at the final name is
// replaced, not written through. Only the root itself may be a symlink: the user named it.
//
// Thread-compatible: one owner.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "artifacts/tree.h"
#include "common/status.h"

namespace gantry::artifacts {

struct DownloadFolderOptions {
  // Replace files (and links) already at an entry's path. Default false: AlreadyExists.
  bool overwrite = false;
  // What to call the flag that allows overwriting in error messages ("--overwrite").
  std::string overwrite_hint = "--overwrite";
};

class DownloadFolder {
 public:
  // Checks `tree` against folder `root` (which need not exist yet) and creates `root`.
  // InvalidArgument naming the path for a ".git" or ".gantry" part, a link that leads
  // outside the tree, or a folder on the way that is a symlink or a file; AlreadyExists
  // naming the path for an existing entry (unless options.overwrite) or a folder where a
  // file or link should go.
  static Result<DownloadFolder> Open(fs::path root, const Tree& tree,
                                     DownloadFolderOptions options = {});

  // Writes `entry` (one of the tree's, not a link) with content `data`.
  Status WriteFile(const TreeEntry& entry, std::string_view data);
  // Writes `entry` with the content of local file `source` (streamed, not held in memory).
  Status CopyFile(const TreeEntry& entry, const fs::path& source);
  // Creates `entry` (a link entry of the tree) as a symlink to its target.
  Status WriteLink(const TreeEntry& entry);

  const fs::path& root() const { return root_; }

 private:
  DownloadFolder(fs::path root, DownloadFolderOptions options)
      : root_(std::move(root)), options_(std::move(options)) {}

  // Opens (creating as needed) the folder that holds `rel`, never following a symlink below
  // the root. Returns an owned file descriptor.
  Result<int> OpenParent(std::string_view rel);
  // Creates a temporary file next to `entry`'s path, lets `fill` write it (returning 0 or
  // an errno), sets the mode and renames it into place.
  Status WriteWith(const TreeEntry& entry, const std::function<int(int)>& fill);
  // Renames `tmp` over `name` in folder `dir`, refusing to replace unless overwriting.
  Status Place(int dir, const std::string& tmp, const std::string& name, std::string_view rel);

  fs::path root_;
  DownloadFolderOptions options_;
};

// True when `path` has a part that is ".git" or ".gantry" in any letter case.
bool HasReservedPart(std::string_view path);

}  // namespace gantry::artifacts
