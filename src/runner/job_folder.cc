#include "runner/job_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "artifacts/local_blob_store.h"
#include "common/files.h"
#include "jobs/run_messages.h"

namespace gantry::runner {
namespace {

// Gives the owner write permission back on a tree (before removing a read-only input).
void MakeWritable(const fs::path& root) {
  std::error_code ec;
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::permissions(it->path(),
                    fs::perms::owner_read | fs::perms::owner_write |
                        (it->is_directory(ec) ? fs::perms::owner_exec : fs::perms::none),
                    fs::perm_options::add, ec);
  }
}

// Removes write permission from a materialized input, folders last.
void MakeReadOnly(const fs::path& root) {
  std::error_code ec;
  std::vector<fs::path> dirs{root};
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) {
      dirs.push_back(it->path());
    } else {
      fs::permissions(it->path(),
                      fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                      fs::perm_options::remove, ec);
    }
  }
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    fs::permissions(*d, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove, ec);
  }
}

}  // namespace

Result<std::unique_ptr<JobFolder>> JobFolder::Open(const fs::path& work_dir,
                                                   std::optional<int> node_rank,
                                                   const EnvironmentMap& env) {
  if (work_dir.empty()) return Err(InvalidArgumentError("no work folder given"));
  std::error_code ec;
  fs::path root = fs::absolute(work_dir, ec);
  if (ec) return Err(InternalError("cannot resolve " + work_dir.string()));
  // The nodes of a multi-node job may share the folder (a shared filesystem): each keeps its
  // own part.
  if (node_rank) root /= "node_" + std::to_string(*node_rank);
  std::unique_ptr<JobFolder> folder(new JobFolder(std::move(root), env));
  RETURN_IF_ERROR(folder->Clear());
  return folder;
}

JobFolder::JobFolder(fs::path root, EnvironmentMap env)
    : root_(std::move(root)), wd_(root_ / "wd"), env_(std::move(env)) {}

fs::path JobFolder::log_file() const { return root_ / jobs::kMergedLogStream; }

Status JobFolder::Clear() {
  RETURN_IF_ERROR(MakeDirs(root_));
  std::error_code ec;
  MakeWritable(root_ / "inputs");
  for (const char* name : {"wd", "inputs", "bin"}) fs::remove_all(root_ / name, ec);
  for (const char* name : {jobs::kMergedLogStream, "metrics.jsonl", "hostfile"}) {
    fs::remove(root_ / name, ec);
  }
  fs::remove_all(root_ / "ranks", ec);
  std::vector<fs::path> rank_logs;
  for (auto it = fs::directory_iterator(root_, ec); !ec && it != fs::end(it); it.increment(ec)) {
    if (it->path().filename().string().rfind("std_log_process_", 0) == 0) {
      rank_logs.push_back(it->path());
    }
  }
  for (const auto& path : rank_logs) fs::remove(path, ec);
  return MakeDirs(wd_);
}

Result<std::string> JobFolder::MaterializeInput(const std::string& name,
                                                const jobs::InputSpec& input,
                                                const std::string& tree_id,
                                                const TreeFetcher& fetch) {
  if (input.kind == jobs::InputSpec::Kind::kLiteral) return input.literal;
  const bool is_file = input.kind == jobs::InputSpec::Kind::kUriFile;
  if (tree_id.empty()) {
    // A path readable here (same machine or shared filesystem) is used in place.
    std::error_code ec;
    fs::path local(input.path);
    if (local.is_absolute() &&
        (is_file ? fs::is_regular_file(local, ec) : fs::is_directory(local, ec))) {
      return local.string();
    }
    return Err(FailedPreconditionError("input '" + name + "' has no uploaded data and '" +
                                       input.path + "' is not readable on this machine"));
  }
  const fs::path dest = root_ / "inputs" / name;
  Result<artifacts::Tree> tree = fetch(tree_id, dest);
  if (!tree) return Err(tree.error().WithPrefix("cannot download input '" + name + "'"));
  // ro_mount (Azure's default for inputs) gives a read-only copy; "download" a private,
  // writable one.
  if (input.mode != "download") MakeReadOnly(dest);
  if (!is_file) return dest.string();
  if (tree->entries().size() != 1) {
    return Err(FailedPreconditionError("input '" + name + "' is a uri_file but its data has " +
                                       std::to_string(tree->entries().size()) + " files"));
  }
  return (dest / tree->entries().front().path).string();
}

Result<std::map<std::string, std::string>> JobFolder::MakeOutputs(
    const std::map<std::string, jobs::OutputSpec>& outputs) {
  RETURN_IF_ERROR(MakeDirs(this->outputs()));
  RETURN_IF_ERROR(MakeDirs(logs()));
  std::map<std::string, std::string> values;
  for (const auto& [name, output] : outputs) {
    fs::path path = this->outputs() / name;
    // A uri_file output is a file the job writes; only a folder output is made for it.
    if (output.type != "uri_file") RETURN_IF_ERROR(MakeDirs(path));
    values[name] = path.string();
  }
  return values;
}

void JobFolder::AppendToLog(const std::string& text) const {
  int fd = ::open(log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  // Best effort: a build line that cannot be written is only missing from the log.
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

artifacts::BlobStore* JobFolder::blob_cache() {
  if (!blob_cache_tried_) {
    blob_cache_tried_ = true;
    fs::path root;
    if (std::string dir = Lookup(env_, "GANTRY_BLOB_CACHE"); !dir.empty()) {
      root = dir;
    } else if (std::string home = Lookup(env_, "HOME"); !home.empty()) {
      root = fs::path(home) / ".cache" / "gantry" / "blobs";
    }
    if (!root.empty()) {
      auto store = artifacts::LocalBlobStore::Open(root);
      if (store.has_value()) blob_cache_ = std::move(*store);
    }
  }
  return blob_cache_.get();
}

fs::path JobFolder::environment_cache() const {
  if (std::string dir = Lookup(env_, "GANTRY_ENV_CACHE"); !dir.empty()) return dir;
  if (std::string home = Lookup(env_, "HOME"); !home.empty()) {
    return fs::path(home) / ".cache" / "gantry" / "envs";
  }
  return fs::temp_directory_path() / "gantry-envs";
}

}  // namespace gantry::runner
