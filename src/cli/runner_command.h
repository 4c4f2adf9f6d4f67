// `gantry runner`: runs one job's processes on this node for the workspace server (started
// by a compute backend; see runner/runner.h).
#pragma once

#include <CLI/CLI.hpp>

namespace gantry::cli {

// Adds `gantry runner`; its exit code lands in `result`.
void AddRunnerCommand(CLI::App& app, int& result);

}  // namespace gantry::cli
