// JobFolder: one run's scratch folder on this node and what lives in it (RunnerOptions::
// work_dir; a multi-node job's node uses its subfolder node_RANK, so nodes may share it):
//
//   wd/                the code snapshot; the job's working folder
//   wd/outputs/NAME    each output (uploaded as outputs/ when the job ends)
//   wd/logs/           uploaded as logs/ while the job runs
//   inputs/NAME        each downloaded input (read-only unless mode: download)
//   bin/               launchers for the job's interpreter
//   std_log.txt        the job's merged stdout and stderr
//   metrics.jsonl      what the SDK logged, relayed to the server
//   std_log_process_RANK.txt, ranks/, hostfile, rank.env   a distributed job's
//
// Open() clears what an earlier attempt left, so a reused folder leaks no files, logs or
// metrics. The folder also owns this node's blob cache (downloads are deduplicated across
// runs) and knows where built environments are cached. Thread-compatible.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "artifacts/blob_store.h"
#include "artifacts/tree.h"
#include "common/status.h"
#include "jobs/job_spec.h"
#include "runner/runner_system.h"

namespace gantry::runner {

namespace fs = std::filesystem;

class JobFolder {
 public:
  // Makes (or clears) the folder under `work_dir` for node `node_rank` of a multi-node job
  // (nullopt: the job's only runner). `env` is the runner's environment: GANTRY_BLOB_CACHE,
  // GANTRY_ENV_CACHE and HOME place the caches.
  static Result<std::unique_ptr<JobFolder>> Open(const fs::path& work_dir,
                                                 std::optional<int> node_rank,
                                                 const EnvironmentMap& env);

  const fs::path& root() const { return root_; }
  const fs::path& wd() const { return wd_; }
  fs::path outputs() const { return wd_ / "outputs"; }
  fs::path logs() const { return wd_ / "logs"; }
  fs::path log_file() const;
  fs::path metrics_file() const { return root_ / "metrics.jsonl"; }
  fs::path bin() const { return root_ / "bin"; }
  // Where an uploader keeps what it last uploaded of `what` ("outputs", "logs").
  fs::path snapshot_cache(const std::string& what) const {
    return root_ / (what + ".snapshot-cache");
  }

  // Downloads a tree into `dest`, retrying while the server is away.
  using TreeFetcher =
      std::function<Result<artifacts::Tree>(const std::string& tree_id, const fs::path& dest)>;

  // The ${{inputs.NAME}} value of one input: its literal, the local path of a uri input
  // without uploaded data (when readable here), or the path of its downloaded tree
  // (`tree_id`, "" when none) under inputs/NAME: a read-only copy unless mode is download,
  // the one file of a uri_file input.
  Result<std::string> MaterializeInput(const std::string& name, const jobs::InputSpec& input,
                                       const std::string& tree_id, const TreeFetcher& fetch);
  // Creates wd/outputs/ and wd/logs/, and wd/outputs/NAME for each folder output. Returns
  // the ${{outputs.NAME}} values.
  Result<std::map<std::string, std::string>> MakeOutputs(
      const std::map<std::string, jobs::OutputSpec>& outputs);

  // Appends `text` to std_log.txt (environment builds write there before the job starts).
  void AppendToLog(const std::string& text) const;

  // This node's blob cache ($GANTRY_BLOB_CACHE, else ~/.cache/gantry/blobs), opened on first
  // use; null (no cache) when it cannot be.
  artifacts::BlobStore* blob_cache();
  // Where built environments live on this node: $GANTRY_ENV_CACHE, else
  // ~/.cache/gantry/envs, else a folder under the temporary folder.
  fs::path environment_cache() const;

 private:
  JobFolder(fs::path root, EnvironmentMap env);
  Status Clear();

  fs::path root_, wd_;
  EnvironmentMap env_;
  bool blob_cache_tried_ = false;
  std::unique_ptr<artifacts::BlobStore> blob_cache_;
};

}  // namespace gantry::runner
