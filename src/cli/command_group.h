// What every client verb (`gantry job show`, `gantry model create`, ...) shares, so that each
// *_commands.cc registers its own verbs with one call per verb: the global flags (--server,
// --workspace, --ca-file), its name options (-n/--name, ...), -o/--output, the check of the
// names those flags carry before any request (common/names.h: same message as the server,
// exit code 2), and RunVerb, the one place a verb runs: an answer the command cannot read (a
// malformed or unexpected server answer, on which the JSON library throws) becomes an error
// message and exit code 1 instead of an uncaught exception.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cli/client_context.h"

namespace gantry::cli {

// (field, value) pairs such as ("run name", &flags.name); an empty value is not checked.
using NameChecks = std::vector<std::pair<const char*, const std::string*>>;
// False (after printing the error) when a name breaks the naming rule.
bool NamesOk(const NameChecks& names);

// Runs a verb; a JSON exception (an answer the verb cannot read) is reported as an error.
int RunVerb(const std::function<int()>& run);

// An option naming what the verb acts on, e.g. {"-n,--name", &flags.name, "Run name", true}.
struct NameOption {
  const char* flags;
  std::string* value;
  const char* help;
  bool required = false;
};

// Adds `verb` to `group` with the global flags, `names` options, -o/--output into `*output`
// (json or table) and a callback that checks `checks` and runs `run`, its exit code into
// `result`.
CLI::App* AddVerb(CLI::App* group, const char* verb, const char* help, GlobalFlags& global,
                  const std::vector<NameOption>& names, std::string* output, NameChecks checks,
                  std::function<int()> run, int& result);

}  // namespace gantry::cli
