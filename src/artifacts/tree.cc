#include "artifacts/tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "artifacts/download_folder.h"
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

// For error messages, which end up in JSON and terminals: bytes of invalid UTF-8 and control
// characters become "\xNN", so a hostile path can neither break the JSON nor forge lines.
std::string Printable(std::string_view path) {
  const bool utf8 = IsValidUtf8(path);
  std::string out;
  for (char c : path) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f || (b >= 0x80 && !utf8)) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
    } else {
      out += c;
    }
  }
  return out;
}

// Splits on '/', keeping empty parts.
std::vector<std::string_view> Parts(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    parts.push_back(path.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Text that may name a file on any client: no NUL, no control characters (a newline in a
// name forges lines in logs and listings), no backslash (a separator on Windows).
bool HasForbiddenByte(std::string_view s) {
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f || c == '\\') return true;
  }
  return false;
}

std::string Quote(std::string_view path) { return "\"" + Printable(path) + "\""; }

// Lexical check of a link target: relative, and never above the tree's root when walked from
// the folder that holds the link.
Status ValidateLinkTarget(std::string_view path, std::string_view target) {
  auto fail = [&](std::string why) {
    return InvalidArgumentError("link " + Quote(path) + " -> " + Quote(target) + ": " + why);
  };
  if (target.empty()) return fail("empty target");
  if (target.size() > kMaxTreePathBytes) return fail("target too long");
  if (!IsValidUtf8(target) || HasForbiddenByte(target)) return fail("unsafe characters");
  if (target.front() == '/') return fail("absolute target; links must stay inside the tree");
  int64_t depth = static_cast<int64_t>(Parts(path).size()) - 1;
  for (std::string_view part : Parts(target)) {
    if (part.size() > kMaxTreePathPartBytes) return fail("a part of the target is too long");
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (--depth < 0) return fail("target leads outside the tree");
    } else {
      ++depth;
    }
  }
  return Status::Ok();
}

// Resolves link targets through the tree's other links, as the kernel would on the written
// tree, remembering where each link leads so that every target is walked once.
class LinkResolver {
 public:
  explicit LinkResolver(const Tree& tree) : tree_(tree) {}

  // Where link `e` leads, as parts below the root; nullopt when it leaves the tree, loops,
  // or needs more than kMaxHops nested links (the kernel's MAXSYMLINKS).
  std::optional<std::vector<std::string>> Resolve(const TreeEntry& e, int nesting = 0) {
    if (auto it = done_.find(e.path); it != done_.end()) return it->second;
    if (nesting > kMaxHops || !active_.insert(e.path).second) return std::nullopt;
    std::vector<std::string> at;
    for (std::string_view part : Parts(e.path)) at.emplace_back(part);
    at.pop_back();
    std::optional<std::vector<std::string>> result = Walk(std::move(at), e.link, nesting);
    active_.erase(e.path);
    done_.emplace(e.path, result);
    return result;
  }

 private:
  static constexpr int kMaxHops = 40;

  std::optional<std::vector<std::string>> Walk(std::vector<std::string> at, std::string_view target,
                                               int nesting) {
    for (std::string_view part : Parts(target)) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (at.empty()) return std::nullopt;
        at.pop_back();
        continue;
      }
      at.emplace_back(part);
      std::string joined;
      for (const auto& p : at) {
        if (!joined.empty()) joined += '/';
        joined += p;
      }
      const TreeEntry* link = tree_.Find(joined);
      if (link == nullptr || !link->is_link()) continue;
      auto next = Resolve(*link, nesting + 1);
      if (!next) return std::nullopt;
      at = *next;
    }
    return at;
  }

  const Tree& tree_;
  std::map<std::string, std::optional<std::vector<std::string>>, std::less<>> done_;
  std::set<std::string, std::less<>> active_;
};

}  // namespace

TreeEntry LinkEntry(std::string path, std::string target) {
  TreeEntry e;
  e.path = std::move(path);
  e.blob = Sha256Hex(target);
  e.size = static_cast<int64_t>(target.size());
  e.mode = 0644;
  e.link = std::move(target);
  return e;
}

Status ValidateTreePath(std::string_view path) {
  // UTF-8 keeps the manifest valid JSON.
  if (!IsValidUtf8(path)) return InvalidArgumentError("path is not valid UTF-8: " + Quote(path));
  auto unsafe = [&](const std::string& why) {
    return InvalidArgumentError("unsafe path in tree: " + Quote(path) + " (" + why + ")");
  };
  if (path.empty()) return unsafe("empty");
  if (path.size() > kMaxTreePathBytes) {
    return unsafe("longer than " + std::to_string(kMaxTreePathBytes) + " bytes");
  }
  if (path.front() == '/') return unsafe("absolute");
  if (HasForbiddenByte(path)) return unsafe("NUL, control character or backslash");
  // One spelling per file: "a/b", not "a//b", "./a/b" or "a/b/".
  for (std::string_view part : Parts(path)) {
    if (part.empty() || part == "." || part == "..") return unsafe("empty, '.' or '..' part");
    if (part.size() > kMaxTreePathPartBytes) {
      return unsafe("a part is longer than " + std::to_string(kMaxTreePathPartBytes) + " bytes");
    }
  }
  return Status::Ok();
}

Status ValidateTreeEntry(const TreeEntry& entry) {
  const std::string& path = entry.path;
  RETURN_IF_ERROR(ValidateTreePath(path));
  if (!IsSha256Hex(entry.blob)) {
    return InvalidArgumentError(Quote(path) + ": blob is not a SHA-256 hex digest");
  }
  if (entry.size < 0) return InvalidArgumentError(Quote(path) + ": negative size");
  if (entry.size > kMaxTreeEntryBytes) {
    return InvalidArgumentError(Quote(path) + ": size " + std::to_string(entry.size) +
                                " is beyond the limit of 1 TiB per file");
  }
  if ((entry.mode & ~0777u) != 0) return InvalidArgumentError(Quote(path) + ": bad mode");
  if (entry.is_link()) {
    RETURN_IF_ERROR(ValidateLinkTarget(path, entry.link));
    if (entry.blob != Sha256Hex(entry.link) ||
        entry.size != static_cast<int64_t>(entry.link.size())) {
      return InvalidArgumentError("link " + Quote(path) +
                                  ": blob and size must be those of the target text");
    }
  }
  return Status::Ok();
}

Status Tree::Add(TreeEntry entry) {
  RETURN_IF_ERROR(ValidateTreeEntry(entry));
  const std::string& path = entry.path;
  auto less = [](const TreeEntry& e, std::string_view p) { return e.path < p; };
  // A file or link may not sit where another entry needs a folder: writing "a/b" after the
  // link "a" would write through the link.
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (const TreeEntry* e = Find(std::string_view(path).substr(0, slash)); e != nullptr) {
      return InvalidArgumentError(Quote(path) + ": " + Quote(e->path) + " is a " +
                                  (e->is_link() ? "link" : "file") + " in this tree");
    }
  }
  std::string as_dir = path + "/";
  auto below = std::lower_bound(entries_.begin(), entries_.end(), as_dir, less);
  if (below != entries_.end() && below->path.starts_with(as_dir)) {
    return InvalidArgumentError(Quote(path) + " is a folder in this tree");
  }
  auto it = std::lower_bound(entries_.begin(), entries_.end(), path, less);
  if (it != entries_.end() && it->path == path) {
    return InvalidArgumentError("duplicate path in tree: " + Quote(path));
  }
  entries_.insert(it, std::move(entry));
  return Status::Ok();
}

Status Tree::CheckLinks() const {
  LinkResolver resolver(*this);
  for (const TreeEntry& e : entries_) {
    if (e.is_link() && !resolver.Resolve(e)) {
      return InvalidArgumentError("link " + Quote(e.path) + " -> " + Quote(e.link) +
                                  " leads outside the tree (or into a loop of links)");
    }
  }
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
    Json item = {{"path", e.path}, {"blob", e.blob}, {"size", e.size}, {"mode", e.mode}};
    // Only links carry the key, so trees without links keep the ids they always had.
    if (e.is_link()) item["link"] = e.link;
    list.push_back(std::move(item));
  }
  // Add() admits only UTF-8 paths, link targets and hex blobs, so dump() cannot throw.
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
    auto fail = [&](const std::string& what) {
      return Err(InvalidArgumentError("tree entry " + Quote(path) + ": " + what));
    };
    Result<std::string> blob = GetString(item, "blob");
    if (!blob) return fail(blob.error().message());
    Result<int64_t> size = GetInt(item, "size");
    if (!size) return fail(size.error().message());
    Result<int64_t> mode = GetInt(item, "mode", 0644);
    if (!mode) return fail(mode.error().message());
    if (*mode < 0 || *mode > 07777) return fail("bad mode");
    Result<std::string> link = GetString(item, "link", "");
    if (!link) return fail(link.error().message());
    if (item.contains("link") && link->empty()) return fail("empty link target");
    // Permission bits only: a setuid, setgid or sticky bit in a manifest is dropped here, so
    // no stored tree carries one.
    RETURN_IF_ERROR(tree.Add(TreeEntry{.path = path,
                                       .blob = std::move(*blob),
                                       .size = *size,
                                       .mode = static_cast<uint32_t>(*mode) & 0777u,
                                       .link = std::move(*link)}));
  }
  RETURN_IF_ERROR(tree.CheckLinks());
  return tree;
}

Result<std::string> StoreTree(BlobStore& store, const Tree& tree) {
  return store.Put(tree.ToJson());
}

Result<std::string> StoreUploadedTree(BlobStore& store, const Tree& tree) {
  for (const auto& e : tree.entries()) {
    if (!store.Has(e.blob)) {
      return Err(
          FailedPreconditionError("blob " + e.blob + " of '" + e.path + "' is not uploaded"));
    }
  }
  return StoreTree(store, tree);
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
  // An earlier attempt's files are replaced (renamed over, so read-only ones do not block).
  ASSIGN_OR_RETURN(DownloadFolder folder,
                   DownloadFolder::Open(dest, tree, DownloadFolderOptions{.overwrite = true}));
  for (const TreeEntry& e : tree.entries()) {
    if (e.is_link()) {
      RETURN_IF_ERROR(folder.WriteLink(e));
      continue;
    }
    ASSIGN_OR_RETURN(fs::path source, store.PathOf(e.blob));
    std::error_code ec;
    auto size = fs::file_size(source, ec);
    if (ec || static_cast<int64_t>(size) != e.size) {
      return DataLossError("blob " + e.blob + " for \"" + e.path + "\" has the wrong size");
    }
    RETURN_IF_ERROR(folder.CopyFile(e, source));
  }
  return Status::Ok();
}

}  // namespace gantry::artifacts
