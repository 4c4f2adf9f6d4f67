// The model server's answers written as JSON text straight from the output tensors, without
// building a JSON tree: the hot path of every protocol. Each function gives the same
// document the tree-building answer gives (numbers in their shortest round-trip form: a
// float32 output as the float's digits), or nullopt where that answer would be an error
// (a scalar output asked for as rows, outputs with different first dimensions, a tensor
// whose values do not fill its shape): the caller then builds the answer the slow way,
// which says what is wrong. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "serving/model_backend.h"

namespace gantry::serving {

// INT8 ... INT64 and UINT8 ... UINT64.
bool IsIntegerDatatype(const std::string& datatype);

// How every answer, these and the tree-building ones (tensor_json.h), writes one output value
// (the backends hand every value over as a float): a BOOL as true or false; an integer
// datatype's finite value below 2^63 as an integer; NaN and infinities as null (JSON has
// neither); anything else as a float.
enum class ValueForm { kBool, kInteger, kFloat, kNull };
ValueForm FormOf(float v, bool is_bool, bool is_integer);

// TF Serving's row answer, `{"predictions": ROWS}`: one output's rows, or, for several, one
// object per row, {output name: that output's row} (TF Serving's multi-output row format).
std::optional<std::string> PredictionsText(const std::vector<Tensor>& outputs);

// /score's answer: the one output as nested lists, or {output name: nested lists}.
std::optional<std::string> ColumnsText(const std::vector<Tensor>& outputs);

// The Open Inference v2 answer with every output as JSON data:
// {"id"?: ID, "model_name": NAME, "model_version": VERSION,
//  "outputs": [{"data": [flat values], "datatype", "name", "shape"}]}.
std::string V2AnswerText(const std::string& model_name, const std::string& model_version,
                         const std::vector<Tensor>& outputs, const std::optional<std::string>& id);

}  // namespace gantry::serving
