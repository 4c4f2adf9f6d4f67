// How a client command finds its workspace server, like Workspace.from_config():
// --server URL, else $GANTRY_URL, else .gantry/config.json searched upward from the current
// folder (or the folder given by --workspace). Its credential: see ResolveToken(). For a local
// workspace whose server does not answer, the server is started in the background (pid file, log
// file in the workspace). Also the one mapping from Status to CLI exit codes. Thread-compatible.
#pragma once

#include <memory>
#include <string>

#include "common/files.h"
#include "common/status.h"
#include "http/http_client.h"

namespace gantry::cli {

struct GlobalFlags {
  std::string server_url;  // --server
  std::string workspace;   // --workspace DIR (a .gantry folder or the project folder)
  std::string ca_file;     // --ca-file FILE: verifies an https:// server
};

// The credential for `url`: $GANTRY_TOKEN, else the one `gantry login` stored for that URL,
// else the token in `config_dir`/config.json when that config names `url`. "" when none.
std::string ResolveToken(const std::string& url, const fs::path& config_dir);
// Where `gantry login` keeps tokens: $XDG_CONFIG_HOME/gantry/credentials.json, else
// ~/.config/gantry/credentials.json (mode 0600).
fs::path CredentialsFile();
// Stores `token` (and the CA file that verifies an https:// server, when not "") for `url` in
// CredentialsFile() (0600, atomically).
Status StoreCredential(const std::string& url, const std::string& token,
                       const std::string& ca_file = "");
// The CA file for an https:// `url`: `flag` (--ca-file), else $GANTRY_CA_FILE, else the one
// `gantry login` stored for that URL, else the "ca_file" of `config_dir`/config.json when that
// config names `url`. "" when none (the system's CAs), and always "" for an http:// URL
// unless given by the flag (which HttpClient then refuses).
std::string ResolveCaFile(const std::string& url, const std::string& flag,
                          const fs::path& config_dir);

// Exit codes: 0 success; 1 the run did not complete or an unexpected error; 2 bad input;
// 3 not found; 4 server unavailable; 5 conflict or a forbidden state change; 6 no valid
// credential, or one whose role is too low.
int ExitCodeFor(const Status& status);
// Prints "error: MESSAGE" to stderr and returns ExitCodeFor(status).
int ReportError(const Status& status);

// The workspace folder (".gantry") for `flags`: --workspace, else the nearest .gantry
// upward from the current folder, else ./.gantry (not created here).
fs::path ResolveWorkspaceDir(const GlobalFlags& flags);

// Connects to the server (starting a local one when needed) and returns a client.
Result<std::unique_ptr<http::HttpClient>> Connect(const GlobalFlags& flags);

// Starts `gantry server --workspace DIR` in the background and waits until it answers.
// Returns its URL. `port` -1: the one in DIR/config.json when free, else any.
Result<std::string> StartBackgroundServer(const fs::path& workspace_dir, int port);

// Reads the "server" URL from DIR/config.json, or "".
std::string ConfiguredUrl(const fs::path& workspace_dir);
// Reads the owner "token" from DIR/config.json, or "".
std::string ConfiguredToken(const fs::path& workspace_dir);

}  // namespace gantry::cli
