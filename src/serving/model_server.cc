#include "serving/model_server.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "common/json.h"
#include "serving/answer_text.h"
#include "serving/batcher.h"
#include "serving/tensor_bytes.h"
#include "serving/tf_signature.h"

namespace gantry::serving {

using http::Request;
using http::Response;

namespace {

// Latency histogram bucket bounds in microseconds (Prometheus `le`).
constexpr int64_t kBucketsUs[8] = {100, 250, 500, 1000, 2500, 10000, 100000, 1000000};

Response V2Error(int status, const std::string& message) {
  return Response::FromJson(status, {{"error", message}});
}

// Flattens nested JSON arrays of numbers row by row; InvalidArgument for ragged rows or
// non-numbers.
Status Flatten(const Json& value, std::vector<float>& out, std::vector<int64_t>& shape,
               size_t depth) {
  if (value.is_number() || value.is_boolean()) {
    if (depth != shape.size()) return InvalidArgumentError("ragged or mixed nesting");
    out.push_back(value.is_boolean() ? (value.get<bool>() ? 1.0f : 0.0f) : value.get<float>());
    return Status::Ok();
  }
  if (!value.is_array()) return InvalidArgumentError("expected numbers, got " + std::string(value.type_name()));
  if (depth == shape.size()) {
    if (!out.empty()) return InvalidArgumentError("ragged or mixed nesting");  // [1, [2]]
    shape.push_back(static_cast<int64_t>(value.size()));
  } else if (depth > shape.size() || shape[depth] != static_cast<int64_t>(value.size())) {
    return InvalidArgumentError("rows have different lengths");
  }
  for (const auto& v : value) RETURN_IF_ERROR(Flatten(v, out, shape, depth + 1));
  return Status::Ok();
}

// One value as JSON: integers and bools as such (the backends hand every value over as a
// float), floats as floats (NaN and infinities become null).
Json ValueJson(float v, const std::string& datatype) {
  if (datatype == "BOOL") return Json(v != 0.0f);
  // 2^63 and beyond (a UINT64) have no int64: written as a number all the same.
  if (IsIntegerDatatype(datatype) && std::isfinite(v) && std::fabs(v) < 9.2e18f) {
    return Json(static_cast<int64_t>(v));
  }
  return Json(v);
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

// The whole tensor as nested lists (TF Serving's columnar "outputs").
Result<Json> NestedJson(const Tensor& t) {
  if (!Consistent(t)) return Err(InternalError("output '" + t.name + "' does not match its shape"));
  size_t offset = 0;
  return Nest(t, 0, offset);
}

// The tensor split along its first dimension, each row nested (TF Serving's "predictions",
// /score's answer).
Result<Json> Rows(const Tensor& t) {
  if (t.shape.empty()) {
    return Err(InvalidArgumentError("output '" + t.name + "' is a scalar, which has no rows; "
                                    "ask for columnar \"inputs\" instead"));
  }
  return NestedJson(t);
}

// Row answers for all outputs: the one output's rows, or (TF Serving's multi-output row
// format) one object per row, {output name: that output's row}.
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

// Columnar answers: the one output's value, or {output name: value}.
Result<Json> ColumnsOfOutputs(const std::vector<Tensor>& outputs) {
  if (outputs.empty()) return Err(InvalidArgumentError("the model returned no output"));
  if (outputs.size() == 1) return NestedJson(outputs[0]);
  Json columns = Json::object();
  for (const Tensor& t : outputs) {
    ASSIGN_OR_RETURN(columns[t.name], NestedJson(t));
  }
  return columns;
}

}  // namespace

Result<std::unique_ptr<ModelServer>> ModelServer::Create(ModelServerOptions options) {
  std::error_code ec;
  if (!fs::exists(options.model_dir, ec)) {
    return Err(NotFoundError("model folder " + options.model_dir.string() + " does not exist"));
  }
  if (options.name.empty()) {
    fs::path p = fs::absolute(options.model_dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    options.name = p.filename().string();
  }
  ASSIGN_OR_RETURN(auto backend, NewModelBackend(options.backend, options.backend_options));
  RETURN_IF_ERROR(backend->Load(options.model_dir));
  if (options.max_batch_size > 0) {
    backend = std::make_unique<Batcher>(
        std::move(backend), BatcherOptions{options.max_batch_size, options.max_queue_delay_us});
  }
  return std::unique_ptr<ModelServer>(
      new ModelServer(std::move(options), std::move(backend), nullptr));
}

Result<std::unique_ptr<ModelServer>> ModelServer::Create(ModelServerOptions options,
                                                         std::unique_ptr<RawScorer> scorer) {
  if (options.name.empty()) {
    if (options.model_dir.empty()) return Err(InvalidArgumentError("the served model needs a name"));
    fs::path p = fs::absolute(options.model_dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    options.name = p.filename().string();
  }
  return std::unique_ptr<ModelServer>(
      new ModelServer(std::move(options), nullptr, std::move(scorer)));
}

ModelServer::ModelServer(ModelServerOptions options, std::unique_ptr<ModelBackend> backend,
                         std::unique_ptr<RawScorer> scorer)
    : options_(std::move(options)), backend_(std::move(backend)), scorer_(std::move(scorer)) {
  if (scorer_) {
    AddScorerRoutes();
  } else {
    // The simdjson fast paths of `:predict` and `/score` read one tensor of rows: for models
    // with one input that takes rows (any outputs).
    const ModelInfo& info = backend_->info();
    fast_rows_ = info.inputs.size() == 1 && !info.inputs[0].unknown_rank &&
                 info.inputs[0].shape.size() == 2;
    AddRoutes();
  }
}

bool ModelServer::Drain(std::chrono::milliseconds max_wait) {
  draining_ = true;
  std::unique_lock<std::mutex> lock(drain_mu_);
  return drained_.wait_for(lock, max_wait, [this] { return in_flight_.load() == 0; });
}

Response ModelServer::Handle(Request& request) {
  // Counted before draining_ is read, so that Drain() either sees this request or this
  // request sees the drain.
  ++in_flight_;
  struct Done {
    ModelServer* self;
    ~Done() {
      if (--self->in_flight_ == 0 && self->draining_) {
        std::lock_guard<std::mutex> lock(self->drain_mu_);
        self->drained_.notify_all();
      }
    }
  } done{this};
  if (draining_) return Response::FromJson(503, {{"error", "the server is shutting down"}});
  auto start = std::chrono::steady_clock::now();
  Response r = router_.Route(request);
  if (request.path != "/metrics") Record(start, r.status);
  return r;
}

void ModelServer::Record(std::chrono::steady_clock::time_point start, int status) {
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - start).count();
  ++requests_;
  if (status >= 400) ++failures_;
  latency_us_total_ += us;
  for (int i = 0; i < 8; ++i) {
    if (us <= kBucketsUs[i]) ++latency_buckets_[i];
  }
}

void ModelServer::HandleAsync(Request& request, http::Responder responder) {
  auto start = std::chrono::steady_clock::now();
  // The requests the `:predict`, `/score` and v2 `/infer` routes would read the common way,
  // found without the router and parsed with simdjson. Whatever this does not read (other
  // shapes, errors) goes to Handle, so every answer but these successes and the backend's
  // refusals comes from the route handlers.
  const FastAnswer answer = request.method == "POST" && backend_ ? FastAnswerFor(request)
                                                                 : FastAnswer::kNone;
  std::vector<Tensor> inputs;
  std::optional<std::string> id;
  if (answer == FastAnswer::kV2) {
    auto v2 = ParseV2Request(request.body);
    if (v2.has_value()) {
      id = std::move(v2->id);
      for (V2Input& in : v2->inputs) {
        Tensor t;
        t.name = in.name.empty() ? backend_->info().inputs[0].name : std::move(in.name);
        t.datatype = in.datatype.empty() ? "FP32" : std::move(in.datatype);
        t.shape = std::move(in.shape);
        t.data = std::move(in.data);
        inputs.push_back(std::move(t));
      }
    }
  } else if (answer != FastAnswer::kNone) {
    Result<NumberArray> rows = Err(NotFoundError(""));
    if (answer == FastAnswer::kScore) {
      // {"data": rows} or a bare list of rows, as the /score route accepts.
      auto first = request.body.find_first_not_of(" \t\r\n");
      bool bare = first != std::string::npos && request.body[first] == '[';
      rows = ParseNumberArray(request.body, bare ? "" : "data");
      if (!bare && !rows.has_value() && rows.error().code() == StatusCode::kNotFound) {
        rows = ParseNumberArray(request.body, "");
      }
    } else if (request.body.find("\"inputs\"") == std::string::npos &&
               request.body.find("\"signature_name\"") == std::string::npos) {
      rows = ParseNumberArray(request.body, "instances");
    }
    if (rows.has_value()) {
      inputs.push_back(NewInput("", std::move(rows->data), std::move(rows->shape), true));
    }
  }
  if (inputs.empty()) {
    responder.Send(Handle(request));
    return;
  }
  backend_->Submit(
      std::move(inputs), [this, start, answer, id = std::move(id),
                          responder = std::move(responder)](Result<std::vector<Tensor>> out) mutable {
        Response r;
        if (!out.has_value()) {
          r = Response::FromJson(400, {{"error", out.error().message()}});
        } else if (answer == FastAnswer::kV2) {
          r.body = V2AnswerText(options_.name, options_.version, *out, id);
        } else if (auto text = answer == FastAnswer::kPredictions ? PredictionsText(*out)
                                                                  : ColumnsText(*out)) {
          r.body = std::move(*text);
        } else {
          // Not an answer these write (say, a scalar output as rows): the route's answer,
          // which says what is wrong.
          auto json = answer == FastAnswer::kPredictions ? RowsOfOutputs(*out) : ColumnsOfOutputs(*out);
          r = !json.has_value() ? Response::FromJson(400, {{"error", json.error().message()}})
              : answer == FastAnswer::kPredictions
                  ? Response::FromJson(200, {{"predictions", std::move(*json)}})
                  : Response::FromJson(200, std::move(*json));
        }
        Record(start, r.status);
        responder.Send(std::move(r));
      });
}

ModelServer::FastAnswer ModelServer::FastAnswerFor(const Request& request) const {
  std::string_view path = request.path;
  if (path == "/score") return fast_rows_ ? FastAnswer::kScore : FastAnswer::kNone;
  // NAME, or NAME/versions/VERSION, when they are this model's; nullopt otherwise.
  const auto this_model = [this](std::string_view p) {
    std::string_view version = options_.version;
    if (auto slash = p.find('/'); slash != std::string_view::npos) {
      version = p.substr(slash + 1);
      p = p.substr(0, slash);
      if (!version.starts_with("versions/")) return false;
      version.remove_prefix(std::string_view("versions/").size());
    }
    return p == options_.name && version == options_.version;
  };
  constexpr std::string_view kTfPrefix = "/v1/models/", kPredict = ":predict";
  if (fast_rows_ && path.starts_with(kTfPrefix) && path.ends_with(kPredict)) {
    path = path.substr(kTfPrefix.size(), path.size() - kTfPrefix.size() - kPredict.size());
    return this_model(path) ? FastAnswer::kPredictions : FastAnswer::kNone;
  }
  constexpr std::string_view kV2Prefix = "/v2/models/", kInfer = "/infer";
  if (path.starts_with(kV2Prefix) && path.ends_with(kInfer) &&
      path.size() > kV2Prefix.size() + kInfer.size() &&
      request.Header("inference-header-content-length").empty()) {
    path = path.substr(kV2Prefix.size(), path.size() - kV2Prefix.size() - kInfer.size());
    return this_model(path) ? FastAnswer::kV2 : FastAnswer::kNone;
  }
  return FastAnswer::kNone;
}

Tensor ModelServer::NewInput(const std::string& name, std::vector<float> data,
                             std::vector<int64_t> shape, bool one_instance) const {
  const ModelInfo& info = backend_->info();
  Tensor t;
  t.name = name.empty() ? info.inputs[0].name : name;
  const TensorSpec* spec = nullptr;
  for (const auto& s : info.inputs) {
    if (s.name == t.name) spec = &s;
  }
  if (spec == nullptr && info.inputs.size() == 1) spec = &info.inputs[0];
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

Result<std::vector<Tensor>> ModelServer::InferArray(NumberArray rows) {
  return backend_->Infer({NewInput("", std::move(rows.data), std::move(rows.shape), true)});
}

Result<std::vector<Tensor>> ModelServer::InputsFromJson(const Json& value, bool rows) const {
  std::vector<Tensor> inputs;
  auto add = [&](const std::string& name, const Json& v, bool one_instance) -> Status {
    std::vector<float> data;
    std::vector<int64_t> shape;
    Status st = Flatten(v, data, shape, 0);
    if (!st.ok()) return st.WithPrefix("input '" + (name.empty() ? backend_->info().inputs[0].name : name) + "'");
    inputs.push_back(NewInput(name, std::move(data), std::move(shape), one_instance));
    return Status::Ok();
  };
  if (value.is_object()) {  // named inputs, each a whole tensor: {"x": [...], "y": [...]}
    if (value.empty()) return Err(InvalidArgumentError("no inputs given"));
    for (const auto& [name, v] : value.items()) RETURN_IF_ERROR(add(name, v, true));
  } else if (rows && value.is_array() && !value.empty() && value[0].is_object()) {
    // Rows of named inputs: [{"x": row, "y": row}, ...], stacked per input.
    std::map<std::string, Json> columns;
    for (const auto& [name, v] : value[0].items()) columns[name] = Json::array();
    for (const Json& row : value) {
      if (!row.is_object() || row.size() != columns.size()) {
        return Err(InvalidArgumentError("every instance must be an object with the same inputs"));
      }
      for (const auto& [name, v] : row.items()) {
        auto it = columns.find(name);
        if (it == columns.end()) {
          return Err(InvalidArgumentError("every instance must be an object with the same inputs"));
        }
        it->second.push_back(v);
      }
    }
    for (const auto& [name, column] : columns) RETURN_IF_ERROR(add(name, column, false));
  } else {
    RETURN_IF_ERROR(add("", value, true));
  }
  return inputs;
}

void ModelServer::AddRoutes() {
  auto& r = router_;
  const ModelInfo& info = backend_->info();
  auto known = [this](const Request& req) {
    return req.Param("name") == options_.name &&
           (req.Param("version").empty() || req.Param("version") == options_.version);
  };
  auto tensor_json = [](const TensorSpec& s) {
    return Json{{"name", s.name}, {"datatype", s.datatype},
                {"shape", s.unknown_rank ? std::vector<int64_t>{-1} : s.shape}};
  };

  // Open Inference Protocol v2.
  r.Add("GET", "/v2/health/live", [](Request&) { return Response::FromJson(200, Json::object()); });
  r.Add("GET", "/v2/health/ready", [](Request&) { return Response::FromJson(200, Json::object()); });
  auto metadata = [this, known, info, tensor_json](Request& req) {
    if (!known(req)) return V2Error(404, "unknown model '" + req.Param("name") + "'");
    Json inputs = Json::array(), outputs = Json::array();
    for (const auto& s : info.inputs) inputs.push_back(tensor_json(s));
    for (const auto& s : info.outputs) outputs.push_back(tensor_json(s));
    return Response::FromJson(200, {{"name", options_.name}, {"versions", {options_.version}},
                                    {"platform", info.platform}, {"inputs", inputs},
                                    {"outputs", outputs}});
  };
  auto ready = [known](Request& req) {
    if (!known(req)) return V2Error(404, "unknown model '" + req.Param("name") + "'");
    return Response::FromJson(200, Json::object());
  };
  auto infer = [this, known](Request& req) {
    if (!known(req)) return V2Error(404, "unknown model '" + req.Param("name") + "'");
    // The binary tensor data extension: a JSON header of the given length, then the raw
    // values of the inputs that name their binary_data_size, in order.
    std::string_view json_text = req.body, binary;
    if (const std::string header = req.Header("inference-header-content-length"); !header.empty()) {
      size_t length = 0;
      auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), length);
      if (ec != std::errc() || end != header.data() + header.size() || length > req.body.size()) {
        return V2Error(400, "Inference-Header-Content-Length '" + header +
                                "' is not a length within the body");
      }
      json_text = std::string_view(req.body).substr(0, length);
      binary = std::string_view(req.body).substr(length);
    }
    auto body = ParseJson(json_text);
    if (!body.has_value()) return V2Error(400, body.error().message());
    if (!body->is_object() || !body->contains("inputs") || !(*body)["inputs"].is_array() ||
        (*body)["inputs"].empty()) {
      return V2Error(400, "'inputs' must be a non-empty list of tensors");
    }
    auto parameters_of = [](const Json& j) {
      return j.is_object() && j.contains("parameters") && j["parameters"].is_object()
                 ? j["parameters"]
                 : Json::object();
    };
    std::vector<Tensor> tensors;
    for (const Json& in : (*body)["inputs"]) {
      const Json parameters = parameters_of(in);
      const bool raw = parameters.contains("binary_data_size");
      if (!in.is_object() || !in.contains("shape") || (!raw && !in.contains("data"))) {
        return V2Error(400, "each input needs 'name', 'shape', 'datatype' and 'data'");
      }
      Tensor t;
      if (in.contains("name") && !in["name"].is_string()) return V2Error(400, "an input's 'name' must be a string");
      if (in.contains("datatype") && !in["datatype"].is_string()) {
        return V2Error(400, "an input's 'datatype' must be a string");
      }
      t.name = in.value("name", backend_->info().inputs[0].name);
      t.datatype = in.value("datatype", "FP32");
      if (!in["shape"].is_array()) return V2Error(400, "input '" + t.name + "': 'shape' must be a list");
      for (const auto& d : in["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0) {
          return V2Error(400, "input '" + t.name + "': 'shape' must hold non-negative integers");
        }
        t.shape.push_back(d.get<int64_t>());
      }
      if (raw) {
        const Json& size = parameters["binary_data_size"];
        if (!size.is_number_unsigned() || size.get<uint64_t>() > binary.size()) {
          return V2Error(400, "input '" + t.name + "': binary_data_size must be a byte count "
                              "within the binary data after the header");
        }
        Status st = DecodeTensorBytes(binary.substr(0, size.get<size_t>()), t.datatype, t.data);
        if (!st.ok()) return V2Error(400, "input '" + t.name + "': " + st.message());
        binary.remove_prefix(size.get<size_t>());
      } else {
        std::vector<int64_t> flat_shape;
        Status st = Flatten(in["data"], t.data, flat_shape, 0);
        if (!st.ok()) return V2Error(400, "input '" + t.name + "': " + st.message());
      }
      // The product of the dimensions, saturated past 2^53 (no overflow on hostile shapes).
      constexpr int64_t kCap = int64_t{1} << 53;
      int64_t count = 1;
      const auto given = static_cast<int64_t>(t.data.size());
      for (int64_t d : t.shape) {
        if (d == 0) {
          count = 0;
          break;
        }
        count = count > kCap / d ? kCap : count * d;
      }
      if (count != given) {
        return V2Error(400, "input '" + t.name + "': shape holds " +
                                (count == kCap ? "over 2^53" : std::to_string(count)) +
                                " values but 'data' has " + std::to_string(t.data.size()));
      }
      tensors.push_back(std::move(t));
    }
    if (!binary.empty()) {
      return V2Error(400, std::to_string(binary.size()) +
                              " bytes of binary data after the header belong to no input");
    }
    // "outputs": [{"name": ..., "parameters": {"binary_data": bool}}] asks for some of the
    // outputs only; "parameters": {"binary_data_output": true} asks for all in binary.
    std::vector<std::pair<std::string, bool>> wanted;
    if (body->contains("outputs")) {
      const Json& asked = (*body)["outputs"];
      if (!asked.is_array()) return V2Error(400, "'outputs' must be a list of {\"name\": ...}");
      for (const Json& o : asked) {
        if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
          return V2Error(400, "'outputs' must be a list of {\"name\": ...}");
        }
        const Json p = parameters_of(o);
        wanted.emplace_back(o["name"].get<std::string>(),
                            p.contains("binary_data") && p["binary_data"] == true);
      }
    }
    const Json request_parameters = parameters_of(*body);
    const bool all_binary = wanted.empty() && request_parameters.contains("binary_data_output") &&
                            request_parameters["binary_data_output"] == true;
    auto outputs = backend_->Infer(tensors);
    if (!outputs.has_value()) return V2Error(400, outputs.error().message());
    for (const auto& [name, _] : wanted) {
      if (std::none_of(outputs->begin(), outputs->end(), [&](const Tensor& o) { return o.name == name; })) {
        return V2Error(400, "the model has no output '" + name + "'");
      }
    }
    Json outs = Json::array();
    std::string raw_outputs;
    for (const auto& o : *outputs) {
      auto it = std::find_if(wanted.begin(), wanted.end(), [&](const auto& w) { return w.first == o.name; });
      if (!wanted.empty() && it == wanted.end()) continue;
      Json out = {{"name", o.name}, {"datatype", o.datatype}, {"shape", o.shape}};
      if (all_binary || (it != wanted.end() && it->second)) {
        auto bytes = EncodeTensorBytes(o.data, o.datatype);
        if (!bytes.has_value()) return V2Error(400, "output '" + o.name + "': " + bytes.error().message());
        out["parameters"] = {{"binary_data_size", bytes->size()}};
        raw_outputs += *bytes;
      } else {
        Json data = Json::array();
        for (float v : o.data) data.push_back(ValueJson(v, o.datatype));
        out["data"] = std::move(data);
      }
      outs.push_back(std::move(out));
    }
    Json resp = {{"model_name", options_.name}, {"model_version", options_.version}, {"outputs", outs}};
    if (body->contains("id")) resp["id"] = (*body)["id"];
    Response r = Response::FromJson(200, resp);
    if (!raw_outputs.empty()) {
      r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(r.body.size()));
      r.content_type = "application/octet-stream";
      r.body += raw_outputs;
    }
    return r;
  };
  for (const std::string base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    r.Add("GET", base, metadata);
    r.Add("GET", base + "/ready", ready);
    r.Add("POST", base + "/infer", infer);
  }

  // TensorFlow Serving REST: /v1/models/NAME[/versions/V][:predict], .../metadata.
  const std::string signature = info.signature.empty() ? "serving_default" : info.signature;
  auto tf_error = [](int status, const std::string& m) {
    return Response::FromJson(status, {{"error", m}});
  };
  auto servable = [this, tf_error](const std::string& name, const std::string& version)
      -> std::optional<Response> {
    if (name != options_.name || (!version.empty() && version != options_.version)) {
      return tf_error(404, "Servable not found for request: Specific(" + name + ", " +
                               (version.empty() ? std::string("latest") : version) + ")");
    }
    return std::nullopt;
  };
  auto tf = [this, tf_error, servable, signature](Request& req, bool versioned) {
    std::string last = versioned ? req.Param("version") : req.Param("name");
    bool predict = false;
    if (auto colon = last.rfind(':'); colon != std::string::npos) {
      if (last.substr(colon + 1) != "predict") {
        return tf_error(404, "unsupported method '" + last.substr(colon + 1) + "'");
      }
      predict = true;
      last = last.substr(0, colon);
    }
    std::string name = versioned ? req.Param("name") : last;
    std::string version = versioned ? last : "";
    if (auto missing = servable(name, version)) return *missing;
    if (!predict) {
      if (req.method != "GET") return tf_error(405, "use GET for model status");
      return Response::FromJson(
          200, {{"model_version_status",
                 {{{"version", options_.version}, {"state", "AVAILABLE"},
                   {"status", {{"error_code", "OK"}, {"error_message", ""}}}}}}});
    }
    if (req.method != "POST") return tf_error(405, "use POST for :predict");
    // Fast path: {"instances": [[numbers...], ...]} parsed straight into floats.
    if (fast_rows_ && req.body.find("\"inputs\"") == std::string::npos &&
        req.body.find("\"signature_name\"") == std::string::npos) {
      auto rows = ParseNumberArray(req.body, "instances");
      if (rows.has_value()) {
        auto out = InferArray(std::move(*rows));
        if (!out.has_value()) return tf_error(400, out.error().message());
        auto predictions = RowsOfOutputs(*out);
        if (!predictions.has_value()) return tf_error(400, predictions.error().message());
        return Response::FromJson(200, {{"predictions", std::move(*predictions)}});
      }
    }
    auto body = ParseJson(req.body);
    if (!body.has_value()) return tf_error(400, body.error().message());
    if (!body->is_object()) return tf_error(400, "the request must be a JSON object");
    if (body->contains("signature_name")) {
      const Json& asked = (*body)["signature_name"];
      if (!asked.is_string()) return tf_error(400, "'signature_name' must be a string");
      if (asked.get<std::string>() != signature) {
        return tf_error(400, "model '" + options_.name + "' has no signature '" +
                                 asked.get<std::string>() + "' here; it serves '" + signature +
                                 "' (gantry serve --signature NAME serves another)");
      }
    }
    bool has_instances = body->contains("instances"), has_inputs = body->contains("inputs");
    if (has_instances == has_inputs) {
      return tf_error(400, "the request must have exactly one of 'instances' or 'inputs'");
    }
    auto inputs = InputsFromJson(has_instances ? (*body)["instances"] : (*body)["inputs"], has_instances);
    if (!inputs.has_value()) return tf_error(400, inputs.error().message());
    auto out = backend_->Infer(*inputs);
    if (!out.has_value()) return tf_error(400, out.error().message());
    auto answer = has_instances ? RowsOfOutputs(*out) : ColumnsOfOutputs(*out);
    if (!answer.has_value()) return tf_error(400, answer.error().message());
    return Response::FromJson(200, {{has_instances ? "predictions" : "outputs", std::move(*answer)}});
  };
  r.Add("GET", "/v1/models/{name}", [tf](Request& req) { return tf(req, false); });
  r.Add("POST", "/v1/models/{name}", [tf](Request& req) { return tf(req, false); });
  r.Add("GET", "/v1/models/{name}/versions/{version}", [tf](Request& req) { return tf(req, true); });
  r.Add("POST", "/v1/models/{name}/versions/{version}", [tf](Request& req) { return tf(req, true); });
  // Model metadata, shaped as TF Serving's GetModelMetadata answer (SignatureDefs in JSON).
  auto tf_metadata = [this, servable, info, signature](Request& req) {
    if (auto missing = servable(req.Param("name"), req.Param("version"))) return *missing;
    auto tensors = [](const std::vector<TensorSpec>& specs) {
      Json map = Json::object();
      for (const auto& s : specs) {
        Json dims = Json::array();
        for (int64_t d : s.shape) dims.push_back({{"size", std::to_string(d)}, {"name", ""}});
        map[s.name] = {{"dtype", TfDtypeName(TfDtypeOfDatatype(s.datatype))},
                       {"tensor_shape", {{"dim", dims}, {"unknown_rank", s.unknown_rank}}},
                       {"name", s.name}};
      }
      return map;
    };
    Json def = {{"inputs", tensors(info.inputs)},
                {"outputs", tensors(info.outputs)},
                {"method_name", info.method_name.empty() ? "tensorflow/serving/predict"
                                                         : info.method_name}};
    return Response::FromJson(
        200, {{"model_spec", {{"name", options_.name}, {"signature_name", ""},
                              {"version", options_.version}}},
              {"metadata", {{"signature_def", {{"signature_def", {{signature, def}}}}}}}});
  };
  r.Add("GET", "/v1/models/{name}/metadata", tf_metadata);
  r.Add("GET", "/v1/models/{name}/versions/{version}/metadata", tf_metadata);

  // Azure ML style.
  r.Add("GET", "/", [](Request&) { return Response::Text(200, "Healthy\n"); });
  r.Add("POST", "/score", [this](Request& req) {
    auto error = [](const Status& st) { return Response::FromJson(400, {{"error", st.message()}}); };
    if (fast_rows_) {
      auto fast = ParseNumberArray(req.body, "data");
      if (!fast.has_value() && fast.error().code() == StatusCode::kNotFound) {
        fast = ParseNumberArray(req.body, "");
      }
      if (fast.has_value()) {
        auto out = InferArray(std::move(*fast));
        if (!out.has_value()) return error(out.error());
        auto answer = ColumnsOfOutputs(*out);
        if (!answer.has_value()) return error(answer.error());
        return Response::FromJson(200, std::move(*answer));
      }
    }
    auto body = ParseJson(req.body);
    if (!body.has_value()) return error(body.error());
    const Json rows = body->is_object() && body->contains("data") ? (*body)["data"] : *body;
    auto inputs = InputsFromJson(rows, true);
    if (!inputs.has_value()) return error(inputs.error());
    auto out = backend_->Infer(*inputs);
    if (!out.has_value()) return error(out.error());
    auto answer = ColumnsOfOutputs(*out);
    if (!answer.has_value()) return error(answer.error());
    return Response::FromJson(200, std::move(*answer));
  });

  // Prometheus.
  r.Add("GET", "/metrics", [this](Request&) {
    return Response::Text(200, MetricsText(), "text/plain; version=0.0.4");
  });
}

std::string ModelServer::MetricsText() const {
  std::string m;
  m += "# TYPE gantry_serve_requests_total counter\ngantry_serve_requests_total{model=\"" +
       options_.name + "\"} " + std::to_string(requests_.load()) + "\n";
  m += "# TYPE gantry_serve_failures_total counter\ngantry_serve_failures_total{model=\"" +
       options_.name + "\"} " + std::to_string(failures_.load()) + "\n";
  m += "# TYPE gantry_serve_latency_seconds histogram\n";
  for (int i = 0; i < 8; ++i) {
    m += "gantry_serve_latency_seconds_bucket{le=\"" + std::to_string(kBucketsUs[i] / 1e6) +
         "\"} " + std::to_string(latency_buckets_[i].load()) + "\n";
  }
  m += "gantry_serve_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(requests_.load()) + "\n";
  m += "gantry_serve_latency_seconds_sum " + std::to_string(latency_us_total_.load() / 1e6) + "\n";
  m += "gantry_serve_latency_seconds_count " + std::to_string(requests_.load()) + "\n";
  if (auto* batcher = dynamic_cast<Batcher*>(backend_.get())) {
    const std::string label = "{model=\"" + options_.name + "\"} ";
    m += "# TYPE gantry_serve_batches_total counter\ngantry_serve_batches_total" + label +
         std::to_string(batcher->batches_run()) + "\n";
    m += "# TYPE gantry_serve_batched_requests_total counter\ngantry_serve_batched_requests_total" +
         label + std::to_string(batcher->requests_batched()) + "\n";
    m += "# TYPE gantry_serve_queue_depth gauge\ngantry_serve_queue_depth" + label +
         std::to_string(batcher->queue_depth()) + "\n";
  }
  return m;
}

void ModelServer::AddScorerRoutes() {
  auto& r = router_;
  const std::string only_score = "model '" + options_.name + "' is served by the " +
                                 options_.backend + " backend, which answers POST /score only";
  auto ready = [this] {
    if (scorer_->Stats().workers_ready > 0) return Response::FromJson(200, Json::object());
    return V2Error(503, "no worker of model '" + options_.name + "' is ready");
  };
  auto known = [this](const Request& req) {
    return req.Param("name") == options_.name &&
           (req.Param("version").empty() || req.Param("version") == options_.version);
  };

  // Open Inference Protocol v2: health and metadata; inference goes to /score.
  r.Add("GET", "/v2/health/live", [](Request&) { return Response::FromJson(200, Json::object()); });
  r.Add("GET", "/v2/health/ready", [ready](Request&) { return ready(); });
  for (const std::string base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    r.Add("GET", base, [this, known](Request& req) {
      if (!known(req)) return V2Error(404, "unknown model '" + req.Param("name") + "'");
      return Response::FromJson(200, {{"name", options_.name}, {"versions", {options_.version}},
                                      {"platform", options_.backend}, {"inputs", Json::array()},
                                      {"outputs", Json::array()}});
    });
    r.Add("GET", base + "/ready", [known, ready](Request& req) {
      if (!known(req)) return V2Error(404, "unknown model '" + req.Param("name") + "'");
      return ready();
    });
    r.Add("POST", base + "/infer", [only_score](Request&) { return V2Error(404, only_score); });
  }
  // TensorFlow Serving REST: status and :predict alike.
  auto tf = [only_score](Request&) { return Response::FromJson(404, {{"error", only_score}}); };
  for (const char* path : {"/v1/models/{name}", "/v1/models/{name}/versions/{version}"}) {
    r.Add("GET", path, tf);
    r.Add("POST", path, tf);
  }

  // Azure ML style: the body goes to the entry script's run() as it is.
  r.Add("GET", "/", [](Request&) { return Response::Text(200, "Healthy\n"); });
  r.Add("POST", "/score", [this](Request& req) {
    auto answer = scorer_->Score(req.body);
    if (!answer.has_value()) {
      return Response::FromJson(http::HttpStatusFor(answer.error()), {{"error", answer.error().message()}});
    }
    Response ok;
    ok.body = std::move(*answer);
    return ok;
  });

  r.Add("GET", "/metrics", [this](Request&) {
    ScorerStats s = scorer_->Stats();
    std::string m = MetricsText();
    const std::string label = "{model=\"" + options_.name + "\"} ";
    m += "# TYPE gantry_serve_workers_alive gauge\ngantry_serve_workers_alive" + label +
         std::to_string(s.workers_ready) + "\n";
    m += "# TYPE gantry_serve_workers_busy gauge\ngantry_serve_workers_busy" + label +
         std::to_string(s.busy) + "\n";
    m += "# TYPE gantry_serve_queued_requests gauge\ngantry_serve_queued_requests" + label +
         std::to_string(s.queued) + "\n";
    m += "# TYPE gantry_serve_worker_restarts_total counter\ngantry_serve_worker_restarts_total" +
         label + std::to_string(s.restarts) + "\n";
    return Response::Text(200, m, "text/plain; version=0.0.4");
  });
}

}  // namespace gantry::serving
