// ModelServer: `gantry serve`'s protocol front-ends over one loaded model, all on one port:
// the Open Inference Protocol v2 REST, TensorFlow Serving REST, Azure ML style (`GET /`,
// `POST /score`) and Prometheus `/metrics`. Each protocol answers errors in its own shape.
// Over a RawScorer (the python backend) only `/score`, health and metrics serve; the tensor
// protocols answer that. Thread-safe: requests are served concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "http/responder.h"
#include "http/router.h"
#include "serving/fast_json.h"
#include "serving/model_backend.h"
#include "serving/raw_scorer.h"

namespace gantry::serving {

struct ModelServerOptions {
  fs::path model_dir;               // the model's files
  std::string name;                 // served name; default: the folder's name
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
  // the simdjson fast paths read them, go to the backend's Submit and their answers are
  // written straight from the outputs (answer_text.h); any other request gets Handle's answer.
  // They may wait for the next Flush() on any thread: call it after each round of
  // HandleAsync calls (EpollHttpServerOptions::after_round).
  void HandleAsync(http::Request& request, http::Responder responder);
  // Starts the forwards HandleAsync has queued.
  void Flush() { backend_->Flush(); }
  const std::string& name() const { return options_.name; }
  // For a graceful stop: from now on requests are answered 503, and this waits until those
  // already running have their answers. False when some still ran after `max_wait`.
  bool Drain(std::chrono::milliseconds max_wait);

 private:
  ModelServer(ModelServerOptions options, std::unique_ptr<ModelBackend> backend,
              std::unique_ptr<RawScorer> scorer);
  void AddRoutes();
  void AddScorerRoutes();
  std::string MetricsText() const;
  // Counts a served request in the metrics.
  void Record(std::chrono::steady_clock::time_point start, int status);
  // The request tensor for input `name` ("" = the first) with the model's datatype (the
  // JSON protocols carry none); with `one_instance`, a single row where the model takes rows
  // becomes a batch of one.
  Tensor NewInput(const std::string& name, std::vector<float> data, std::vector<int64_t> shape,
                  bool one_instance) const;
  // The input tensors of a TF Serving `instances` (rows: true) or `inputs` value, or of
  // /score's data: one tensor of rows, {name: tensor}, or (rows) [{name: row}, ...].
  Result<std::vector<Tensor>> InputsFromJson(const Json& value, bool rows) const;
  // The requests HandleAsync reads and answers itself: TF Serving `:predict` with row
  // instances, `/score` with rows, Open Inference v2 `/infer` in its common form.
  enum class FastAnswer { kNone, kPredictions, kScore, kV2 };
  // Which of them this request may be (by its path).
  FastAnswer FastAnswerFor(const http::Request& request) const;
  // Runs the model on rows already flattened (the simdjson fast path).
  Result<std::vector<Tensor>> InferArray(NumberArray rows);

  ModelServerOptions options_;
  std::unique_ptr<ModelBackend> backend_;  // null when scorer_ serves
  std::unique_ptr<RawScorer> scorer_;
  // One input, of rows: the simdjson fast paths of `:predict` and `/score` apply.
  bool fast_rows_ = false;
  http::Router router_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::mutex drain_mu_;
  std::condition_variable drained_;
  std::atomic<int64_t> requests_{0}, failures_{0}, latency_us_total_{0};
  std::atomic<int64_t> latency_buckets_[8] = {};
};

}  // namespace gantry::serving
