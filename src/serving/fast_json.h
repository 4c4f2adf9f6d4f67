// The model server's hot path: pulling nested arrays of numbers out of a request body with
// simdjson instead of building a full JSON tree. Thread-safe: a parser per call (thread
// local).
#pragma once

#include <optional>
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

// One input of an Open Inference v2 request, as given ("" for a name or datatype left out).
struct V2Input {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::vector<float> data;  // flattened, row by row
};

struct V2Request {
  std::optional<std::string> id;
  std::vector<V2Input> inputs;
};

// The common Open Inference v2 request, read with simdjson: {"id"?: string, "inputs": [{"name",
// "shape", "datatype", "data": nested numbers}, ...]} whose every input's data fills its
// shape. NotFound for every other body, malformed ones included: the request "parameters",
// "outputs" selection, binary data and every error are the general parser's to answer.
Result<V2Request> ParseV2Request(std::string_view body);

}  // namespace gantry::serving
