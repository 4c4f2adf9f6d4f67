// Batcher: dynamic batching in front of a ModelBackend. Concurrent single requests whose
// inputs share everything but the first dimension are stacked into one forward, up to
// `max_batch_size` rows or until `max_queue_delay_us` has passed since the first one
// waited, then the outputs are split back. It is itself a ModelBackend, so front-ends do
// not know whether batching is on. Thread-safe: Infer from any thread; one worker thread
// runs the batches; the destructor stops and joins it.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "serving/model_backend.h"

namespace gantry::serving {

struct BatcherOptions {
  int64_t max_batch_size = 32;       // rows in one forward
  int64_t max_queue_delay_us = 500;  // how long the first request waits for company
};

class Batcher : public ModelBackend {
 public:
  Batcher(std::unique_ptr<ModelBackend> backend, BatcherOptions options);
  ~Batcher() override;

  Status Load(const fs::path& dir) override { return backend_->Load(dir); }
  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override;
  const ModelInfo& info() const override { return backend_->info(); }

  // Batches run so far (for metrics and tests).
  int64_t batches_run() const { return batches_.load(); }

 private:
  struct Pending {
    Tensor input;
    std::promise<Result<std::vector<Tensor>>> done;
  };
  void Loop();
  void RunBatch(std::vector<std::unique_ptr<Pending>>& batch);

  std::unique_ptr<ModelBackend> backend_;
  BatcherOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::atomic<int64_t> batches_{0};
  std::thread worker_;
};

}  // namespace gantry::serving
