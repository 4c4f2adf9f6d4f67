// How `gantry job` prints a sweep (issue 12): `job show` of a sweep (its sampling, objective,
// best trial with its score and values, trial counts) and `job list --parent NAME` (the
// trials table: status, primary metric, values, why a policy stopped one). Both read the one
// answer of GET /sweeps/NAME.
#pragma once

#include <string>

#include "common/json.h"

namespace gantry::cli {

// How `gantry job` prints one value (a metric, a tag, a hyperparameter): numbers to 6
// significant digits, strings as they are, anything else as JSON.
std::string FormatValue(const Json& v);

void PrintSweep(const Json& sweep);
void PrintTrials(const Json& sweep);

}  // namespace gantry::cli
