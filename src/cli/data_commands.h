// `gantry data ...`: register file datasets from local paths, globs and URLs; list, show,
// download. Azure CLI v2's `az ml data` shape.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/client_context.h"

namespace gantry::cli {

struct DataFlags {
  std::string name;
  int64_t version = 0;
  std::vector<std::string> paths;  // local paths, globs, http(s):// or file:// URLs
  std::string type = "uri_folder";
  std::string description;
  std::vector<std::string> tags;  // KEY=VALUE
  bool create_new_version = true;
  std::string download_path;
  bool overwrite = false;  // download --overwrite
  std::string output;
};

int DataCreate(const GlobalFlags& g, const DataFlags& f);
int DataList(const GlobalFlags& g, const DataFlags& f);
int DataShow(const GlobalFlags& g, const DataFlags& f);
int DataDownload(const GlobalFlags& g, const DataFlags& f);

// Adds `gantry data ...`; a verb's exit code lands in `result`.
void AddDataCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
