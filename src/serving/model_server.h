// ModelServer: `gantry serve` over one loaded model, all protocols on one port. It owns the
// model's backend, the scheduler in front of it (scheduler.h: each request at once, or
// dynamic batching) and the protocol front-ends (frontend.h: Open Inference v2 REST,
// TensorFlow Serving REST, Azure ML's `GET /` and `POST /score`), plus Prometheus `/metrics`
// and the request counters, and the drain. Each protocol answers errors in its own shape.
// Over a RawScorer (the python backend) only `/score`, health and metrics serve; the tensor
// protocols answer that. Thread-safe: requests are served concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/responder.h"
#include "http/router.h"
#include "serving/frontend.h"
#include "serving/model_backend.h"
#include "serving/raw_scorer.h"
#include "serving/scheduler.h"
#include "serving/served_model.h"

namespace gantry::serving {

struct ModelServerOptions {
  fs::path model_dir;  // the model's files
  std::string name;    // served name; default: the folder's name
  std::string backend = "torchscript";
  // What the backend needs beyond the folder (tensorflow: where TensorFlow is, the signature).
  ModelBackendOptions backend_options;
  std::string version = "1";
  // Dynamic batching: 0 (default) = off; else the most rows in one forward.
  int64_t max_batch_size = 0;
  // With batching: how long a request may wait for others, in microseconds. 0 (default): no
  // wait; batches form only from requests that arrive while a forward runs.
  int64_t max_queue_delay_us = 0;
};

class ModelServer {
 public:
  // Loads the model; the loader's error when it cannot.
  static Result<std::unique_ptr<ModelServer>> Create(ModelServerOptions options);
  // Serves `scorer` at `POST /score` (request bodies as they come); `options.backend` names
  // it and `options.model_dir` may be empty, with `options.name` then required.
  static Result<std::unique_ptr<ModelServer>> Create(ModelServerOptions options,
                                                     std::unique_ptr<RawScorer> scorer);
  http::Response Handle(http::Request& request);
  // Answers through `responder`: TF Serving `:predict` with row `instances`, `/score` with
  // rows and Open Inference v2 `/infer` in JSON (no binary data, no output selection), when
  // their front-ends' fast paths read them, go to the scheduler's Submit and their answers are
  // written straight from the outputs (answer_text.h); any other request gets Handle's answer.
  // They may wait for the next Flush() on any thread: call it after each round of
  // HandleAsync calls (EpollHttpServerOptions::after_round).
  void HandleAsync(http::Request& request, http::Responder responder);
  // Starts the forwards HandleAsync has queued.
  void Flush() {
    if (scheduler_) scheduler_->Flush();
  }
  const std::string& name() const { return options_.name; }
  // For a graceful stop: from now on requests are answered 503, and this waits until those
  // already running have their answers. False when some still ran after `max_wait`.
  bool Drain(std::chrono::milliseconds max_wait);

 private:
  ModelServer(ModelServerOptions options, std::unique_ptr<ModelBackend> backend,
              std::unique_ptr<RawScorer> scorer);
  std::string MetricsText();
  // Counts a served request in the metrics.
  void Record(std::chrono::steady_clock::time_point start, int status);

  ModelServerOptions options_;
  std::unique_ptr<ModelBackend> backend_;  // null when scorer_ serves
  std::unique_ptr<RawScorer> scorer_;
  ServedModel model_;  // what the front-ends know of the above
  std::vector<std::unique_ptr<Frontend>> frontends_;
  http::Router router_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::mutex drain_mu_;
  std::condition_variable drained_;
  std::atomic<int64_t> requests_{0}, failures_{0}, latency_us_total_{0};
  std::atomic<int64_t> latency_buckets_[8] = {};
  // In front of backend_. Declared last, so destroyed first: a Batcher answers what is still
  // queued when it stops, through the front-ends and counters above.
  std::unique_ptr<InferScheduler> scheduler_;
};

}  // namespace gantry::serving
