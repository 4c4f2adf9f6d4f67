// JSON: nlohmann::json behind helpers that return Status instead of throwing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry {

using Json = nlohmann::json;

// Parses `text`; InvalidArgument naming `what` and the parser's position on failure.
Result<Json> ParseJson(std::string_view text, std::string_view what = "request body");

// Typed field access for request bodies: InvalidArgument naming the field when it has the
// wrong type; `fallback` when it is absent or null.
Result<std::string> GetString(const Json& obj, const char* field, std::string fallback = "");
Result<int64_t> GetInt(const Json& obj, const char* field, int64_t fallback = 0);

}  // namespace gantry
