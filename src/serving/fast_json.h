// The model server's hot path: pulling nested arrays of numbers out of a request body with
// simdjson instead of building a full JSON tree. Thread-safe: a parser per call (thread
// local).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace gantry::serving {

struct NumberArray {
  std::vector<float> data;
  std::vector<int64_t> shape;  // the nesting: [rows, cols, ...]
};

// Finds top-level field `field` of the JSON object in `body` and flattens its nested arrays
// of numbers. NotFound when the body is an object without it; InvalidArgument (naming what
// is wrong) for malformed JSON, nesting deeper than kMaxJsonDepth (common/json.h, the same
// message as ParseJson's), ragged rows or non-numbers. With `field` empty, the body itself
// must be the array.
Result<NumberArray> ParseNumberArray(std::string_view body, std::string_view field);

}  // namespace gantry::serving
