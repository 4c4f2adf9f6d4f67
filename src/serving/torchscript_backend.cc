// The only file that includes libtorch.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/script.h>

#include <mutex>

#include "common/json.h"
#include "serving/model_backend.h"

namespace gantry::serving {
namespace {

// Finds model.pt in `dir` or one folder below (a registered model keeps its folder name).
Result<fs::path> FindModelFile(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_regular_file(dir, ec)) return dir;
  if (fs::exists(dir / "model.pt", ec)) return dir / "model.pt";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && fs::exists(e.path() / "model.pt", ec)) return e.path() / "model.pt";
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".pt" || e.path().extension() == ".pth") return e.path();
  }
  return Err(NotFoundError("no TorchScript model (model.pt) in " + dir.string()));
}

// libtorch's matrix products go to the system BLAS, here OpenBLAS, whose own thread pool
// at::set_num_threads does not reach. Its threads busy-wait between calls and take the cores
// the HTTP loops need: on the 2-core development machine a batch-32 MNIST forward took
// 570 us with them and 211 us without. Looked up at run time, so other BLAS builds link too.
void UseOneBlasThread() {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
}

class TorchScriptBackend : public ModelBackend {
 public:
  Status Load(const fs::path& dir) override {
    ASSIGN_OR_RETURN(fs::path file, FindModelFile(dir));
    // Requests run concurrently on connection threads (or one batch at a time on the
    // Batcher's); one intra-op thread each avoids oversubscribing the cores (and its spin-up
    // cost dominates small forwards).
    at::set_num_threads(1);
    UseOneBlasThread();
    try {
      module_ = torch::jit::load(file.string());
      module_.eval();
    } catch (const std::exception& e) {
      std::string what = e.what();
      return InvalidArgumentError("cannot load TorchScript model " + file.string() + ": " +
                                  what.substr(0, what.find('\n')));
    }
    info_.platform = "pytorch_torchscript";
    TensorSpec in{"input", "FP32", {-1, -1}}, out{"output", "FP32", {-1, -1}};
    // model.json (written by examples/mnist/src/train.py) names and shapes the tensors.
    if (auto text = ReadFile(file.parent_path() / "model.json"); text.has_value()) {
      Json meta = Json::parse(*text, nullptr, false);
      if (meta.is_object()) {
        auto spec = [](const Json& j, TensorSpec& s) {
          if (!j.is_object()) return;
          s.name = j.value("name", s.name);
          if (j.contains("shape") && j["shape"].is_array()) {
            s.shape = j["shape"].get<std::vector<int64_t>>();
          }
        };
        // {"inputs": [{"name", "shape"}], "outputs": [...]}, first entry of each.
        auto first = [&meta](const char* key) {
          const Json list = meta.value(key, Json::array());
          return list.is_array() && !list.empty() ? list[0] : Json();
        };
        spec(first("inputs"), in);
        spec(first("outputs"), out);
      }
    }
    info_.inputs = {in};
    info_.outputs = {out};
    return Status::Ok();
  }

  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    if (inputs.size() != 1) {
      return Err(
          InvalidArgumentError("model expects 1 input, got " + std::to_string(inputs.size())));
    }
    const Tensor& in = inputs[0];
    if (in.datatype != "FP32") {
      return Err(InvalidArgumentError("input '" + in.name + "' has datatype " + in.datatype +
                                      "; the model expects FP32"));
    }
    const auto& expected = info_.inputs[0].shape;
    if (expected.size() == in.shape.size()) {
      for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] >= 0 && expected[i] != in.shape[i]) {
          return Err(InvalidArgumentError("input '" + in.name + "' has shape " +
                                          ShapeText(in.shape) + "; the model expects " +
                                          ShapeText(expected)));
        }
      }
    } else if (expected.size() > 1 && in.shape.size() != expected.size()) {
      return Err(InvalidArgumentError("input '" + in.name + "' has shape " + ShapeText(in.shape) +
                                      "; the model expects " + ShapeText(expected)));
    }
    try {
      // Inference mode: no autograd bookkeeping at all (cheaper per op than NoGradGuard).
      c10::InferenceMode inference;
      // from_blob does not copy; the request's buffer outlives the forward call.
      at::Tensor x =
          torch::from_blob(const_cast<float*>(in.data.data()), in.shape, torch::kFloat32);
      at::Tensor y = module_.forward({x}).toTensor().contiguous().to(torch::kFloat32);
      Tensor out;
      out.name = info_.outputs[0].name;
      out.shape.assign(y.sizes().begin(), y.sizes().end());
      out.data.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
      return std::vector<Tensor>{std::move(out)};
    } catch (const std::exception& e) {
      std::string what = e.what();
      return Err(InvalidArgumentError("the model rejected input '" + in.name + "' of shape " +
                                      ShapeText(in.shape) + ": " +
                                      what.substr(0, what.find('\n'))));
    }
  }

  const ModelInfo& info() const override { return info_; }

 private:
  static std::string ShapeText(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }

  torch::jit::script::Module module_;
  ModelInfo info_;
};

}  // namespace

}  // namespace gantry::serving

// The plugin's one entry point (model_backend_loader.cc): a new backend, owned by the caller.
extern "C" __attribute__((visibility("default"))) gantry::serving::ModelBackend*
gantry_new_torchscript_backend() {
  return new gantry::serving::TorchScriptBackend();
}
