// Batcher: dynamic batching in front of a ModelBackend. Concurrent requests whose inputs
// share everything but the first dimension (the rows; a request with several inputs has the
// same number of rows in each) are stacked into one forward of at most `max_batch_size` rows,
// then every output is split back along its first dimension. It is an InferScheduler in
// front of the backend (scheduler.h), so front-ends do not know whether batching is on.
//
// One forward runs at a time. With no queue delay (the default), batches form only under
// load and nothing waits on purpose. Flush (and InferAsync, which is Submit + Flush) runs a
// lone queued request at once on the caller's thread when the model is idle (no hand-off, no
// added latency), and hands anything bigger to the worker thread, so that the caller (an
// HTTP loop) reads and parses the next requests while the batch runs. Requests submitted
// while a forward runs queue up, and the worker runs them (up to max_batch_size rows per
// forward) when it ends. With a delay, every request goes through the worker, which waits
// up to `max_queue_delay_us` after the first queued request for the batch to fill.
//
// Thread-safe: Infer/Submit/Flush from any thread; `done` callbacks run on the
// thread that ran the batch. The destructor runs what is queued, then stops and joins the
// worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "serving/scheduler.h"

namespace gantry::serving {

struct BatcherOptions {
  int64_t max_batch_size = 32;     // rows in one forward
  int64_t max_queue_delay_us = 0;  // how long the first queued request waits for company
};

class Batcher final : public InferScheduler {
 public:
  // `backend` outlives the Batcher.
  Batcher(ModelBackend& backend, BatcherOptions options);
  ~Batcher() override;

  // Blocks until the request's batch has run.
  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override;
  // Unavailable once the Batcher is being destroyed.
  void Submit(std::vector<Tensor> inputs, InferDone done) override;
  void Flush() override;
  std::optional<BatchStats> batch_stats() override {
    return BatchStats{batches_run(), requests_batched(), queue_depth()};
  }

  // Forwards run so far (for metrics and tests).
  int64_t batches_run() const { return batches_.load(); }
  // Requests those batches answered (their mean size is this over batches_run()).
  int64_t requests_batched() const { return requests_batched_.load(); }
  // Requests waiting for a forward now.
  int64_t queue_depth();

 private:
  struct Pending {
    std::vector<Tensor> inputs;
    int64_t rows = 0;  // the first dimension, shared by the inputs
    InferDone done;
  };
  void Loop();
  // Takes the next batch off the queue; needs mu_.
  std::vector<Pending> TakeBatch();
  void RunBatch(std::vector<Pending>& batch);

  ModelBackend& backend_;
  BatcherOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  int running_ = 0;            // forwards in progress (0 or 1), guarded by mu_
  // Without a delay: the queue is the worker's to run (a forward ended and left it non-empty).
  bool handoff_ = false;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::atomic<int64_t> batches_{0};
  std::atomic<int64_t> requests_batched_{0};
  std::thread worker_;
};

}  // namespace gantry::serving
