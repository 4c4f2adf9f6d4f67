// TensorFlowBackend: a SavedModel in process through TensorFlow's C API, taken from the
// tensorflow wheel of the deployment's environment (tensorflow_c_api.h). The plugin
// gantry_tensorflow.so holds it; nothing of TensorFlow is needed to build it.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <type_traits>

#include "common/logging.h"
#include "common/process.h"
#include "serving/model_backend.h"
#include "serving/tensorflow_c_api.h"
#include "serving/tf_signature.h"

namespace gantry::serving {
namespace {

constexpr char kLibraryName[] = "libtensorflow_cc.so.2";
// The releases whose wheel layout and C API this backend was checked against.
constexpr char kCheckedVersions[] = "2.21";

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

bool AllDigits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool IsSavedModel(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "saved_model.pb", ec) ||
         fs::is_regular_file(dir / "saved_model.pbtxt", ec);
}

// The SavedModel folder: `dir` itself, the highest numbered version in it (TF Serving's
// layout), or either one folder down (a registered model keeps its folder name).
Result<fs::path> FindSavedModel(const fs::path& dir) {
  std::error_code ec;
  auto in = [&ec](const fs::path& d) -> std::optional<fs::path> {
    if (IsSavedModel(d)) return d;
    std::optional<fs::path> best;
    long best_version = -1;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string n = e.path().filename().string();
      if (n.size() > 18 || !AllDigits(n)) continue;
      if (IsSavedModel(e.path()) && std::stol(n) > best_version) {
        best_version = std::stol(n);
        best = e.path();
      }
    }
    return best;
  };
  if (auto found = in(dir)) return *found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec)) {
      if (auto found = in(e.path())) return *found;
    }
  }
  return Err(NotFoundError("no TensorFlow SavedModel (saved_model.pb) in " + dir.string()));
}

// Where libtensorflow_cc.so.2 is: --tensorflow-lib, or the tensorflow package of `python`,
// found without importing it (an import costs seconds and would start TensorFlow twice).
Result<fs::path> FindLibrary(const ModelBackendOptions& options) {
  std::error_code ec;
  if (!options.tensorflow_lib.empty()) {
    fs::path p = options.tensorflow_lib;
    if (fs::is_directory(p, ec)) p /= kLibraryName;
    if (!fs::is_regular_file(p, ec)) {
      return Err(FailedPreconditionError("--tensorflow-lib " + options.tensorflow_lib.string() +
                                         ": no " + kLibraryName +
                                         " there (it is in the folder "
                                         "tf.sysconfig.get_lib() prints)"));
    }
    return p;
  }
  const char* path_env = std::getenv("PATH");
  auto python = FindExecutable({options.python}, path_env != nullptr ? path_env : "");
  if (!python) {
    return Err(FailedPreconditionError(
        "the tensorflow backend takes TensorFlow from a Python environment, but the "
        "interpreter '" +
        options.python + "' was not found; pass --python or --tensorflow-lib"));
  }
  constexpr char kScript[] =
      "import importlib.util as u\n"
      "s = u.find_spec('tensorflow')\n"
      "print('GANTRY_TF_DIR=' + (s.submodule_search_locations[0] if s and "
      "s.submodule_search_locations else ''))\n";
  auto out = RunCommand({python->string(), "-c", kScript});
  if (!out.has_value()) return Err(out.error());
  std::string dir;
  if (auto at = out->text.find("GANTRY_TF_DIR="); at != std::string::npos) {
    dir = FirstLine(out->text.substr(at + std::strlen("GANTRY_TF_DIR=")));
  }
  if (out->code != 0 || dir.empty()) {
    return Err(FailedPreconditionError(
        "TensorFlow is not installed in the Python environment of " + python->string() +
        " (it has no 'tensorflow' package); install tensorflow-cpu there (tested: " +
        kCheckedVersions + ".x), or pass --tensorflow-lib DIR"));
  }
  fs::path lib = fs::path(dir) / kLibraryName;
  if (!fs::is_regular_file(lib, ec)) {
    return Err(FailedPreconditionError(
        "the tensorflow package at " + dir + " (of " + python->string() + ") has no " +
        kLibraryName + "; the backend needs a TensorFlow 2 wheel that ships the C API (tested: " +
        kCheckedVersions + ".x)"));
  }
  return lib;
}

// ConfigProto{intra_op_parallelism_threads: 1, inter_op_parallelism_threads: -1}: requests
// already run concurrently on the HTTP loops (or one batch at a time on the batcher's thread),
// so each forward uses one thread, as the torchscript backend does, and that thread is the
// caller's (-1) rather than one of a shared inter-op pool, where concurrent forwards queued:
// an MNIST-sized DNN went from 6.9k to 13.8k requests/s at 8 connections on the 2-core
// development machine, and from 5.4k to 6.4k at one.
constexpr unsigned char kSessionConfigBytes[] = {
    0x10, 0x01,                                                        // field 2 (varint): 1
    0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,  // field 5: -1
};

// The element types this backend converts from and to the protocols' numbers.
bool Convertible(int dtype) {
  switch (dtype) {
    case kTfFloat:
    case kTfDouble:
    case kTfInt8:
    case kTfInt16:
    case kTfInt32:
    case kTfInt64:
    case kTfUint8:
    case kTfUint16:
    case kTfUint32:
    case kTfUint64:
    case kTfBool:
      return true;
    default:
      return false;
  }
}

// Writes `from` as T. Integers must be whole numbers within T's range: InvalidArgument naming
// the first one that is not (a float outside an integer's range has no defined conversion).
template <typename T>
Status Fill(void* to, const std::vector<float>& from, const std::string& input) {
  T* out = static_cast<T*>(to);
  for (size_t i = 0; i < from.size(); ++i) {
    const float v = from[i];
    if constexpr (std::is_integral_v<T>) {
      // The float nearest T's maximum may round above it; stay below 2^(digits).
      const double hi = std::ldexp(1.0, std::numeric_limits<T>::digits);
      const double lo = std::is_signed_v<T> ? -hi : 0.0;
      if (!(v >= lo && v < hi) || v != std::trunc(v)) {
        std::ostringstream text;
        text << v;
        return InvalidArgumentError("input '" + input + "' holds " + text.str() +
                                    ", which is not a value of its integer type");
      }
    }
    out[i] = static_cast<T>(v);
  }
  return Status::Ok();
}

template <typename T>
void Read(const void* from, size_t n, std::vector<float>& out) {
  const T* in = static_cast<const T*>(from);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

size_t ElementSize(int dtype) {
  switch (dtype) {
    case kTfDouble:
    case kTfInt64:
    case kTfUint64:
      return 8;
    case kTfFloat:
    case kTfInt32:
    case kTfUint32:
      return 4;
    case kTfInt16:
    case kTfUint16:
      return 2;
    default:
      return 1;
  }
}

struct Endpoint {
  TfTensorInfo info;
  TF_Output output{};
};

class TensorFlowBackend : public ModelBackend {
 public:
  explicit TensorFlowBackend(ModelBackendOptions options) : options_(std::move(options)) {}

  ~TensorFlowBackend() override {
    if (api_ == nullptr) return;
    TfStatusPtr status(api_->TF_NewStatus(), {api_});
    if (session_ != nullptr) {
      api_->TF_CloseSession(session_, status.get());
      api_->TF_DeleteSession(session_, status.get());
    }
    if (graph_ != nullptr) api_->TF_DeleteGraph(graph_);
  }

  Status Load(const fs::path& dir) override {
    ASSIGN_OR_RETURN(fs::path saved_model, FindSavedModel(dir));
    ASSIGN_OR_RETURN(fs::path library, FindLibrary(options_));
    // TensorFlow's C++ logging reads this when it starts: its info lines (CPU features, the
    // missing GPU) would fill every deployment log.
    ::setenv("TF_CPP_MIN_LOG_LEVEL", "1", /*overwrite=*/0);
    ASSIGN_OR_RETURN(api_, LoadTensorFlowCApi(library));
    std::string version = api_->TF_Version();
    if (!version.starts_with("2.")) {
      return FailedPreconditionError("TensorFlow " + version + " at " + library.string() +
                                     " is not supported; the tensorflow backend serves with "
                                     "TensorFlow 2 (tested: " +
                                     kCheckedVersions + ".x)");
    }
    if (!version.starts_with(std::string(kCheckedVersions) + ".")) {
      GLOG(Warning) << "TensorFlow " << version << " (" << library.string()
                    << ") has not been tested with Gantry's tensorflow backend (tested: "
                    << kCheckedVersions << ".x)";
    }

    TfStatusPtr status(api_->TF_NewStatus(), {api_});
    auto* session_options = api_->TF_NewSessionOptions();
    api_->TF_SetConfig(session_options, kSessionConfigBytes, sizeof(kSessionConfigBytes),
                       status.get());
    if (api_->TF_GetCode(status.get()) != 0) {
      api_->TF_DeleteSessionOptions(session_options);
      return InternalError(std::string("TF_SetConfig: ") + api_->TF_Message(status.get()));
    }
    graph_ = api_->TF_NewGraph();
    TF_Buffer* meta = api_->TF_NewBuffer();
    const char* tags[] = {"serve"};
    session_ = api_->TF_LoadSessionFromSavedModel(session_options, nullptr, saved_model.c_str(),
                                                  tags, 1, graph_, meta, status.get());
    api_->TF_DeleteSessionOptions(session_options);
    if (api_->TF_GetCode(status.get()) != 0 || session_ == nullptr) {
      api_->TF_DeleteBuffer(meta);
      session_ = nullptr;
      return InvalidArgumentError("cannot load the TensorFlow SavedModel " + saved_model.string() +
                                  " (tag 'serve'): " + FirstLine(api_->TF_Message(status.get())));
    }
    auto graph =
        ParseMetaGraph(std::string_view(static_cast<const char*>(meta->data), meta->length));
    api_->TF_DeleteBuffer(meta);
    if (!graph.has_value()) {
      return InvalidArgumentError("SavedModel " + saved_model.string() + ": " +
                                  graph.error().message());
    }
    auto signature = FindSignature(*graph, options_.signature);
    if (!signature.has_value()) {
      return NotFoundError("SavedModel " + saved_model.string() + ": " +
                           signature.error().message());
    }
    const TfSignature& sig = **signature;
    if (sig.inputs.empty()) {
      return InvalidArgumentError("signature '" + sig.name + "' of " + saved_model.string() +
                                  " has no inputs");
    }
    for (bool is_input : {true, false}) {
      for (const TfTensorInfo& t : is_input ? sig.inputs : sig.outputs) {
        if (!Convertible(t.dtype)) {
          return InvalidArgumentError(
              std::string("signature '") + sig.name + "' " + (is_input ? "input" : "output") +
              " '" + t.key + "' has dtype " + TfDtypeName(t.dtype) +
              ", which the tensorflow backend does not serve (numbers and bools only); deploy "
              "it with a scoring script");
        }
        ASSIGN_OR_RETURN(Endpoint e, Resolve(t));
        (is_input ? inputs_ : outputs_).push_back(std::move(e));
        TensorSpec spec{t.key, std::string(DatatypeOfTf(t.dtype)), t.shape, t.unknown_rank};
        (is_input ? info_.inputs : info_.outputs).push_back(std::move(spec));
      }
    }
    info_.platform = "tensorflow_savedmodel";
    info_.signature = sig.name;
    info_.method_name = sig.method_name;
    GLOG(Info) << "TensorFlow " << version << " (" << library.string() << ") loaded "
               << saved_model.string() << ", signature '" << sig.name << "'";
    return Status::Ok();
  }

  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    // Which request tensor feeds which signature input: by name (front-ends whose protocol
    // has no names send the first input's).
    std::vector<const Tensor*> feed(inputs_.size(), nullptr);
    for (const Tensor& t : inputs) {
      auto it = std::find_if(inputs_.begin(), inputs_.end(),
                             [&](const Endpoint& e) { return e.info.key == t.name; });
      if (it == inputs_.end()) {
        return Err(InvalidArgumentError("signature '" + info_.signature + "' has no input '" +
                                        t.name + "'; its inputs are " + InputNames()));
      }
      size_t i = static_cast<size_t>(it - inputs_.begin());
      if (feed[i] != nullptr)
        return Err(InvalidArgumentError("input '" + t.name + "' is given twice"));
      feed[i] = &t;
    }
    for (size_t i = 0; i < feed.size(); ++i) {
      if (feed[i] == nullptr) {
        return Err(InvalidArgumentError("signature '" + info_.signature + "' needs input '" +
                                        inputs_[i].info.key + "'; its inputs are " + InputNames()));
      }
    }

    std::vector<TfTensorPtr> owned;
    std::vector<TF_Tensor*> values;
    std::vector<TF_Output> feeds;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const TfTensorInfo& spec = inputs_[i].info;
      const Tensor& t = *feed[i];
      const std::string_view expected = DatatypeOfTf(spec.dtype);
      if (t.datatype != expected) {
        return Err(InvalidArgumentError("input '" + spec.key + "' has datatype " + t.datatype +
                                        "; signature '" + info_.signature + "' expects " +
                                        std::string(expected)));
      }
      RETURN_IF_ERROR(CheckShape(spec, t));
      // TensorFlow aborts the process on a shape whose size overflows: check before it sees one.
      uint64_t count = 1;
      bool overflow = false;
      for (int64_t d : t.shape) {
        if (d < 0 || (d > 0 && count > (uint64_t{1} << 62) / static_cast<uint64_t>(d))) {
          overflow = true;
          break;
        }
        count *= static_cast<uint64_t>(d);
      }
      if (overflow || count != t.data.size()) {
        return Err(InvalidArgumentError("input '" + spec.key + "' has shape " + ShapeText(t.shape) +
                                        ", which does not hold its " +
                                        std::to_string(t.data.size()) + " values"));
      }
      TfTensorPtr tensor(
          api_->TF_AllocateTensor(spec.dtype, t.shape.data(), static_cast<int>(t.shape.size()),
                                  t.data.size() * ElementSize(spec.dtype)),
          {api_});
      if (tensor == nullptr) return Err(InternalError("TensorFlow could not allocate a tensor"));
      void* data = api_->TF_TensorData(tensor.get());
      Status filled = Status::Ok();
      switch (spec.dtype) {
        case kTfFloat:
          std::memcpy(data, t.data.data(), t.data.size() * sizeof(float));
          break;
        case kTfDouble:
          filled = Fill<double>(data, t.data, spec.key);
          break;
        case kTfInt8:
          filled = Fill<int8_t>(data, t.data, spec.key);
          break;
        case kTfInt16:
          filled = Fill<int16_t>(data, t.data, spec.key);
          break;
        case kTfInt32:
          filled = Fill<int32_t>(data, t.data, spec.key);
          break;
        case kTfInt64:
          filled = Fill<int64_t>(data, t.data, spec.key);
          break;
        case kTfUint8:
          filled = Fill<uint8_t>(data, t.data, spec.key);
          break;
        case kTfUint16:
          filled = Fill<uint16_t>(data, t.data, spec.key);
          break;
        case kTfUint32:
          filled = Fill<uint32_t>(data, t.data, spec.key);
          break;
        case kTfUint64:
          filled = Fill<uint64_t>(data, t.data, spec.key);
          break;
        case kTfBool: {
          auto* out = static_cast<uint8_t*>(data);
          for (size_t k = 0; k < t.data.size(); ++k) out[k] = t.data[k] != 0.0f;
          break;
        }
      }
      RETURN_IF_ERROR(filled);
      feeds.push_back(inputs_[i].output);
      values.push_back(tensor.get());
      owned.push_back(std::move(tensor));
    }

    std::vector<TF_Output> fetches;
    for (const auto& e : outputs_) fetches.push_back(e.output);
    std::vector<TF_Tensor*> results(fetches.size(), nullptr);
    TfStatusPtr status(api_->TF_NewStatus(), {api_});
    api_->TF_SessionRun(session_, nullptr, feeds.data(), values.data(),
                        static_cast<int>(feeds.size()), fetches.data(), results.data(),
                        static_cast<int>(fetches.size()), nullptr, 0, nullptr, status.get());
    std::vector<TfTensorPtr> results_owned;
    for (TF_Tensor* r : results) results_owned.emplace_back(r, TfTensorDeleter{api_});
    if (api_->TF_GetCode(status.get()) != 0) {
      return Err(InvalidArgumentError("the model rejected the input: " +
                                      FirstLine(api_->TF_Message(status.get()))));
    }
    std::vector<Tensor> out;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      TF_Tensor* r = results[i];
      if (r == nullptr) return Err(InternalError("TensorFlow returned no output"));
      Tensor o;
      o.name = outputs_[i].info.key;
      int dtype = api_->TF_TensorType(r);
      o.datatype = std::string(DatatypeOfTf(dtype));
      for (int d = 0; d < api_->TF_NumDims(r); ++d) o.shape.push_back(api_->TF_Dim(r, d));
      auto n = static_cast<size_t>(api_->TF_TensorElementCount(r));
      const void* data = api_->TF_TensorData(r);
      if (n * ElementSize(dtype) > api_->TF_TensorByteSize(r)) {
        return Err(InternalError("output '" + o.name + "' is smaller than its shape says"));
      }
      switch (dtype) {
        case kTfFloat:
          Read<float>(data, n, o.data);
          break;
        case kTfDouble:
          Read<double>(data, n, o.data);
          break;
        case kTfInt8:
          Read<int8_t>(data, n, o.data);
          break;
        case kTfInt16:
          Read<int16_t>(data, n, o.data);
          break;
        case kTfInt32:
          Read<int32_t>(data, n, o.data);
          break;
        case kTfInt64:
          Read<int64_t>(data, n, o.data);
          break;
        case kTfUint8:
        case kTfBool:
          Read<uint8_t>(data, n, o.data);
          break;
        case kTfUint16:
          Read<uint16_t>(data, n, o.data);
          break;
        case kTfUint32:
          Read<uint32_t>(data, n, o.data);
          break;
        case kTfUint64:
          Read<uint64_t>(data, n, o.data);
          break;
        default:
          return Err(InternalError("output '" + o.name + "' has dtype " + TfDtypeName(dtype) +
                                   ", which the tensorflow backend cannot return"));
      }
      out.push_back(std::move(o));
    }
    return out;
  }

  const ModelInfo& info() const override { return info_; }

 private:
  // The graph operation and output index of "operation:index".
  Result<Endpoint> Resolve(const TfTensorInfo& t) {
    Endpoint e{t, {}};
    std::string op = t.tensor_name;
    int index = 0;
    if (auto colon = op.rfind(':'); colon != std::string::npos) {
      const std::string digits = op.substr(colon + 1);
      if (digits.size() > 6 || !AllDigits(digits)) {
        return Err(InvalidArgumentError("tensor '" + t.key + "' has a malformed graph name '" +
                                        t.tensor_name + "'"));
      }
      index = std::stoi(digits);
      op.resize(colon);
    }
    e.output.oper = api_->TF_GraphOperationByName(graph_, op.c_str());
    e.output.index = index;
    if (e.output.oper == nullptr) {
      return Err(InvalidArgumentError("signature tensor '" + t.key + "' names operation '" + op +
                                      "', which is not in the SavedModel's graph"));
    }
    return e;
  }

  Status CheckShape(const TfTensorInfo& spec, const Tensor& t) const {
    if (spec.unknown_rank) return Status::Ok();
    bool ok = spec.shape.size() == t.shape.size();
    for (size_t i = 0; ok && i < spec.shape.size(); ++i) {
      ok = spec.shape[i] < 0 || spec.shape[i] == t.shape[i];
    }
    if (ok) return Status::Ok();
    return InvalidArgumentError("input '" + spec.key + "' has shape " + ShapeText(t.shape) +
                                "; signature '" + info_.signature + "' expects " +
                                ShapeText(spec.shape) + " (-1: any size)");
  }

  std::string InputNames() const {
    std::string names;
    for (const auto& e : inputs_) names += (names.empty() ? "'" : ", '") + e.info.key + "'";
    return names;
  }

  ModelBackendOptions options_;
  const TensorFlowCApi* api_ = nullptr;
  TF_Graph* graph_ = nullptr;
  TF_Session* session_ = nullptr;
  std::vector<Endpoint> inputs_, outputs_;
  ModelInfo info_;
};

}  // namespace
}  // namespace gantry::serving

// The plugin's one entry point (model_backend_loader.cc): a new backend, owned by the caller.
extern "C" __attribute__((visibility("default"))) gantry::serving::ModelBackend*
gantry_new_tensorflow_backend(const gantry::serving::ModelBackendOptions* options) {
  return new gantry::serving::TensorFlowBackend(*options);
}
