#include "serving/batcher.h"

#include <pthread.h>

#include <chrono>
#include <optional>

namespace gantry::serving {

namespace {
// Inputs that can share a forward: one tensor, FP32, same shape after the first dimension.
bool Stackable(const Tensor& a, const Tensor& b) {
  if (a.datatype != b.datatype || a.shape.size() != b.shape.size() || a.shape.empty()) {
    return false;
  }
  for (size_t i = 1; i < a.shape.size(); ++i) {
    if (a.shape[i] != b.shape[i]) return false;
  }
  return true;
}
}  // namespace

Batcher::Batcher(std::unique_ptr<ModelBackend> backend, BatcherOptions options)
    : backend_(std::move(backend)), options_(options) {
  worker_ = std::thread([this] { Loop(); });
  ::pthread_setname_np(worker_.native_handle(), "batcher");
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

Result<std::vector<Tensor>> Batcher::Infer(const std::vector<Tensor>& inputs) {
  if (inputs.size() != 1 || inputs[0].shape.empty()) return backend_->Infer(inputs);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<std::vector<Tensor>>> result;
  InferAsync(inputs, [&](Result<std::vector<Tensor>> out) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(out);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

void Batcher::InferAsync(std::vector<Tensor> inputs, InferDone done) {
  Submit(std::move(inputs), std::move(done));
  Flush();
}

void Batcher::Submit(std::vector<Tensor> inputs, InferDone done) {
  if (inputs.size() != 1 || inputs[0].shape.empty()) {
    done(backend_->Infer(inputs));
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      done(Err(UnavailableError("the model server is stopping")));
      return;
    }
    queue_.push_back(Pending{std::move(inputs[0]), std::move(done)});
  }
  if (options_.max_queue_delay_us > 0) cv_.notify_one();
}

void Batcher::Flush() {
  if (options_.max_queue_delay_us > 0) return;  // the worker waits for company
  std::unique_lock<std::mutex> lock(mu_);
  // Busy: whoever runs the current forward hands the queue to the worker when it ends.
  if (running_ > 0 || queue_.empty()) return;
  if (queue_.size() > 1) {
    // A batch: the worker runs it while the caller (an HTTP loop) goes back to reading and
    // parsing the next requests.
    handoff_ = true;
    lock.unlock();
    cv_.notify_one();
    return;
  }
  // A lone request on an idle model: running it here saves two thread hand-offs.
  std::vector<Pending> batch = TakeBatch();
  ++running_;
  lock.unlock();
  RunBatch(batch);
  batch.clear();  // the callbacks' captures go before the lock is taken again
  lock.lock();
  --running_;
  // What queued meanwhile goes to the worker, so that this thread gets back to its own work.
  bool wake = !queue_.empty() || stopping_;
  if (!queue_.empty()) handoff_ = true;
  lock.unlock();
  if (wake) cv_.notify_one();
}

std::vector<Batcher::Pending> Batcher::TakeBatch() {
  std::vector<Pending> batch;
  int64_t taken = 0;
  while (!queue_.empty()) {
    auto& next = queue_.front();
    if (!batch.empty() && (!Stackable(batch[0].input, next.input) ||
                           taken + next.input.shape[0] > options_.max_batch_size)) {
      break;
    }
    taken += next.input.shape[0];
    batch.push_back(std::move(next));
    queue_.pop_front();
  }
  return batch;
}

void Batcher::Loop() {
  const bool delayed = options_.max_queue_delay_us > 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      if (running_ > 0) return false;
      return stopping_ || (delayed ? !queue_.empty() : handoff_);
    });
    if (queue_.empty()) {
      handoff_ = false;
      if (stopping_) return;
      continue;
    }
    if (delayed) {
      // Wait for company until the batch is full or the first request has waited long enough.
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::microseconds(options_.max_queue_delay_us);
      auto rows = [this] {
        int64_t n = 0;
        for (const auto& p : queue_) n += p.input.shape[0];
        return n;
      };
      cv_.wait_until(lock, deadline,
                     [&] { return stopping_ || rows() >= options_.max_batch_size; });
    }
    std::vector<Pending> batch = TakeBatch();
    ++running_;
    lock.unlock();
    RunBatch(batch);
    batch.clear();  // the callbacks' captures go before the lock is taken again
    lock.lock();
    --running_;
    // Keep going while requests wait: the threads that queued them are busy with their own.
    handoff_ = !queue_.empty();
  }
}

int64_t Batcher::queue_depth() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

void Batcher::RunBatch(std::vector<Pending>& batch) {
  ++batches_;
  requests_batched_ += static_cast<int64_t>(batch.size());
  if (batch.size() == 1) {
    batch[0].done(backend_->Infer({batch[0].input}));
    return;
  }
  Tensor stacked;
  stacked.name = batch[0].input.name;
  stacked.datatype = batch[0].input.datatype;
  stacked.shape = batch[0].input.shape;
  stacked.shape[0] = 0;
  size_t values = 0;
  for (const auto& p : batch) values += p.input.data.size();
  stacked.data.reserve(values);
  for (const auto& p : batch) {
    stacked.shape[0] += p.input.shape[0];
    stacked.data.insert(stacked.data.end(), p.input.data.begin(), p.input.data.end());
  }
  auto outputs = backend_->Infer({stacked});
  if (!outputs.has_value() || outputs->size() != 1 || outputs->front().shape.empty() ||
      outputs->front().shape[0] != stacked.shape[0]) {
    // A batch the model refused: answer each request on its own, so one bad input cannot
    // fail its neighbours.
    for (auto& p : batch) p.done(backend_->Infer({p.input}));
    return;
  }
  const Tensor& out = outputs->front();
  size_t per_row = out.data.size() / static_cast<size_t>(out.shape[0]);
  size_t offset = 0;
  for (auto& p : batch) {
    Tensor part;
    part.name = out.name;
    part.datatype = out.datatype;
    part.shape = out.shape;
    part.shape[0] = p.input.shape[0];
    size_t n = per_row * static_cast<size_t>(p.input.shape[0]);
    part.data.assign(out.data.begin() + static_cast<long>(offset),
                     out.data.begin() + static_cast<long>(offset + n));
    offset += n;
    std::vector<Tensor> parts;
    parts.push_back(std::move(part));
    p.done(std::move(parts));
  }
}

}  // namespace gantry::serving
