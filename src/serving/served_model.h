// ServedModel: what every protocol front-end of `gantry serve` knows of the one model it
// serves (its name and version, its tensors, the scheduler its requests go to, or the
// RawScorer that takes /score bodies as they come), and the request-reading rules the
// front-ends share. Owned by ModelServer, which outlives its front-ends' routes. Immutable
// after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "http/http_types.h"
#include "serving/model_backend.h"
#include "serving/raw_scorer.h"
#include "serving/scheduler.h"

namespace gantry::serving {

struct ServedModel {
  std::string name;
  std::string version;
  std::string backend;                  // the backend's kind, as `gantry serve --backend` names it
  const ModelInfo* info = nullptr;      // the backend's tensors; null over a RawScorer
  InferScheduler* scheduler = nullptr;  // null over a RawScorer
  RawScorer* scorer = nullptr;          // null over a ModelBackend
  // One input, of rows: the simdjson fast paths of `:predict` and `/score` read it.
  bool fast_rows = false;

  // Whether the route's {name} and {version} (if any) are this model's.
  bool Known(const http::Request& request) const;
  // Whether `path`, NAME or NAME/versions/VERSION, is this model (paths the router did not
  // split: the fast paths).
  bool IsThisModel(std::string_view path) const;
  // The request tensor for input `name` ("" = the first) with the model's datatype (the
  // JSON protocols carry none); with `one_instance`, a single row where the model takes rows
  // becomes a batch of one.
  Tensor NewInput(const std::string& name, std::vector<float> data, std::vector<int64_t> shape,
                  bool one_instance) const;
  // The input tensors of a TF Serving `instances` (rows: true) or `inputs` value, or of
  // /score's data: one tensor of rows, {name: tensor}, or (rows) [{name: row}, ...].
  // InvalidArgument naming the input whose values are not a tensor.
  Result<std::vector<Tensor>> InputsFromJson(const Json& value, bool rows) const;
};

}  // namespace gantry::serving
