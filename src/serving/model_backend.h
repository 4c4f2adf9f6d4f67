// ModelBackend: runs one model. The model server's protocol front-ends parse requests into
// Tensors and hand them to a scheduler (scheduler.h), which calls Infer, with one request's
// tensors or with several requests stacked into a batch; backends know nothing of HTTP or of
// batching. Chosen by NewModelBackend().
// Implementations are thread-safe for concurrent Infer calls after Load.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/status.h"

namespace gantry::serving {

// A dense tensor. Its values travel as floats whatever `datatype` says (integers and bools
// too: exact up to 2^24); a backend converts them to and from the model's own types.
struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::string datatype = "FP32";
  std::vector<float> data;
};

struct TensorSpec {
  std::string name;
  std::string datatype = "FP32";
  std::vector<int64_t> shape;  // -1 for a variable dimension
  bool unknown_rank = false;   // any shape at all (shape is then empty)
};

struct ModelInfo {
  std::string platform;  // e.g. "pytorch_torchscript", "tensorflow_savedmodel"
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  // The SignatureDef served ("serving_default") and its method name; "" for models that
  // have none (TorchScript).
  std::string signature;
  std::string method_name;
};

// What a backend needs beyond the model folder.
struct ModelBackendOptions {
  // tensorflow: the folder holding libtensorflow_cc.so.2 (what tf.sysconfig.get_lib()
  // prints), or that file. Empty (default): the tensorflow package of `python`.
  fs::path tensorflow_lib;
  // tensorflow: the interpreter of the environment whose tensorflow wheel provides the C API;
  // a bare name is looked up on PATH. It is asked where the package is, without importing it.
  std::string python = "python3";
  // tensorflow: the SignatureDef to serve.
  std::string signature = "serving_default";
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  // Loads the model in `dir`. NotFound / InvalidArgument with the loader's message.
  virtual Status Load(const fs::path& dir) = 0;
  // Runs the model. InvalidArgument naming the input for a wrong shape or datatype.
  virtual Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) = 0;
  virtual const ModelInfo& info() const = 0;
};

// "torchscript": libtorch in process (model.pt, TorchScript), from the plugin
// gantry_torchscript.so; "tensorflow": a SavedModel through TensorFlow's C API, from the plugin
// gantry_tensorflow.so, which loads the C API of an installed tensorflow wheel in Load
// (FailedPrecondition naming the environment when it has none). Plugins are loaded on first
// use (FailedPrecondition naming where it looked when one is missing). Unimplemented for
// other kinds.
Result<std::unique_ptr<ModelBackend>> NewModelBackend(const std::string& kind,
                                                      const ModelBackendOptions& options = {});

}  // namespace gantry::serving
