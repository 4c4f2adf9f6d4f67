// YAML → JSON for specification files users hand to the CLI (conda files, environment
// files). Errors carry the file name and line. Thread-safe: stateless.
#pragma once

#include <string_view>

#include "common/json.h"
#include "common/status.h"

namespace gantry::jobs {

// Scalars become strings, except YAML booleans and numbers that parse as such. The limits
// and refusals of LoadBoundedYaml (bounded_yaml.h) apply: not UTF-8, alias bombs, deep nesting.
Result<Json> YamlToJson(std::string_view text, std::string_view file_name);

}  // namespace gantry::jobs
