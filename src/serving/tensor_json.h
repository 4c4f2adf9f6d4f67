// Tensors to and from JSON trees: what the protocol front-ends' general paths read and
// write (any request shape the protocols allow, with an error naming what is wrong). The hot
// requests skip the tree: fast_json.h reads them and answer_text.h writes their answers, to
// the same documents. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "serving/model_backend.h"

namespace gantry::serving {

// Appends nested JSON arrays of numbers (or bools, as 1 and 0) to `out` row by row, and their
// dimensions to `shape`. InvalidArgument for ragged rows, mixed nesting or non-numbers.
Status FlattenJson(const Json& value, std::vector<float>& out, std::vector<int64_t>& shape);

// One output value as JSON, in the form FormOf (answer_text.h) gives it.
Json ValueJson(float v, const std::string& datatype);

// The whole tensor as nested lists (TF Serving's columnar "outputs"). Internal when its values
// do not fill its shape.
Result<Json> NestedJson(const Tensor& t);

// Row answers for all outputs (TF Serving's "predictions"): the one output's rows, or, for
// several, one object per row, {output name: that output's row}. InvalidArgument for a scalar
// output or outputs with different first dimensions, saying to ask for columns instead.
Result<Json> RowsOfOutputs(const std::vector<Tensor>& outputs);

// Columnar answers (/score's answer, TF Serving's "outputs"): the one output's value, or
// {output name: value}.
Result<Json> ColumnsOfOutputs(const std::vector<Tensor>& outputs);

}  // namespace gantry::serving
