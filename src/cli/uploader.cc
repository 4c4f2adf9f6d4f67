#include "cli/uploader.h"

#include <glob.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "artifacts/snapshot.h"
#include "common/hashing.h"
#include "common/json.h"

namespace gantry::cli {

namespace {

std::string HumanBytes(int64_t n) {
  char buf[32];
  if (n >= (1 << 30)) {
    snprintf(buf, sizeof(buf), "%.1f GB", n / 1073741824.0);
  } else if (n >= (1 << 20)) {
    snprintf(buf, sizeof(buf), "%.1f MB", n / 1048576.0);
  } else if (n >= 1024) {
    snprintf(buf, sizeof(buf), "%.1f KB", n / 1024.0);
  } else {
    snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(n));
  }
  return buf;
}

void DrawProgress(const std::string& what, int64_t done, int64_t total, int64_t files) {
  constexpr int kWidth = 30;
  int filled = total > 0 ? static_cast<int>(kWidth * done / total) : kWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  fprintf(stderr, "\rUploading %s [%s] %s / %s (%lld files)", what.c_str(), bar.c_str(),
          HumanBytes(done).c_str(), HumanBytes(total).c_str(), static_cast<long long>(files));
  fflush(stderr);
}

// `links` holds the blobs of link entries: their target text, never read through the link.
Result<std::string> UploadTree(http::HttpClient& client, const artifacts::Tree& tree,
                               const std::map<std::string, fs::path>& sources,
                               const std::map<std::string, std::string>& links,
                               const std::string& what, UploadStats* stats) {
  Json ask = {{"blobs", Json::array()}};
  for (const auto& [sha, path] : sources) ask["blobs"].push_back(sha);
  for (const auto& [sha, text] : links) {
    if (!sources.contains(sha)) ask["blobs"].push_back(sha);
  }
  ASSIGN_OR_RETURN(Json missing, client.Call("POST", "/api/v1/blobs/missing", ask));
  int64_t total = 0;
  std::vector<std::string> todo;
  for (const auto& sha : missing["missing"]) {
    todo.push_back(sha.get<std::string>());
    if (!sources.contains(todo.back()) && !links.contains(todo.back())) {
      return Err(
          InternalError("the server asked for blob " + todo.back() + ", which is not in " + what));
    }
    std::error_code ec;
    auto link = links.find(todo.back());
    total += link != links.end() ? static_cast<int64_t>(link->second.size())
                                 : static_cast<int64_t>(fs::file_size(sources.at(todo.back()), ec));
  }
  bool progress = !todo.empty() && ::isatty(2);
  int64_t done = 0, files = 0;
  for (const auto& sha : todo) {
    std::string data;
    if (auto link = links.find(sha); link != links.end() && !sources.contains(sha)) {
      data = link->second;
    } else {
      const fs::path& path = sources.at(sha);
      ASSIGN_OR_RETURN(data, ReadFile(path));
      if (Sha256Hex(data) != sha) {
        return Err(FailedPreconditionError(path.string() +
                                           " changed while it was being uploaded; submit again"));
      }
    }
    ASSIGN_OR_RETURN(auto r,
                     client.Send("PUT", "/api/v1/blobs/" + sha, data, "application/octet-stream"));
    if (r.status != 201 && r.status != 200) return Err(http::StatusFromErrorBody(r.status, r.body));
    done += static_cast<int64_t>(data.size());
    ++files;
    if (progress) DrawProgress(what, done, total, files);
  }
  if (progress) fprintf(stderr, "\n");
  ASSIGN_OR_RETURN(auto posted, client.Send("POST", "/api/v1/trees", tree.ToJson()));
  if (posted.status != 201) return Err(http::StatusFromErrorBody(posted.status, posted.body));
  ASSIGN_OR_RETURN(Json body, ParseJson(posted.body, "server response"));
  if (stats) {
    stats->files += static_cast<int64_t>(tree.entries().size());
    stats->bytes += tree.TotalBytes();
    stats->sent_files += files;
    stats->sent_bytes += done;
  }
  return body.value("id", "");
}

}  // namespace

fs::path SnapshotCacheFile(const fs::path& root) {
  fs::path base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = fs::path(home) / ".cache";
  } else {
    base = fs::temp_directory_path();
  }
  std::string key = Sha256Hex(fs::absolute(root).lexically_normal().string()).substr(0, 24);
  return base / "gantry" / "snapshots" / key;
}

Result<std::string> UploadFolder(http::HttpClient& client, const fs::path& root,
                                 const std::string& what, UploadStats* stats) {
  fs::path cache = SnapshotCacheFile(root);
  // A failure shows when the cache file is written, which is checked.
  (void)MakeDirs(cache.parent_path());
  ASSIGN_OR_RETURN(auto snapshot, artifacts::TakeSnapshot({root, cache}));
  if (stats) stats->hashed_files += snapshot.hashed_files;
  return UploadTree(client, snapshot.tree, snapshot.blob_sources, snapshot.link_blobs, what, stats);
}

Result<std::string> UploadLocalPaths(http::HttpClient& client,
                                     const std::vector<std::string>& paths,
                                     bool single_folder_at_root, const std::string& what,
                                     UploadStats* stats) {
  std::vector<fs::path> expanded;
  for (const auto& p : paths) {
    if (p.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      int rc = ::glob(p.c_str(), 0, nullptr, &g);
      for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) expanded.emplace_back(g.gl_pathv[i]);
      globfree(&g);
      if (rc != 0) return Err(NotFoundError("'" + p + "' matches no file"));
    } else {
      if (!fs::exists(p)) return Err(NotFoundError("path '" + p + "' does not exist"));
      expanded.emplace_back(p);
    }
  }
  artifacts::Tree tree;
  std::map<std::string, fs::path> sources;
  std::map<std::string, std::string> links;
  for (const auto& raw : expanded) {
    fs::path p = fs::absolute(raw).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    std::string prefix = p.filename().string() + "/";
    if (fs::is_directory(p)) {
      fs::path cache = SnapshotCacheFile(p);
      // A failure shows when the cache file is written, which is checked.
      (void)MakeDirs(cache.parent_path());
      ASSIGN_OR_RETURN(auto snapshot, artifacts::TakeSnapshot({p, cache}));
      if (stats) stats->hashed_files += snapshot.hashed_files;
      bool at_root = single_folder_at_root && expanded.size() == 1;
      for (auto e : snapshot.tree.entries()) {
        if (!at_root) e.path = prefix + e.path;
        Status st = tree.Add(e);
        if (!st.ok())
          return Err(InvalidArgumentError("two paths would both upload '" + e.path + "'"));
      }
      sources.insert(snapshot.blob_sources.begin(), snapshot.blob_sources.end());
      links.insert(snapshot.link_blobs.begin(), snapshot.link_blobs.end());
    } else {
      ASSIGN_OR_RETURN(std::string sha, Sha256File(p));
      std::error_code ec;
      auto size = static_cast<int64_t>(fs::file_size(p, ec));
      bool exec = (fs::status(p, ec).permissions() & fs::perms::owner_exec) != fs::perms::none;
      Status st = tree.Add({p.filename().string(), sha, size, exec ? 0755u : 0644u});
      if (!st.ok()) {
        return Err(
            InvalidArgumentError("two paths would both upload '" + p.filename().string() + "'"));
      }
      sources[sha] = p;
      if (stats) stats->hashed_files += 1;
    }
  }
  return UploadTree(client, tree, sources, links, what, stats);
}

Result<std::string> UploadFile(http::HttpClient& client, const fs::path& file,
                               const std::string& what, UploadStats* stats) {
  ASSIGN_OR_RETURN(std::string sha, Sha256File(file));
  std::error_code ec;
  auto size = static_cast<int64_t>(fs::file_size(file, ec));
  artifacts::Tree tree;
  bool exec = (fs::status(file, ec).permissions() & fs::perms::owner_exec) != fs::perms::none;
  RETURN_IF_ERROR(tree.Add({file.filename().string(), sha, size, exec ? 0755u : 0644u}));
  if (stats) stats->hashed_files += 1;
  return UploadTree(client, tree, {{sha, file}}, {}, what, stats);
}

}  // namespace gantry::cli
