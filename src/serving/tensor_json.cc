#include "serving/tensor_json.h"

#include <algorithm>

#include "serving/answer_text.h"

namespace gantry::serving {
namespace {

Status Flatten(const Json& value, std::vector<float>& out, std::vector<int64_t>& shape,
               size_t depth) {
  if (value.is_number() || value.is_boolean()) {
    if (depth != shape.size()) return InvalidArgumentError("ragged or mixed nesting");
    out.push_back(value.is_boolean() ? (value.get<bool>() ? 1.0f : 0.0f) : value.get<float>());
    return Status::Ok();
  }
  if (!value.is_array()) {
    return InvalidArgumentError("expected numbers, got " + std::string(value.type_name()));
  }
  if (depth == shape.size()) {
    if (!out.empty()) return InvalidArgumentError("ragged or mixed nesting");  // [1, [2]]
    shape.push_back(static_cast<int64_t>(value.size()));
  } else if (depth > shape.size() || shape[depth] != static_cast<int64_t>(value.size())) {
    return InvalidArgumentError("rows have different lengths");
  }
  for (const auto& v : value) RETURN_IF_ERROR(Flatten(v, out, shape, depth + 1));
  return Status::Ok();
}

// The values from `offset` on, nested along t.shape from dimension `dim`.
Json Nest(const Tensor& t, size_t dim, size_t& offset) {
  if (dim == t.shape.size()) return ValueJson(t.data[offset++], t.datatype);
  Json a = Json::array();
  for (int64_t i = 0; i < t.shape[dim]; ++i) a.push_back(Nest(t, dim + 1, offset));
  return a;
}

bool Consistent(const Tensor& t) {
  size_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
  return n == t.data.size();
}

// The tensor split along its first dimension, each row nested.
Result<Json> Rows(const Tensor& t) {
  if (t.shape.empty()) {
    return Err(InvalidArgumentError("output '" + t.name +
                                    "' is a scalar, which has no rows; "
                                    "ask for columnar \"inputs\" instead"));
  }
  return NestedJson(t);
}

}  // namespace

Status FlattenJson(const Json& value, std::vector<float>& out, std::vector<int64_t>& shape) {
  return Flatten(value, out, shape, 0);
}

Json ValueJson(float v, const std::string& datatype) {
  switch (FormOf(v, datatype == "BOOL", IsIntegerDatatype(datatype))) {
    case ValueForm::kBool:
      return Json(v != 0.0f);
    case ValueForm::kInteger:
      return Json(static_cast<int64_t>(v));
    case ValueForm::kFloat:
    case ValueForm::kNull:  // the JSON library writes a non-finite number as null
      return Json(v);
  }
  return Json(v);
}

Result<Json> NestedJson(const Tensor& t) {
  if (!Consistent(t)) return Err(InternalError("output '" + t.name + "' does not match its shape"));
  size_t offset = 0;
  return Nest(t, 0, offset);
}

Result<Json> RowsOfOutputs(const std::vector<Tensor>& outputs) {
  if (outputs.empty()) return Err(InvalidArgumentError("the model returned no output"));
  if (outputs.size() == 1) return Rows(outputs[0]);
  std::vector<Json> rows_of;
  int64_t n = -1;
  for (const Tensor& t : outputs) {
    ASSIGN_OR_RETURN(Json rows, Rows(t));
    if (n >= 0 && t.shape[0] != n) {
      return Err(InvalidArgumentError(
          "the outputs have different first dimensions, so they cannot be split into rows; "
          "ask for columnar \"inputs\" instead"));
    }
    n = t.shape[0];
    rows_of.push_back(std::move(rows));
  }
  Json rows = Json::array();
  for (int64_t i = 0; i < n; ++i) {
    Json row = Json::object();
    for (size_t k = 0; k < outputs.size(); ++k) row[outputs[k].name] = rows_of[k][i];
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<Json> ColumnsOfOutputs(const std::vector<Tensor>& outputs) {
  if (outputs.empty()) return Err(InvalidArgumentError("the model returned no output"));
  if (outputs.size() == 1) return NestedJson(outputs[0]);
  Json columns = Json::object();
  for (const Tensor& t : outputs) {
    ASSIGN_OR_RETURN(columns[t.name], NestedJson(t));
  }
  return columns;
}

}  // namespace gantry::serving
