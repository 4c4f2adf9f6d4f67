#include "serving/batcher.h"

#include <chrono>

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
  auto pending = std::make_unique<Pending>();
  pending->input = inputs[0];
  auto result = pending->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Err(UnavailableError("the model server is stopping"));
    queue_.push_back(std::move(pending));
  }
  cv_.notify_all();
  return result.get();
}

void Batcher::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    // Wait for company until the batch is full or the first request has waited long enough.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::microseconds(options_.max_queue_delay_us);
    auto rows = [this] {
      int64_t n = 0;
      for (const auto& p : queue_) n += p->input.shape[0];
      return n;
    };
    cv_.wait_until(lock, deadline,
                   [&] { return stopping_ || rows() >= options_.max_batch_size; });
    std::vector<std::unique_ptr<Pending>> batch;
    int64_t taken = 0;
    while (!queue_.empty()) {
      auto& next = queue_.front();
      if (!batch.empty() && (!Stackable(batch[0]->input, next->input) ||
                             taken + next->input.shape[0] > options_.max_batch_size)) {
        break;
      }
      taken += next->input.shape[0];
      batch.push_back(std::move(next));
      queue_.pop_front();
    }
    lock.unlock();
    RunBatch(batch);
    lock.lock();
  }
}

void Batcher::RunBatch(std::vector<std::unique_ptr<Pending>>& batch) {
  ++batches_;
  if (batch.size() == 1) {
    batch[0]->done.set_value(backend_->Infer({batch[0]->input}));
    return;
  }
  Tensor stacked = batch[0]->input;
  stacked.shape[0] = 0;
  stacked.data.clear();
  for (const auto& p : batch) {
    stacked.shape[0] += p->input.shape[0];
    stacked.data.insert(stacked.data.end(), p->input.data.begin(), p->input.data.end());
  }
  auto outputs = backend_->Infer({stacked});
  if (!outputs.has_value() || outputs->size() != 1 || outputs->front().shape.empty() ||
      outputs->front().shape[0] != stacked.shape[0]) {
    // A batch the model refused: answer each request on its own, so one bad input cannot
    // fail its neighbours.
    for (auto& p : batch) p->done.set_value(backend_->Infer({p->input}));
    return;
  }
  const Tensor& out = outputs->front();
  size_t per_row = out.data.size() / static_cast<size_t>(out.shape[0]);
  size_t offset = 0;
  for (auto& p : batch) {
    Tensor part = out;
    part.shape[0] = p->input.shape[0];
    size_t n = per_row * static_cast<size_t>(p->input.shape[0]);
    part.data.assign(out.data.begin() + offset, out.data.begin() + offset + n);
    offset += n;
    p->done.set_value(std::vector<Tensor>{std::move(part)});
  }
}

}  // namespace gantry::serving
