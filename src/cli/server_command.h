// `gantry server`: composes the stores, services, scheduler and REST API of one workspace
// and serves until SIGINT/SIGTERM; `gantry server stop` stops a background one.
#pragma once

#include <string>

#include "common/files.h"

namespace gantry::cli {

struct ServerFlags {
  std::string workspace = ".gantry";  // workspace folder
  std::string host = "127.0.0.1";
  int port = -1;        // -1: the port in config.json, else a free one
  int slots = -1;       // local compute slots; -1: the number of CPUs; 0: start nothing
  int ready_fd = -1;    // when set, the URL is written there once listening, then it is closed
  std::string name = "default";
};

int RunServer(const ServerFlags& flags);
int StopServer(const fs::path& workspace_dir);

}  // namespace gantry::cli
