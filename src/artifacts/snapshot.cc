#include "artifacts/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "artifacts/ignore_rules.h"
#include "common/files.h"
#include "common/hashing.h"

namespace gantry::artifacts {
namespace {

// Hashes cached at most this close to the snapshot's start are not trusted later: an edit in
// the same timestamp tick would leave size and mtime unchanged. Two seconds covers
// filesystems with coarse timestamps.
constexpr int64_t kRacyWindowNs = 2'000'000'000;

constexpr std::string_view kCacheHeader = "gantry-snapshot-cache 1\n";

struct CachedHash {
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha;
  bool operator==(const CachedHash&) const = default;
};
// Relative path -> hash of the content it had at that size and mtime.
using HashCache = std::map<std::string, CachedHash, std::less<>>;

// Cache format: the header line, then per file "<sha> <size> <mtime_ns> <path length>\n"
// followed by the path and "\n"; the length prefix lets paths hold any byte.
std::string SerializeCache(const HashCache& cache) {
  std::string out(kCacheHeader);
  for (const auto& [path, h] : cache) {
    out += h.sha + ' ' + std::to_string(h.size) + ' ' + std::to_string(h.mtime_ns) + ' ' +
           std::to_string(path.size()) + '\n' + path + '\n';
  }
  return out;
}

// Empty on any damage: a cache only saves time, so a bad one is dropped, not repaired.
HashCache ParseCache(std::string_view data) {
  if (!data.starts_with(kCacheHeader)) return {};
  data.remove_prefix(kCacheHeader.size());
  HashCache cache;
  auto number = [&](auto& out, char sep) {
    auto [end, ec] = std::from_chars(data.data(), data.data() + data.size(), out);
    if (ec != std::errc() || end == data.data() + data.size() || *end != sep) return false;
    data.remove_prefix(static_cast<size_t>(end - data.data()) + 1);
    return true;
  };
  while (!data.empty()) {
    CachedHash h;
    size_t path_len = 0;
    if (data.size() < 65 || data[64] != ' ' || !IsSha256Hex(data.substr(0, 64))) return {};
    h.sha = data.substr(0, 64);
    data.remove_prefix(65);
    if (!number(h.size, ' ') || !number(h.mtime_ns, ' ') || !number(path_len, '\n')) return {};
    if (data.size() <= path_len || data[path_len] != '\n') return {};
    cache.emplace(std::string(data.substr(0, path_len)), std::move(h));
    data.remove_prefix(path_len + 1);
  }
  return cache;
}

Status ErrnoStatus(int e, const std::string& what) {
  return Status(e == EACCES || e == EPERM ? StatusCode::kPermissionDenied : StatusCode::kInternal,
                what + ": " + std::strerror(e));
}

struct FoundFile {
  std::string rel;
  fs::path abs;
  int64_t size;
  int64_t mtime_ns;
  uint32_t mode;
  // For a link kept as a link: its target as readlink(2) gives it.
  std::optional<std::string> link;
};

// The target of the link at `abs`. An absolute target inside `root` becomes relative to the
// link's folder; any other absolute target stays as it is (and Tree::Add refuses it).
Result<std::string> LinkTarget(const fs::path& root, const fs::path& abs) {
  std::error_code ec;
  fs::path target = fs::read_symlink(abs, ec);
  if (ec) return Err(InternalError("cannot read the link " + abs.string() + ": " + ec.message()));
  if (!target.is_absolute()) return target.string();
  fs::path normal = target.lexically_normal();
  fs::path inside = normal.lexically_relative(root);
  if (inside.empty() || *inside.begin() == "..") return target.string();
  return normal.lexically_relative(abs.parent_path()).string();
}

// Collects the files of a folder tree that the ignore files let through. Reads each folder's
// ignore file before judging its entries, and never enters an ignored folder.
class Walker {
 public:
  explicit Walker(SnapshotOptions::Links links) : links_(links) {}

  Status Walk(const fs::path& abs, const std::string& rel) {
    DIR* dir = ::opendir(abs.c_str());
    if (dir == nullptr) return ErrnoStatus(errno, "cannot read folder " + abs.string());
    std::vector<std::string> names;
    while (const dirent* d = ::readdir(dir)) {
      std::string_view name = d->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    for (std::string_view ignore_file : IgnoreRules::kFileNames) {
      if (std::find(names.begin(), names.end(), ignore_file) == names.end()) continue;
      Result<std::string> content = ReadFile(abs / ignore_file);
      if (!content) {
        ::closedir(dir);
        return content.error();
      }
      rules_.AddPatternsFromFile(rel, *content);
      break;
    }
    std::vector<std::string> subdirs;
    for (const std::string& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      // Entries that vanish mid-walk, and broken symlinks, are skipped.
      if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      bool is_link = S_ISLNK(st.st_mode);
      if (is_link && links_ == SnapshotOptions::Links::kKeepInside) {
        // Never followed, so whether it names a folder is unknown: a pattern for either
        // kind ("data/" as well as "data") leaves it out.
        if (rules_.Excludes(child, /*is_dir=*/false) || rules_.Excludes(child, /*is_dir=*/true)) {
          continue;
        }
        files_.push_back(FoundFile{.rel = std::move(child),
                                   .abs = abs / name,
                                   .size = 0,
                                   .mtime_ns = 0,
                                   .mode = 0644,
                                   .link = std::string()});
        continue;
      }
      if (is_link && ::fstatat(::dirfd(dir), name.c_str(), &st, 0) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        if (!is_link && !rules_.Excludes(child, /*is_dir=*/true)) subdirs.push_back(name);
      } else if (S_ISREG(st.st_mode) && !rules_.Excludes(child, /*is_dir=*/false)) {
        files_.push_back(FoundFile{
            .rel = std::move(child),
            .abs = abs / name,
            .size = static_cast<int64_t>(st.st_size),
            .mtime_ns =
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            .mode = (st.st_mode & S_IXUSR) != 0 ? 0755u : 0644u,
        });
      }
    }
    ::closedir(dir);
    for (const std::string& name : subdirs) {
      RETURN_IF_ERROR(Walk(abs / name, rel.empty() ? name : rel + "/" + name));
    }
    return Status::Ok();
  }

  std::vector<FoundFile>& files() { return files_; }

 private:
  SnapshotOptions::Links links_;
  IgnoreRules rules_;
  std::vector<FoundFile> files_;
};

}  // namespace

Result<Snapshot> TakeSnapshot(const SnapshotOptions& options) {
  const int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  struct stat st;
  if (::stat(options.root.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Err(NotFoundError("snapshot folder does not exist: " + options.root.string()));
    }
    return Err(ErrnoStatus(errno, "cannot read " + options.root.string()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Err(InvalidArgumentError("snapshot root is not a folder: " + options.root.string()));
  }

  Walker walker(options.links);
  RETURN_IF_ERROR(walker.Walk(options.root, ""));
  const fs::path root = fs::absolute(options.root).lexically_normal();
  std::vector<FoundFile>& files = walker.files();
  // Sorted input makes each Tree::Add an append.
  std::sort(files.begin(), files.end(),
            [](const FoundFile& a, const FoundFile& b) { return a.rel < b.rel; });

  HashCache old_cache;
  if (!options.cache_file.empty()) {
    if (Result<std::string> data = ReadFile(options.cache_file)) old_cache = ParseCache(*data);
  }
  HashCache new_cache;
  Snapshot snap;
  for (FoundFile& f : files) {
    if (f.link) {
      ASSIGN_OR_RETURN(std::string target, LinkTarget(root, fs::absolute(f.abs)));
      TreeEntry link = LinkEntry(f.rel, target);
      snap.link_blobs.try_emplace(link.blob, target);
      if (Status added = snap.tree.Add(std::move(link)); !added.ok()) {
        return Err(InvalidArgumentError(
            "'" + f.rel + "' is a symlink to '" + target + "', which leads outside " +
            options.root.string() + " (" + added.message() +
            "); snapshots never follow links out of the folder: copy the file in, or list it "
            "in .gantryignore"));
      }
      continue;
    }
    std::string sha;
    auto hit = old_cache.find(f.rel);
    if (hit != old_cache.end() && hit->second.size == f.size &&
        hit->second.mtime_ns == f.mtime_ns) {
      sha = hit->second.sha;
    } else {
      Result<std::string> hashed = Sha256File(f.abs);
      if (!hashed) {
        if (hashed.error().code() == StatusCode::kNotFound) continue;  // Deleted mid-walk.
        return Err(hashed.error());
      }
      sha = std::move(*hashed);
      ++snap.hashed_files;
    }
    if (f.mtime_ns < start_ns - kRacyWindowNs) {
      new_cache.emplace(f.rel, CachedHash{.size = f.size, .mtime_ns = f.mtime_ns, .sha = sha});
    }
    snap.blob_sources.try_emplace(sha, f.abs);
    RETURN_IF_ERROR(snap.tree.Add(
        TreeEntry{.path = std::move(f.rel), .blob = sha, .size = f.size, .mode = f.mode}));
  }

  if (Status links = snap.tree.CheckLinks(); !links.ok()) {
    return Err(InvalidArgumentError(links.message() + " of " + options.root.string() +
                                    "; snapshots never follow links out of the folder"));
  }

  if (!options.cache_file.empty() && new_cache != old_cache) {
    // Best effort: a cache that cannot be written only costs time on the next snapshot.
    if (MakeDirs(options.cache_file.parent_path()).ok()) {
      // The hash cache only saves time: without it the next snapshot hashes again.
      (void)WriteFileAtomic(options.cache_file, SerializeCache(new_cache));
    }
  }
  return snap;
}

}  // namespace gantry::artifacts
