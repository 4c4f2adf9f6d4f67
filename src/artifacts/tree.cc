#include "artifacts/tree.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/files.h"
#include "common/hashing.h"
#include "common/json.h"

namespace gantry::artifacts {
namespace {

// Strict UTF-8 (no overlong forms, no surrogates), as nlohmann::json requires to dump.
bool IsValidUtf8(std::string_view s) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = byte(i);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = i + 1; k <= i + n; ++k) {
      if ((byte(k) & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (byte(k) & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// For error messages, which end up in JSON too: bytes of invalid UTF-8 become "\xNN".
std::string Printable(std::string_view path) {
  if (IsValidUtf8(path)) return std::string(path);
  std::string out;
  for (char c : path) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
    }
  }
  return out;
}

// Beyond IsSafeRelativePath: one spelling per file ("a/b", not "a//b", "./a/b" or "a/b/").
bool IsCanonicalPath(std::string_view path) {
  if (!IsSafeRelativePath(path)) return false;
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view part = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (part.empty() || part == ".") return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

}  // namespace

Status Tree::Add(TreeEntry entry) {
  const std::string& path = entry.path;
  // UTF-8 keeps the manifest valid JSON.
  if (!IsValidUtf8(path)) {
    return InvalidArgumentError("path is not valid UTF-8: \"" + Printable(path) + "\"");
  }
  if (!IsCanonicalPath(path)) return InvalidArgumentError("unsafe path in tree: \"" + path + "\"");
  if (!IsSha256Hex(entry.blob)) {
    return InvalidArgumentError("\"" + path + "\": blob is not a SHA-256 hex digest");
  }
  if (entry.size < 0) return InvalidArgumentError("\"" + path + "\": negative size");
  if ((entry.mode & ~0777u) != 0) return InvalidArgumentError("\"" + path + "\": bad mode");
  auto less = [](const TreeEntry& e, std::string_view p) { return e.path < p; };
  // A file may not sit where another entry needs a folder.
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (Find(std::string_view(path).substr(0, slash)) != nullptr) {
      return InvalidArgumentError("\"" + path + "\": \"" + path.substr(0, slash) +
                                  "\" is a file in this tree");
    }
  }
  std::string as_dir = path + "/";
  auto below = std::lower_bound(entries_.begin(), entries_.end(), as_dir, less);
  if (below != entries_.end() && below->path.starts_with(as_dir)) {
    return InvalidArgumentError("\"" + path + "\" is a folder in this tree");
  }
  auto it = std::lower_bound(entries_.begin(), entries_.end(), path, less);
  if (it != entries_.end() && it->path == path) {
    return InvalidArgumentError("duplicate path in tree: \"" + path + "\"");
  }
  entries_.insert(it, std::move(entry));
  return Status::Ok();
}

const TreeEntry* Tree::Find(std::string_view path) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), path,
                             [](const TreeEntry& e, std::string_view p) { return e.path < p; });
  return it != entries_.end() && it->path == path ? &*it : nullptr;
}

int64_t Tree::TotalBytes() const {
  int64_t total = 0;
  for (const auto& e : entries_) total += e.size;
  return total;
}

std::string Tree::ToJson() const {
  Json list = Json::array();
  for (const auto& e : entries_) {
    list.push_back({{"path", e.path}, {"blob", e.blob}, {"size", e.size}, {"mode", e.mode}});
  }
  // Add() admits only UTF-8 paths and hex blobs, so dump() cannot throw.
  return Json{{"entries", std::move(list)}}.dump();
}

Result<Tree> Tree::FromJson(std::string_view json) {
  ASSIGN_OR_RETURN(Json doc, ParseJson(json, "tree manifest"));
  if (!doc.is_object() || !doc.contains("entries") || !doc["entries"].is_array()) {
    return Err(InvalidArgumentError("tree manifest has no \"entries\" list"));
  }
  Tree tree;
  for (const Json& item : doc["entries"]) {
    if (!item.is_object()) return Err(InvalidArgumentError("tree entry is not an object"));
    ASSIGN_OR_RETURN(std::string path, GetString(item, "path"));
    auto fail = [&](std::string what) {
      return Err(InvalidArgumentError("tree entry \"" + path + "\": " + what));
    };
    Result<std::string> blob = GetString(item, "blob");
    if (!blob) return fail(blob.error().message());
    Result<int64_t> size = GetInt(item, "size");
    if (!size) return fail(size.error().message());
    Result<int64_t> mode = GetInt(item, "mode", 0644);
    if (!mode) return fail(mode.error().message());
    if (*mode < 0 || *mode > 0777) return fail("bad mode");
    RETURN_IF_ERROR(tree.Add(TreeEntry{.path = path,
                                       .blob = std::move(*blob),
                                       .size = *size,
                                       .mode = static_cast<uint32_t>(*mode)}));
  }
  return tree;
}

Result<std::string> StoreTree(BlobStore& store, const Tree& tree) {
  return store.Put(tree.ToJson());
}

Result<Tree> LoadTree(BlobStore& store, std::string_view id) {
  Result<std::string> manifest = store.Get(id);
  if (!manifest) {
    if (manifest.error().code() == StatusCode::kNotFound) {
      return Err(NotFoundError("no tree " + std::string(id)));
    }
    return Err(manifest.error());
  }
  Result<Tree> tree = Tree::FromJson(*manifest);
  if (!tree) return Err(tree.error().WithPrefix("tree " + std::string(id)));
  return tree;
}

Status MaterializeTree(BlobStore& store, const Tree& tree, const fs::path& dest) {
  for (const TreeEntry& e : tree.entries()) {
    ASSIGN_OR_RETURN(fs::path source, store.PathOf(e.blob));
    std::error_code ec;
    auto size = fs::file_size(source, ec);
    if (ec || static_cast<int64_t>(size) != e.size) {
      return DataLossError("blob " + e.blob + " for \"" + e.path + "\" has the wrong size");
    }
    fs::path target = dest / e.path;
    RETURN_IF_ERROR(MakeDirs(target.parent_path()));
    // Removing first means an existing symlink is replaced, not written through, and a
    // read-only file left by an earlier run does not block the copy.
    fs::remove(target, ec);
    fs::copy_file(source, target, ec);
    if (!ec) fs::permissions(target, static_cast<fs::perms>(e.mode), ec);
    if (ec) return InternalError("cannot write " + target.string() + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace gantry::artifacts
