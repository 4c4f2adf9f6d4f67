// Names of things a user creates (experiments, runs, datasets, models, environments, compute
// targets, endpoints, deployments): one rule, checked before a name reaches a store, a URL or
// a path. Display names, descriptions and tags are free text and are not checked here.
//
// Thread-safety: stateless functions.
#pragma once

#include <string_view>

#include "common/status.h"

namespace gantry {

// Longest name accepted, in bytes.
inline constexpr size_t kMaxNameLength = 255;

// True when `name` is 1 to 255 characters of [A-Za-z0-9_.-] starting with a letter or digit
// (so never ".", "..", a hidden file's name, or something read as a command-line flag).
// `:` and `@` are not name characters: they separate a version in "name:3" and "name@latest".
bool IsValidName(std::string_view name);

// OK for a valid name; otherwise InvalidArgument naming the field and the value, e.g.
// "dataset name '../x' is invalid: ...". `field` reads as a noun: "model name".
Status ValidateName(std::string_view field, std::string_view name);

}  // namespace gantry
