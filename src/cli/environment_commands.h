// `gantry environment ...`: register an environment from a conda file, pip packages, an
// interpreter or an image; list; show. Curated environments are listed too.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/client_context.h"

namespace gantry::cli {

struct EnvironmentFlags {
  std::string name;
  int64_t version = 0;
  std::string conda_file;
  std::vector<std::string> pip;
  std::string python;  // interpreter path or name
  std::string image;
  std::string dockerfile;
  std::vector<std::string> variables;  // KEY=VALUE
  std::string description;
  bool user_managed = false;
  std::string output;
};

int EnvironmentCreate(const GlobalFlags& g, const EnvironmentFlags& f);
int EnvironmentList(const GlobalFlags& g, const EnvironmentFlags& f);
int EnvironmentShow(const GlobalFlags& g, const EnvironmentFlags& f);

// Adds `gantry environment ...`; a verb's exit code lands in `result`.
void AddEnvironmentCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
