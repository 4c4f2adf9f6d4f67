// JSON: nlohmann::json behind helpers that return Status instead of throwing, and the limits
// every JSON parser of untrusted text in Gantry applies (REST bodies, server answers, the model
// server's fast path, metric lines of a run). Thread-safe: stateless functions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry {

using Json = nlohmann::json;

// The deepest nesting of arrays and objects accepted from untrusted text: `[]` is one level,
// `[[]]` two. Deeper documents are refused before anything is built, so that no recursive
// walk over a parsed document (flattening, dumping, validation) can exhaust the stack.
inline constexpr size_t kMaxJsonDepth = 64;

// The message of the refusal, "JSON nesting deeper than 64 levels", for parsers that detect
// the depth themselves (simdjson).
std::string JsonDepthMessage();

// InvalidArgument "JSON nesting deeper than 64 levels in `what` at byte N" when `text` nests
// arrays and objects deeper than kMaxJsonDepth. A linear scan of the bytes that skips strings;
// it does not validate the rest of the syntax (malformed text is left to the parser).
Status CheckJsonDepth(std::string_view text, std::string_view what = "request body");

// Parses `text`; InvalidArgument naming `what` and the position on failure: malformed text
// (the byte), nesting deeper than kMaxJsonDepth, or a number too large for a double (`1e400`),
// the latter naming the field that holds it ("metrics[0].value"). Never throws.
Result<Json> ParseJson(std::string_view text, std::string_view what = "request body");

// `value` as an int64: InvalidArgument naming `field` when it is not an integer or is beyond
// the range of int64 (e.g. 9223372036854775808, or 1e30 written as an integer).
Result<int64_t> IntFromJson(const Json& value, std::string_view field);

// Typed field access for request bodies: InvalidArgument naming the field when it has the
// wrong type (or, for GetInt, is out of int64's range); `fallback` when it is absent or null.
Result<std::string> GetString(const Json& obj, const char* field, std::string fallback = "");
Result<int64_t> GetInt(const Json& obj, const char* field, int64_t fallback = 0);

}  // namespace gantry
