// YAML → JSON, the one adapter for every YAML file users hand to Gantry (job specs, conda
// files, environment, endpoint and deployment files), and the scalar rules it applies (YAML
// 1.2 core schema), which the job-spec reader uses for its own typed fields too. Errors carry
// the file name and line. Thread-safe: stateless.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/json.h"
#include "common/status.h"

namespace YAML {
class Node;
}

namespace gantry::jobs {

// The YAML 1.2 core schema's scalars, for a scalar the author left unquoted: true/True/TRUE
// and false/False/FALSE; a decimal integer that fits int64; a number (it must have a digit:
// "inf" and "nan" are not numbers here).
std::optional<bool> YamlBool(std::string_view text);
std::optional<int64_t> YamlInt64(std::string_view text);
std::optional<double> YamlDouble(std::string_view text);
// A scalar the author left unquoted ("?" from the parser, "" for a node built from JSON).
bool IsPlainScalar(const YAML::Node& node);

// What unquoted scalars become.
enum class YamlScalars {
  // Their text, but booleans (conda files, endpoint and deployment files: their values are
  // text, such as versions and variables, or fields the reader checks with its own rule, so
  // "0.10" stays "0.10").
  kText,
  // Null, booleans, integers and numbers as JSON's (a job spec's resources and distribution).
  kTyped,
};
// Quoted scalars always stay strings; YAML nulls (an empty value) become null.
Json YamlNodeToJson(const YAML::Node& node, YamlScalars scalars);

// Parses `text` and converts it. The limits and refusals of LoadBoundedYaml (bounded_yaml.h)
// apply: not UTF-8, alias bombs, deep nesting.
Result<Json> YamlToJson(std::string_view text, std::string_view file_name,
                        YamlScalars scalars = YamlScalars::kText);

}  // namespace gantry::jobs
