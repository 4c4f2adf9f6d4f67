// InferScheduler: how the model server's requests reach a ModelBackend. A backend executes
// the tensors it is given; a scheduler in front of it decides when each request runs and
// with which others (as Triton's schedulers sit in front of its backends). Two exist:
// DirectScheduler, each request at once on the caller's thread (the default), and Batcher
// (batcher.h), dynamic batching. Chosen by NewScheduler(). The front-ends talk to the
// scheduler only, so they do not know whether batching is on.
// Implementations are thread-safe: any method from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "serving/model_backend.h"

namespace gantry::serving {

// Receives a request's outputs, or the backend's refusal.
using InferDone = std::move_only_function<void(Result<std::vector<Tensor>>)>;

// What a batching scheduler has done so far (for /metrics).
struct BatchStats {
  int64_t batches_run = 0;       // forwards
  int64_t requests_batched = 0;  // requests those forwards answered
  int64_t queue_depth = 0;       // requests waiting for a forward now
};

class InferScheduler {
 public:
  virtual ~InferScheduler() = default;
  // Runs `inputs` and waits for the outputs. The backend's InvalidArgument for a wrong shape
  // or datatype; Unavailable once the scheduler is stopping.
  virtual Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) = 0;
  // Runs `inputs` and answers through `done`: on this thread before returning, or later on
  // another one. The request may wait until the caller's next Flush(): an event loop submits
  // the requests that arrived together, then flushes once, so that they can share a forward.
  virtual void Submit(std::vector<Tensor> inputs, InferDone done) = 0;
  // Starts what Submit calls have left waiting.
  virtual void Flush() = 0;
  // Submit, then Flush.
  void InferAsync(std::vector<Tensor> inputs, InferDone done) {
    Submit(std::move(inputs), std::move(done));
    Flush();
  }
  // A batching scheduler's counters; nullopt for one that does not batch.
  virtual std::optional<BatchStats> batch_stats() { return std::nullopt; }
};

// Each request runs at once on the caller's thread; nothing waits for Flush.
class DirectScheduler final : public InferScheduler {
 public:
  // `backend` outlives the scheduler.
  explicit DirectScheduler(ModelBackend& backend) : backend_(backend) {}
  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    return backend_.Infer(inputs);
  }
  void Submit(std::vector<Tensor> inputs, InferDone done) override { done(backend_.Infer(inputs)); }
  void Flush() override {}

 private:
  ModelBackend& backend_;
};

// How `gantry serve` schedules: max_batch_size 0 = DirectScheduler, else a Batcher of at most
// that many rows per forward, the first request waiting up to max_queue_delay_us for others.
// `backend` outlives the scheduler.
std::unique_ptr<InferScheduler> NewScheduler(ModelBackend& backend, int64_t max_batch_size,
                                             int64_t max_queue_delay_us);

}  // namespace gantry::serving
