// Identifiers: run names in Azure ML's style and secret tokens. Thread-safe.
#pragma once

#include <string>

namespace gantry {

// A readable unique name such as "calm_river_4k2m9x7q".
std::string NewRunName();
// 32 random bytes as 64 hex digits, from the OS's CSPRNG.
std::string NewSecretToken();

}  // namespace gantry
