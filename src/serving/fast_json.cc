#include "serving/fast_json.h"

#include <simdjson.h>

#include <algorithm>
#include <utility>

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

// The body's document, parsed by this thread's parser (valid until its next parse).
Result<simdjson::dom::element> Parse(std::string_view body) {
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
    return Err(
        InvalidArgumentError(std::string("malformed JSON: ") + simdjson::error_message(error)));
  }
  return root;
}

// One v2 input object, or false when it is not the common shape.
bool ReadV2Input(simdjson::dom::element e, V2Input& in) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) return false;
  bool has_name = false, has_datatype = false, has_shape = false, has_data = false;
  // A key given twice is the general parser's to decide (its rule: the last one wins).
  const auto first = [](bool& seen) { return !std::exchange(seen, true); };
  for (auto field : obj) {
    std::string_view s;
    if (field.key == "name" || field.key == "datatype") {
      const bool name = field.key == "name";
      if (!first(name ? has_name : has_datatype)) return false;
      if (field.value.get_string().get(s) != simdjson::SUCCESS) return false;
      (name ? in.name : in.datatype) = std::string(s);
    } else if (field.key == "shape") {
      if (!first(has_shape)) return false;
      simdjson::dom::array dims;
      if (field.value.get_array().get(dims) != simdjson::SUCCESS) return false;
      for (simdjson::dom::element d : dims) {
        int64_t v;
        if (d.get_int64().get(v) != simdjson::SUCCESS || v < 0) return false;
        in.shape.push_back(v);
      }
    } else if (field.key == "data") {
      if (!first(has_data)) return false;
      NumberArray flat;
      if (!Walk(field.value, flat, 0).ok()) return false;
      in.data = std::move(flat.data);
    } else {
      return false;  // "parameters" (binary data among them) and anything unknown
    }
  }
  if (!has_shape || !has_data) return false;
  // The product of the dimensions, saturated (no overflow on hostile shapes).
  constexpr uint64_t kCap = uint64_t{1} << 53;
  uint64_t count = 1;
  for (int64_t d : in.shape) {
    if (d == 0) return in.data.empty();
    count = count > kCap / static_cast<uint64_t>(d) ? kCap : count * static_cast<uint64_t>(d);
  }
  return count == in.data.size();
}

}  // namespace

Result<V2Request> ParseV2Request(std::string_view body) {
  const auto not_common = [] { return Err(NotFoundError("not the common v2 request")); };
  auto root = Parse(body);
  if (!root.has_value()) return not_common();
  simdjson::dom::object obj;
  if (root->get_object().get(obj) != simdjson::SUCCESS) return not_common();
  V2Request out;
  bool has_id = false, has_inputs = false;
  for (auto field : obj) {
    if (field.key == "id") {
      if (has_id) return not_common();
      has_id = true;
      std::string_view id;
      if (field.value.get_string().get(id) != simdjson::SUCCESS) return not_common();
      out.id = std::string(id);
    } else if (field.key == "inputs") {
      if (has_inputs) return not_common();
      simdjson::dom::array inputs;
      if (field.value.get_array().get(inputs) != simdjson::SUCCESS) return not_common();
      for (simdjson::dom::element e : inputs) {
        V2Input in;
        if (!ReadV2Input(e, in)) return not_common();
        out.inputs.push_back(std::move(in));
      }
      has_inputs = true;
    } else {
      return not_common();  // "outputs", "parameters", anything unknown
    }
  }
  if (out.inputs.empty()) return not_common();
  return out;
}

Result<NumberArray> ParseNumberArray(std::string_view body, std::string_view field) {
  ASSIGN_OR_RETURN(simdjson::dom::element root, Parse(body));
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
