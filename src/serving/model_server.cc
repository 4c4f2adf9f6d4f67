#include "serving/model_server.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include "common/json.h"
#include "serving/batcher.h"

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
  if (value.is_number()) {
    if (depth != shape.size()) return InvalidArgumentError("ragged or mixed nesting");
    out.push_back(value.get<float>());
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

// Splits a flat output back into rows of its last dimensions.
Json Rows(const Tensor& t) {
  Json rows = Json::array();
  if (t.shape.empty()) return rows;
  size_t n = static_cast<size_t>(t.shape[0]);
  size_t per = n ? t.data.size() / n : 0;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(Json(std::vector<float>(t.data.begin() + i * per, t.data.begin() + (i + 1) * per)));
  }
  return rows;
}

// The answers HandleAsync writes itself: TF Serving `{"predictions": rows}` or `/score`'s
// bare rows.
enum class RowsAnswer { kNone, kPredictions, kScore };

// Rows(t) as JSON text, written straight from the floats (shortest round-trip form; JSON has
// no NaN or infinity, so those are null, as the JSON library writes them).
std::string RowsText(const Tensor& t, RowsAnswer answer) {
  std::string out;
  out.reserve(24 + t.data.size() * 14);
  if (answer == RowsAnswer::kPredictions) out += "{\"predictions\":";
  out += '[';
  if (!t.shape.empty()) {
    size_t n = static_cast<size_t>(t.shape[0]);
    size_t per = n ? t.data.size() / n : 0;
    char num[32];
    for (size_t i = 0; i < n; ++i) {
      out += i ? ",[" : "[";
      for (size_t j = 0; j < per; ++j) {
        if (j) out += ',';
        float v = t.data[i * per + j];
        if (std::isfinite(v)) {
          out.append(num, std::to_chars(num, num + sizeof(num), v).ptr);
        } else {
          out += "null";
        }
      }
      out += ']';
    }
  }
  out += ']';
  if (answer == RowsAnswer::kPredictions) out += '}';
  return out;
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
  // The same requests the `:predict` and `/score` routes send down their fast paths, found
  // without the router. Whatever this does not read (other shapes, errors) goes to Handle,
  // so every answer but these successes comes from the route handlers.
  RowsAnswer answer = RowsAnswer::kNone;
  if (request.method == "POST") {
    constexpr std::string_view kPrefix = "/v1/models/", kPredict = ":predict";
    std::string_view path = request.path;
    if (path == "/score") {
      answer = RowsAnswer::kScore;
    } else if (path.starts_with(kPrefix) && path.ends_with(kPredict)) {
      path = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kPredict.size());
      std::string_view version = options_.version;
      if (auto slash = path.find('/'); slash != std::string_view::npos) {
        version = path.substr(slash + 1);
        path = path.substr(0, slash);
        if (!version.starts_with("versions/")) version = {};
        version.remove_prefix(std::min(version.size(), std::string_view("versions/").size()));
      }
      if (path == options_.name && version == options_.version) answer = RowsAnswer::kPredictions;
    }
  }
  Result<NumberArray> rows = Err(NotFoundError(""));
  if (answer == RowsAnswer::kScore) {
    // {"data": rows} or a bare list of rows, as the /score route accepts.
    auto first = request.body.find_first_not_of(" \t\r\n");
    bool bare = first != std::string::npos && request.body[first] == '[';
    rows = ParseNumberArray(request.body, bare ? "" : "data");
    if (!bare && !rows.has_value() && rows.error().code() == StatusCode::kNotFound) {
      rows = ParseNumberArray(request.body, "");
    }
  } else if (answer == RowsAnswer::kPredictions &&
             request.body.find("\"inputs\"") == std::string::npos) {
    rows = ParseNumberArray(request.body, "instances");
  }
  if (!rows.has_value()) {
    responder.Send(Handle(request));
    return;
  }
  std::vector<Tensor> inputs(1);
  inputs[0].name = backend_->info().inputs[0].name;
  inputs[0].data = std::move(rows->data);
  inputs[0].shape = std::move(rows->shape);
  if (inputs[0].shape.size() == 1) inputs[0].shape.insert(inputs[0].shape.begin(), 1);
  backend_->Submit(
      std::move(inputs), [this, start, answer, responder = std::move(responder)](
                             Result<std::vector<Tensor>> out) mutable {
        Response r;
        if (!out.has_value()) {
          r = Response::FromJson(400, {{"error", out.error().message()}});
        } else if (out->empty()) {
          r = Response::FromJson(400, {{"error", "the model returned no output"}});
        } else {
          r.body = RowsText(out->front(), answer);
        }
        Record(start, r.status);
        responder.Send(std::move(r));
      });
}

Result<Tensor> ModelServer::InferArray(NumberArray rows, const std::string& input_name) {
  Tensor in;
  in.name = input_name.empty() ? backend_->info().inputs[0].name : input_name;
  in.data = std::move(rows.data);
  in.shape = std::move(rows.shape);
  if (in.shape.size() == 1) in.shape.insert(in.shape.begin(), 1);  // one instance
  ASSIGN_OR_RETURN(auto outputs, backend_->Infer({in}));
  return std::move(outputs[0]);
}

Result<Tensor> ModelServer::InferRows(const Json& rows, const std::string& input_name) {
  Tensor in;
  in.name = input_name.empty() ? backend_->info().inputs[0].name : input_name;
  Status st = Flatten(rows, in.data, in.shape, 0);
  if (!st.ok()) return Err(st.WithPrefix("input '" + in.name + "'"));
  if (in.shape.size() == 1) in.shape.insert(in.shape.begin(), 1);  // one instance
  ASSIGN_OR_RETURN(auto outputs, backend_->Infer({in}));
  return std::move(outputs[0]);
}

void ModelServer::AddRoutes() {
  auto& r = router_;
  const ModelInfo& info = backend_->info();
  auto known = [this](const Request& req) {
    return req.Param("name") == options_.name &&
           (req.Param("version").empty() || req.Param("version") == options_.version);
  };
  auto tensor_json = [](const TensorSpec& s) {
    return Json{{"name", s.name}, {"datatype", s.datatype}, {"shape", s.shape}};
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
    auto body = ParseJson(req.body);
    if (!body.has_value()) return V2Error(400, body.error().message());
    if (!body->is_object() || !body->contains("inputs") || !(*body)["inputs"].is_array() ||
        (*body)["inputs"].size() != 1) {
      return V2Error(400, "'inputs' must be a list holding the model's one input");
    }
    const Json& in = (*body)["inputs"][0];
    if (!in.is_object() || !in.contains("data") || !in.contains("shape")) {
      return V2Error(400, "each input needs 'name', 'shape', 'datatype' and 'data'");
    }
    Tensor t;
    t.name = in.value("name", "input");
    t.datatype = in.value("datatype", "FP32");
    if (!in["shape"].is_array()) return V2Error(400, "input '" + t.name + "': 'shape' must be a list");
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return V2Error(400, "input '" + t.name + "': 'shape' must hold non-negative integers");
      }
      t.shape.push_back(d.get<int64_t>());
    }
    std::vector<int64_t> flat_shape;
    Status st = Flatten(in["data"], t.data, flat_shape, 0);
    if (!st.ok()) return V2Error(400, "input '" + t.name + "': " + st.message());
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    if (count != static_cast<int64_t>(t.data.size())) {
      return V2Error(400, "input '" + t.name + "': shape holds " + std::to_string(count) +
                              " values but 'data' has " + std::to_string(t.data.size()));
    }
    auto outputs = backend_->Infer({t});
    if (!outputs.has_value()) return V2Error(400, outputs.error().message());
    Json outs = Json::array();
    for (const auto& o : *outputs) {
      outs.push_back({{"name", o.name}, {"datatype", o.datatype}, {"shape", o.shape}, {"data", o.data}});
    }
    Json resp = {{"model_name", options_.name}, {"model_version", options_.version}, {"outputs", outs}};
    if (body->contains("id")) resp["id"] = (*body)["id"];
    return Response::FromJson(200, resp);
  };
  for (const std::string base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    r.Add("GET", base, metadata);
    r.Add("GET", base + "/ready", ready);
    r.Add("POST", base + "/infer", infer);
  }

  // TensorFlow Serving REST: /v1/models/NAME[/versions/V][:predict].
  auto tf_error = [](int status, const std::string& m) {
    return Response::FromJson(status, {{"error", m}});
  };
  auto tf = [this, tf_error](Request& req, bool versioned) {
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
    if (name != options_.name || (!version.empty() && version != options_.version)) {
      return tf_error(404, "Servable not found for request: Specific(" + name + ", " +
                               (version.empty() ? std::string("latest") : version) + ")");
    }
    if (!predict) {
      if (req.method != "GET") return tf_error(405, "use GET for model status");
      return Response::FromJson(
          200, {{"model_version_status",
                 {{{"version", options_.version}, {"state", "AVAILABLE"},
                   {"status", {{"error_code", "OK"}, {"error_message", ""}}}}}}});
    }
    if (req.method != "POST") return tf_error(405, "use POST for :predict");
    // Fast path: {"instances": [[numbers...], ...]} parsed straight into floats.
    if (req.body.find("\"inputs\"") == std::string::npos) {
      auto rows = ParseNumberArray(req.body, "instances");
      if (rows.has_value()) {
        auto out = InferArray(std::move(*rows), "");
        if (!out.has_value()) return tf_error(400, out.error().message());
        return Response::FromJson(200, {{"predictions", Rows(*out)}});
      }
    }
    auto body = ParseJson(req.body);
    if (!body.has_value()) return tf_error(400, body.error().message());
    if (!body->is_object()) return tf_error(400, "the request must be a JSON object");
    bool has_instances = body->contains("instances"), has_inputs = body->contains("inputs");
    if (has_instances == has_inputs) {
      return tf_error(400, "the request must have exactly one of 'instances' or 'inputs'");
    }
    Json rows = has_instances ? (*body)["instances"] : (*body)["inputs"];
    std::string input_name;
    if (rows.is_object()) {  // columnar with named inputs: {"inputs": {"x": [...]}}
      if (rows.size() != 1) return tf_error(400, "the model has one input; got " + std::to_string(rows.size()));
      input_name = rows.begin().key();
      rows = rows.begin().value();
    }
    auto out = InferRows(rows, input_name);
    if (!out.has_value()) return tf_error(400, out.error().message());
    return Response::FromJson(200, {{has_instances ? "predictions" : "outputs", Rows(*out)}});
  };
  r.Add("GET", "/v1/models/{name}", [tf](Request& req) { return tf(req, false); });
  r.Add("POST", "/v1/models/{name}", [tf](Request& req) { return tf(req, false); });
  r.Add("GET", "/v1/models/{name}/versions/{version}", [tf](Request& req) { return tf(req, true); });
  r.Add("POST", "/v1/models/{name}/versions/{version}", [tf](Request& req) { return tf(req, true); });

  // Azure ML style.
  r.Add("GET", "/", [](Request&) { return Response::Text(200, "Healthy\n"); });
  r.Add("POST", "/score", [this](Request& req) {
    auto fast = ParseNumberArray(req.body, "data");
    if (!fast.has_value() && fast.error().code() == StatusCode::kNotFound) {
      fast = ParseNumberArray(req.body, "");
    }
    if (fast.has_value()) {
      auto out = InferArray(std::move(*fast), "");
      if (!out.has_value()) return Response::FromJson(400, {{"error", out.error().message()}});
      return Response::FromJson(200, Rows(*out));
    }
    auto body = ParseJson(req.body);
    if (!body.has_value()) return Response::FromJson(400, {{"error", body.error().message()}});
    const Json rows = body->is_object() && body->contains("data") ? (*body)["data"] : *body;
    auto out = InferRows(rows, "");
    if (!out.has_value()) return Response::FromJson(400, {{"error", out.error().message()}});
    return Response::FromJson(200, Rows(*out));
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
