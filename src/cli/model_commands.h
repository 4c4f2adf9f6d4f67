// `gantry model ...`: create (from a local path or a run's outputs), list, show, download.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/client_context.h"

namespace gantry::cli {

struct ModelFlags {
  std::string name;
  int64_t version = 0;  // 0 = latest
  std::string
      path;  // local file/folder, runs:/RUN/PATH or azureml://jobs/RUN/outputs/artifacts/paths/PATH
  std::string type = "custom_model";
  std::string framework, framework_version, description;
  std::vector<std::string> tags, properties;  // KEY=VALUE
  std::string download_path;
  bool overwrite = false;  // download --overwrite
  std::string output;      // -o json
};

int ModelCreate(const GlobalFlags& g, const ModelFlags& f);
int ModelList(const GlobalFlags& g, const ModelFlags& f);
int ModelShow(const GlobalFlags& g, const ModelFlags& f);
int ModelDownload(const GlobalFlags& g, const ModelFlags& f);

// Adds `gantry model ...`; a verb's exit code lands in `result`.
void AddModelCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
