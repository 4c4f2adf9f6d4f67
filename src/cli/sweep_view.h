// How `gantry job` prints a sweep (issue 12): `job show` of a sweep (its sampling, objective,
// best trial with its score and values, trial counts) and `job list --parent NAME` (the
// trials table: status, primary metric, values, why a policy stopped one). Both read the one
// answer of GET /sweeps/NAME.
#pragma once

#include "common/json.h"

namespace gantry::cli {

void PrintSweep(const Json& sweep);
void PrintTrials(const Json& sweep);

}  // namespace gantry::cli
