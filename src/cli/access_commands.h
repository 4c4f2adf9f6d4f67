// `gantry token create|list|revoke`, `gantry login` and `gantry audit list`: personal access
// tokens, storing one for a remote server, and the owners' audit log. Each registers its own
// verbs on the app.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/client_context.h"

namespace gantry::cli {

// Parses "30d", "12h", "90m", "45s" or plain seconds; InvalidArgument naming the value.
Result<int64_t> ParseDurationSeconds(const std::string& text);

// Adds --server, --workspace and --ca-file (GlobalFlags) to a client command.
void AddGlobalFlags(CLI::App* cmd, GlobalFlags& global);

// Adds the token, login and audit commands; a command's exit code lands in `result`.
void AddAccessCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
