// `gantry server`: composes the stores, services, scheduler and REST API of one workspace
// and serves until SIGINT/SIGTERM; `gantry server stop` stops a background one.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/files.h"

namespace gantry::cli {

struct ServerFlags {
  std::string workspace = ".gantry";  // workspace folder
  std::string host = "127.0.0.1";
  int port = -1;      // -1: the port in config.json, else a free one
  int slots = -1;     // local compute slots; -1: the number of CPUs; 0: start nothing
  int ready_fd = -1;  // when set, the URL is written there once listening, then it is closed
  std::string name = "default";
  // --no-auth: no credential needed (every caller acts as the owner). Loopback only.
  bool no_auth = false;
  // --allow-file-root DIR (repeatable): folders whose files dataset file:// URLs may name.
  std::vector<std::string> allow_file_roots;
  // --max-fetch-bytes: the largest file a dataset URL may bring in.
  int64_t max_fetch_bytes = int64_t{64} << 30;
  // --env-cache: where environments are built (default: WORKSPACE/envs). Builds are named by
  // content, so several workspaces may share one folder.
  std::string env_cache;
  // --tls-cert / --tls-key: serve HTTPS with this PEM certificate chain and key.
  std::string tls_cert;
  std::string tls_key;
  // --ca-file: what runners and local clients verify the certificate with (default: the
  // certificate file itself, which is right for a self-signed one).
  std::string ca_file;
};

// Whether `host` is a loopback address ("127.0.0.1", "::1", "localhost", 127.x.y.z).
bool IsLoopbackHost(const std::string& host);

int RunServer(const ServerFlags& flags);
int StopServer(const fs::path& workspace_dir);

// Adds `gantry server [--background]` and `gantry server stop`; the exit code lands in `result`.
void AddServerCommand(CLI::App& app, int& result);

}  // namespace gantry::cli
