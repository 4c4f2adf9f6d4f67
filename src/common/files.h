// Small filesystem helpers that report failures as Status instead of throwing.
// Thread-safe: stateless functions.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry {

namespace fs = std::filesystem;

// Reads a whole file. NotFound when it does not exist.
Result<std::string> ReadFile(const fs::path& path);
// Writes `data` to `path` atomically: temp file in the same folder, fsync, rename.
// Readers see either the old content or the new, never a half-written file.
Status WriteFileAtomic(const fs::path& path, std::string_view data, unsigned mode = 0644);
// Creates `path` and its parents; OK when it already exists as a folder.
Status MakeDirs(const fs::path& path);
// A fresh, empty folder under the system temp folder, named after `prefix`.
Result<fs::path> MakeTempDir(std::string_view prefix);
// True when `rel` is a relative path that stays inside its root: not absolute, no "..",
// not empty. Used wherever a client names a path inside a run or a tree.
bool IsSafeRelativePath(std::string_view rel);

}  // namespace gantry
