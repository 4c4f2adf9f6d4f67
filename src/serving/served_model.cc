#include "serving/served_model.h"

#include <map>

#include "serving/tensor_json.h"

namespace gantry::serving {

bool ServedModel::Known(const http::Request& request) const {
  return request.Param("name") == name &&
         (request.Param("version").empty() || request.Param("version") == version);
}

bool ServedModel::IsThisModel(std::string_view path) const {
  std::string_view asked_version = version;
  if (auto slash = path.find('/'); slash != std::string_view::npos) {
    asked_version = path.substr(slash + 1);
    path = path.substr(0, slash);
    if (!asked_version.starts_with("versions/")) return false;
    asked_version.remove_prefix(std::string_view("versions/").size());
  }
  return path == name && asked_version == version;
}

Tensor ServedModel::NewInput(const std::string& input, std::vector<float> data,
                             std::vector<int64_t> shape, bool one_instance) const {
  Tensor t;
  t.name = input.empty() ? info->inputs[0].name : input;
  const TensorSpec* spec = nullptr;
  for (const auto& s : info->inputs) {
    if (s.name == t.name) spec = &s;
  }
  if (spec == nullptr && info->inputs.size() == 1) spec = &info->inputs[0];
  if (spec != nullptr) {
    // These protocols carry no datatype: the numbers are the model's.
    t.datatype = spec->datatype;
    // A single row where the model takes rows: one instance.
    if (one_instance && !spec->unknown_rank && spec->shape.size() == shape.size() + 1) {
      shape.insert(shape.begin(), 1);
    }
  }
  t.data = std::move(data);
  t.shape = std::move(shape);
  return t;
}

Result<std::vector<Tensor>> ServedModel::InputsFromJson(const Json& value, bool rows) const {
  std::vector<Tensor> inputs;
  auto add = [&](const std::string& input, const Json& v, bool one_instance) -> Status {
    std::vector<float> data;
    std::vector<int64_t> shape;
    Status st = FlattenJson(v, data, shape);
    if (!st.ok())
      return st.WithPrefix("input '" + (input.empty() ? info->inputs[0].name : input) + "'");
    inputs.push_back(NewInput(input, std::move(data), std::move(shape), one_instance));
    return Status::Ok();
  };
  if (value.is_object()) {  // named inputs, each a whole tensor: {"x": [...], "y": [...]}
    if (value.empty()) return Err(InvalidArgumentError("no inputs given"));
    for (const auto& [input, v] : value.items()) RETURN_IF_ERROR(add(input, v, true));
  } else if (rows && value.is_array() && !value.empty() && value[0].is_object()) {
    // Rows of named inputs: [{"x": row, "y": row}, ...], stacked per input.
    std::map<std::string, Json> columns;
    for (const auto& [input, v] : value[0].items()) columns[input] = Json::array();
    for (const Json& row : value) {
      if (!row.is_object() || row.size() != columns.size()) {
        return Err(InvalidArgumentError("every instance must be an object with the same inputs"));
      }
      for (const auto& [input, v] : row.items()) {
        auto it = columns.find(input);
        if (it == columns.end()) {
          return Err(InvalidArgumentError("every instance must be an object with the same inputs"));
        }
        it->second.push_back(v);
      }
    }
    for (const auto& [input, column] : columns) RETURN_IF_ERROR(add(input, column, false));
  } else {
    RETURN_IF_ERROR(add("", value, true));
  }
  return inputs;
}

}  // namespace gantry::serving
