// What the tensorflow backend needs from a SavedModel's MetaGraphDef, without TensorFlow or a
// protobuf library: the SignatureDefs (inputs and outputs with their graph tensor names,
// dtypes and shapes, and the method name) and the TensorFlow version that wrote it, read by a
// small protobuf wire-format reader. Also the mapping between TensorFlow's DataType enum and
// the Open Inference Protocol's datatype names. Pure functions of their inputs; the bytes come
// from a model file and are treated as hostile (every length is bounded by what is left).
// Thread-safe: no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace gantry::serving {

// One entry of a SignatureDef's inputs or outputs map (a TensorInfo).
struct TfTensorInfo {
  std::string key;             // the map key: the name clients use ("x", "output_0")
  std::string tensor_name;     // the graph tensor, "operation:index" ("serving_default_x:0")
  int dtype = 0;               // TensorFlow's DataType enum (1 = DT_FLOAT); 0 when unset
  std::vector<int64_t> shape;  // -1 for an unknown dimension
  bool unknown_rank = false;   // the shape says nothing (shape is then empty)
};

struct TfSignature {
  std::string name;                   // the signature_def map key ("serving_default")
  std::string method_name;            // e.g. "tensorflow/serving/predict"
  std::vector<TfTensorInfo> inputs;   // sorted by key
  std::vector<TfTensorInfo> outputs;  // sorted by key
};

struct TfMetaGraph {
  std::string tensorflow_version;       // MetaInfoDef.tensorflow_version, "" when absent
  std::vector<std::string> tags;        // MetaInfoDef.tags ("serve")
  std::vector<TfSignature> signatures;  // sorted by name
};

// Parses a serialized MetaGraphDef. InvalidArgument naming what is malformed (truncated
// varint, a length past the end, a sparse or composite TensorInfo, which has no single
// tensor name). Unknown fields are skipped, as protobuf does.
Result<TfMetaGraph> ParseMetaGraph(std::string_view bytes);

// The signature called `name`, or NotFound naming the signatures there are.
Result<const TfSignature*> FindSignature(const TfMetaGraph& graph, std::string_view name);

// "FP32" for DT_FLOAT (1) and so on for the numeric and bool types; "BYTES" for DT_STRING;
// "" for types with no Open Inference datatype (resources, variants, complex, quantized).
std::string_view DatatypeOfTf(int dtype);
// The inverse: 0 for a name it does not know.
int TfDtypeOfDatatype(std::string_view datatype);
// TensorFlow's own name, as TF Serving's metadata writes it: "DT_FLOAT"; "DT_INVALID" for 0
// and unknown values.
std::string TfDtypeName(int dtype);

}  // namespace gantry::serving
