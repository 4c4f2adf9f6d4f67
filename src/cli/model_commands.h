// `gantry model ...`: create (from a local path or a run's outputs), list, show, download.
#pragma once

#include <string>
#include <vector>

#include "cli/client_context.h"

namespace gantry::cli {

struct ModelFlags {
  std::string name;
  int64_t version = 0;  // 0 = latest
  std::string path;     // local file/folder, runs:/RUN/PATH or azureml://jobs/RUN/outputs/artifacts/paths/PATH
  std::string type = "custom_model";
  std::string framework, framework_version, description;
  std::vector<std::string> tags, properties;  // KEY=VALUE
  std::string download_path;
  std::string output;  // -o json
};

int ModelCreate(const GlobalFlags& g, const ModelFlags& f);
int ModelList(const GlobalFlags& g, const ModelFlags& f);
int ModelShow(const GlobalFlags& g, const ModelFlags& f);
int ModelDownload(const GlobalFlags& g, const ModelFlags& f);

// Downloads tree `tree_id` into `dest`, checking each file's SHA-256. Returns files written.
Result<int64_t> DownloadTree(http::HttpClient& client, const std::string& tree_id,
                             const fs::path& dest);

}  // namespace gantry::cli
