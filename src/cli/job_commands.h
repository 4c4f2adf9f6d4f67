// `gantry job ...`: create, list, show, stream, cancel, download, metrics. Each parses its
// flags, calls the REST API and renders; rules live in the server.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/client_context.h"

namespace gantry::cli {

struct JobFlags {
  std::string file;           // create --file
  std::string name;           // -n/--name
  bool stream = false;        // create --stream
  std::string output;         // -o json
  std::string output_name;    // download --output-name
  std::string download_path;  // download --download-path
  bool overwrite = false;     // download --overwrite
  std::string experiment;     // list --experiment-name
  int max_results = 50;       // list --max-results
  std::string parent;         // list --parent: a sweep's trials
};

int JobCreate(const GlobalFlags& g, const JobFlags& f);
int JobList(const GlobalFlags& g, const JobFlags& f);
int JobShow(const GlobalFlags& g, const JobFlags& f);
int JobStream(const GlobalFlags& g, const JobFlags& f);
int JobCancel(const GlobalFlags& g, const JobFlags& f);
int JobDownload(const GlobalFlags& g, const JobFlags& f);
int JobMetrics(const GlobalFlags& g, const JobFlags& f);

// Adds `gantry job ...`; a verb's exit code lands in `result`.
void AddJobCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
