#include "serving/fast_json.h"

#include <simdjson.h>

#include <algorithm>

#include "common/json.h"

namespace gantry::serving {
namespace {

Status Walk(simdjson::dom::element e, NumberArray& out, size_t depth) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY: {
      simdjson::dom::array a = e.get_array().value_unsafe();
      int64_t n = static_cast<int64_t>(a.size());
      if (depth == out.shape.size()) {
        // A new, deeper level after numbers were seen: [1, [2]].
        if (!out.data.empty()) return InvalidArgumentError("ragged or mixed nesting");
        out.shape.push_back(n);
      } else if (depth > out.shape.size() || out.shape[depth] != n) {
        return InvalidArgumentError("rows have different lengths");
      }
      for (simdjson::dom::element child : a) {
        // Numbers, the bulk of a request, are read here rather than through a call each.
        double v;
        if (child.get_double().get(v) == simdjson::SUCCESS) {
          if (depth + 1 != out.shape.size()) return InvalidArgumentError("ragged or mixed nesting");
          out.data.push_back(static_cast<float>(v));
        } else {
          RETURN_IF_ERROR(Walk(child, out, depth + 1));
        }
      }
      return Status::Ok();
    }
    case element_type::DOUBLE:
    case element_type::INT64:
    case element_type::UINT64: {
      if (depth != out.shape.size()) return InvalidArgumentError("ragged or mixed nesting");
      double v = 0;
      if (e.get_double().get(v) != simdjson::SUCCESS) return InvalidArgumentError("bad number");
      out.data.push_back(static_cast<float>(v));
      return Status::Ok();
    }
    default:
      return InvalidArgumentError("expected numbers");
  }
}

}  // namespace

Result<NumberArray> ParseNumberArray(std::string_view body, std::string_view field) {
  thread_local simdjson::dom::parser parser;
  // simdjson counts the document itself as a level; the cap is checked while parsing, so a
  // deep body costs no extra pass and Walk's recursion stays within kMaxJsonDepth.
  constexpr size_t kSimdjsonDepth = kMaxJsonDepth + 1;
  if (parser.max_depth() != kSimdjsonDepth) {
    if (auto error = parser.allocate(std::max<size_t>(body.size(), 4096), kSimdjsonDepth)) {
      return Err(ResourceExhaustedError(std::string("cannot parse JSON: ") +
                                        simdjson::error_message(error)));
    }
  }
  simdjson::dom::element root;
  // simdjson needs padding after the input; padded_string copies the body once.
  simdjson::padded_string padded(body);
  if (auto error = parser.parse(padded).get(root); error) {
    if (error == simdjson::DEPTH_ERROR) return Err(InvalidArgumentError(JsonDepthMessage()));
    return Err(InvalidArgumentError(std::string("malformed JSON: ") +
                                    simdjson::error_message(error)));
  }
  simdjson::dom::element value = root;
  if (!field.empty()) {
    if (!root.is_object()) return Err(InvalidArgumentError("the request must be a JSON object"));
    if (root[field].get(value) != simdjson::SUCCESS) {
      return Err(NotFoundError("no field '" + std::string(field) + "'"));
    }
  }
  NumberArray out;
  out.data.reserve(body.size() / 4);
  RETURN_IF_ERROR(Walk(value, out, 0));
  return out;
}

}  // namespace gantry::serving
