#include "serving/batcher.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <optional>

namespace gantry::serving {

namespace {
// Tensors that can share a forward: same name and datatype, same shape after the first
// dimension.
bool Stackable(const Tensor& a, const Tensor& b) {
  if (a.name != b.name || a.datatype != b.datatype || a.shape.size() != b.shape.size() ||
      a.shape.empty()) {
    return false;
  }
  for (size_t i = 1; i < a.shape.size(); ++i) {
    if (a.shape[i] != b.shape[i]) return false;
  }
  return true;
}

bool Stackable(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!Stackable(a[i], b[i])) return false;
  }
  return true;
}

// The rows of a request whose inputs all have the same first dimension; -1 when it cannot
// be batched (no inputs, a scalar, or inputs of different lengths).
int64_t RowsOf(const std::vector<Tensor>& inputs) {
  if (inputs.empty() || inputs[0].shape.empty()) return -1;
  for (const auto& t : inputs) {
    if (t.shape.empty() || t.shape[0] != inputs[0].shape[0]) return -1;
  }
  return inputs[0].shape[0];
}
}  // namespace

Batcher::Batcher(ModelBackend& backend, BatcherOptions options)
    : backend_(backend), options_(options) {
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
  if (RowsOf(inputs) < 0) return backend_.Infer(inputs);
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

void Batcher::Submit(std::vector<Tensor> inputs, InferDone done) {
  const int64_t rows = RowsOf(inputs);
  if (rows < 0) {
    done(backend_.Infer(inputs));
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      done(Err(UnavailableError("the model server is stopping")));
      return;
    }
    queue_.push_back(Pending{std::move(inputs), rows, std::move(done)});
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
    if (!batch.empty() &&
        (!Stackable(batch[0].inputs, next.inputs) || taken + next.rows > options_.max_batch_size)) {
      break;
    }
    taken += next.rows;
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
        for (const auto& p : queue_) n += p.rows;
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
    batch[0].done(backend_.Infer(batch[0].inputs));
    return;
  }
  int64_t total = 0;
  for (const auto& p : batch) total += p.rows;
  std::vector<Tensor> stacked;
  for (size_t i = 0; i < batch[0].inputs.size(); ++i) {
    Tensor s;
    s.name = batch[0].inputs[i].name;
    s.datatype = batch[0].inputs[i].datatype;
    s.shape = batch[0].inputs[i].shape;
    s.shape[0] = total;
    size_t values = 0;
    for (const auto& p : batch) values += p.inputs[i].data.size();
    s.data.reserve(values);
    for (const auto& p : batch) {
      s.data.insert(s.data.end(), p.inputs[i].data.begin(), p.inputs[i].data.end());
    }
    stacked.push_back(std::move(s));
  }
  auto outputs = backend_.Infer(stacked);
  bool split = outputs.has_value() && !outputs->empty() && total > 0;
  if (split) {
    for (const Tensor& out : *outputs) {
      if (out.shape.empty() || out.shape[0] != total ||
          out.data.size() % static_cast<size_t>(std::max<int64_t>(total, 1)) != 0) {
        split = false;
      }
    }
  }
  if (!split) {
    // A batch the model refused (or whose outputs are not rows): answer each request on its
    // own, so one bad input cannot fail its neighbours.
    for (auto& p : batch) p.done(backend_.Infer(p.inputs));
    return;
  }
  std::vector<size_t> per_row, offset(outputs->size(), 0);
  for (const Tensor& out : *outputs)
    per_row.push_back(out.data.size() / static_cast<size_t>(total));
  for (auto& p : batch) {
    std::vector<Tensor> parts;
    for (size_t k = 0; k < outputs->size(); ++k) {
      const Tensor& out = (*outputs)[k];
      Tensor part;
      part.name = out.name;
      part.datatype = out.datatype;
      part.shape = out.shape;
      part.shape[0] = p.rows;
      size_t n = per_row[k] * static_cast<size_t>(p.rows);
      part.data.assign(out.data.begin() + static_cast<long>(offset[k]),
                       out.data.begin() + static_cast<long>(offset[k] + n));
      offset[k] += n;
      parts.push_back(std::move(part));
    }
    p.done(std::move(parts));
  }
}

}  // namespace gantry::serving
