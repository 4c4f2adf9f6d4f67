#include "serving/model_server.h"

#include <chrono>

#include "common/json.h"
#include "serving/azure_ml_frontend.h"
#include "serving/open_inference_frontend.h"
#include "serving/tf_serving_frontend.h"

namespace gantry::serving {

using http::Request;
using http::Response;

namespace {

// Latency histogram bucket bounds in microseconds (Prometheus `le`).
constexpr int64_t kBucketsUs[8] = {100, 250, 500, 1000, 2500, 10000, 100000, 1000000};

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
  return std::unique_ptr<ModelServer>(
      new ModelServer(std::move(options), std::move(backend), nullptr));
}

Result<std::unique_ptr<ModelServer>> ModelServer::Create(ModelServerOptions options,
                                                         std::unique_ptr<RawScorer> scorer) {
  if (options.name.empty()) {
    if (options.model_dir.empty())
      return Err(InvalidArgumentError("the served model needs a name"));
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
  model_.name = options_.name;
  model_.version = options_.version;
  model_.backend = options_.backend;
  model_.scorer = scorer_.get();
  if (backend_) {
    scheduler_ = NewScheduler(*backend_, options_.max_batch_size, options_.max_queue_delay_us);
    const ModelInfo& info = backend_->info();
    model_.info = &info;
    model_.scheduler = scheduler_.get();
    // The simdjson fast paths of `:predict` and `/score` read one tensor of rows: for models
    // with one input that takes rows (any outputs).
    model_.fast_rows =
        info.inputs.size() == 1 && !info.inputs[0].unknown_rank && info.inputs[0].shape.size() == 2;
  }
  frontends_.push_back(std::make_unique<OpenInferenceFrontend>(model_));
  frontends_.push_back(std::make_unique<TfServingFrontend>(model_));
  frontends_.push_back(std::make_unique<AzureMlFrontend>(model_));
  for (const auto& frontend : frontends_) frontend->AddRoutes(router_);
  router_.Add("GET", "/metrics", [this](Request&) {
    return Response::Text(200, MetricsText(), "text/plain; version=0.0.4");
  });
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
                   std::chrono::steady_clock::now() - start)
                   .count();
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
  // read by their front-ends without the router. Whatever a front-end does not read (other
  // shapes, errors) goes to Handle, so every answer but these successes and the backend's
  // refusals comes from the route handlers.
  const Frontend* fast = nullptr;
  for (const auto& frontend : frontends_) {
    if (frontend->TakesFast(request)) fast = frontend.get();
  }
  std::optional<FastRequest> read = fast ? fast->ReadFast(request) : std::nullopt;
  if (!read) {
    responder.Send(Handle(request));
    return;
  }
  scheduler_->Submit(std::move(read->inputs),
                     [this, start, fast, id = std::move(read->id),
                      responder = std::move(responder)](Result<std::vector<Tensor>> out) mutable {
                       Response r = fast->AnswerFast(std::move(out), id);
                       Record(start, r.status);
                       responder.Send(std::move(r));
                     });
}

std::string ModelServer::MetricsText() {
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
  m +=
      "gantry_serve_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(requests_.load()) + "\n";
  m += "gantry_serve_latency_seconds_sum " + std::to_string(latency_us_total_.load() / 1e6) + "\n";
  m += "gantry_serve_latency_seconds_count " + std::to_string(requests_.load()) + "\n";
  const std::string label = "{model=\"" + options_.name + "\"} ";
  if (auto batches = scheduler_ ? scheduler_->batch_stats() : std::nullopt) {
    m += "# TYPE gantry_serve_batches_total counter\ngantry_serve_batches_total" + label +
         std::to_string(batches->batches_run) + "\n";
    m += "# TYPE gantry_serve_batched_requests_total counter\ngantry_serve_batched_requests_total" +
         label + std::to_string(batches->requests_batched) + "\n";
    m += "# TYPE gantry_serve_queue_depth gauge\ngantry_serve_queue_depth" + label +
         std::to_string(batches->queue_depth) + "\n";
  }
  if (scorer_) {
    ScorerStats st = scorer_->Stats();
    m += "# TYPE gantry_serve_workers_alive gauge\ngantry_serve_workers_alive" + label +
         std::to_string(st.workers_ready) + "\n";
    m += "# TYPE gantry_serve_workers_busy gauge\ngantry_serve_workers_busy" + label +
         std::to_string(st.busy) + "\n";
    m += "# TYPE gantry_serve_queued_requests gauge\ngantry_serve_queued_requests" + label +
         std::to_string(st.queued) + "\n";
    m += "# TYPE gantry_serve_worker_restarts_total counter\ngantry_serve_worker_restarts_total" +
         label + std::to_string(st.restarts) + "\n";
  }
  return m;
}

}  // namespace gantry::serving
