// Where the Python SDK (the `gantry` and `azureml` packages) lives, for the processes that run
// user Python code: job runners and the model servers of entry-script deployments.
#pragma once

#include "common/files.h"

namespace gantry::cli {

// $GANTRY_PYTHON_SDK, an installed share/gantry/python, or the source tree's python/ next to
// the build folder; empty when none holds gantry/__init__.py. Thread-safe.
fs::path FindPythonSdk();

}  // namespace gantry::cli
