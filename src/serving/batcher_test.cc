#include "serving/batcher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

namespace gantry::serving {
namespace {

// Doubles its input; records the batch sizes it saw.
class Doubler : public ModelBackend {
 public:
  Status Load(const fs::path&) override { return Status::Ok(); }
  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    std::lock_guard<std::mutex> lock(mu_);
    rows_seen.push_back(inputs[0].shape[0]);
    if (inputs[0].shape[1] != 2) return Err(InvalidArgumentError("expects [N, 2]"));
    Tensor out = inputs[0];
    for (auto& v : out.data) v *= 2;
    return std::vector<Tensor>{out};
  }
  const ModelInfo& info() const override { return info_; }
  std::vector<int64_t> rows_seen;

 private:
  std::mutex mu_;
  ModelInfo info_;
};

Tensor Row(float a, float b) { return Tensor{"x", {1, 2}, "FP32", {a, b}}; }

TEST(BatcherTest, ConcurrentRequestsShareAForwardAndGetTheirOwnRows) {
  auto backend = std::make_unique<Doubler>();
  Doubler* raw = backend.get();
  // A long delay and a batch of exactly 8: the forward runs when all 8 have arrived.
  Batcher batcher(*backend, {.max_batch_size = 8, .max_queue_delay_us = 10'000'000});
  std::vector<std::thread> threads;
  std::vector<std::vector<float>> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto out = batcher.Infer({Row(static_cast<float>(i), 1)});
      ASSERT_TRUE(out.has_value());
      results[i] = (*out)[0].data;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(results[i], (std::vector<float>{2.0f * i, 2}));
  EXPECT_EQ(batcher.batches_run(), 1);
  EXPECT_EQ(raw->rows_seen, (std::vector<int64_t>{8}));
}

// Two inputs a [N, 2] and b [N] -> sum [N] (a0 + a1 + b) and twice [N, 2] (2a), as a
// TensorFlow signature with several inputs and outputs has them.
class TwoInTwoOut : public ModelBackend {
 public:
  Status Load(const fs::path&) override { return Status::Ok(); }
  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    std::lock_guard<std::mutex> lock(mu_);
    rows_seen.push_back(inputs[0].shape[0]);
    const Tensor& a = inputs[0];
    const Tensor& b = inputs[1];
    Tensor sum{"sum", {a.shape[0]}, "FP32", {}};
    Tensor twice{"twice", a.shape, "FP32", {}};
    for (int64_t i = 0; i < a.shape[0]; ++i) {
      sum.data.push_back(a.data[2 * i] + a.data[2 * i + 1] + b.data[i]);
      twice.data.push_back(2 * a.data[2 * i]);
      twice.data.push_back(2 * a.data[2 * i + 1]);
    }
    return std::vector<Tensor>{sum, twice};
  }
  const ModelInfo& info() const override { return info_; }
  std::vector<int64_t> rows_seen;

 private:
  std::mutex mu_;
  ModelInfo info_;
};

TEST(BatcherTest, SeveralInputsAndOutputsAreStackedAndSplitTogether) {
  auto backend = std::make_unique<TwoInTwoOut>();
  TwoInTwoOut* raw = backend.get();
  Batcher batcher(*backend, {.max_batch_size = 4, .max_queue_delay_us = 10'000'000});
  std::vector<std::thread> threads;
  std::vector<std::vector<Tensor>> results(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      // Request 2 has two rows; the others one: 4 rows in all.
      int64_t rows = i == 2 ? 2 : 1;
      Tensor a{"a", {rows, 2}, "FP32", {}};
      Tensor b{"b", {rows}, "INT64", {}};
      for (int64_t r = 0; r < rows; ++r) {
        a.data.insert(a.data.end(), {static_cast<float>(i), static_cast<float>(r)});
        b.data.push_back(100);
      }
      auto out = batcher.Infer({a, b});
      ASSERT_TRUE(out.has_value());
      results[i] = *out;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(raw->rows_seen, (std::vector<int64_t>{4}));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(results[i].size(), 2u);
    EXPECT_EQ(results[i][0].name, "sum");
    EXPECT_EQ(results[i][1].name, "twice");
  }
  EXPECT_EQ(results[0][0].data, (std::vector<float>{100}));
  EXPECT_EQ(results[1][0].data, (std::vector<float>{101}));
  EXPECT_EQ(results[2][0].shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(results[2][0].data, (std::vector<float>{102, 103}));
  EXPECT_EQ(results[2][1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(results[2][1].data, (std::vector<float>{4, 0, 4, 2}));
}

TEST(BatcherTest, InputsOfDifferentLengthsRunAlone) {
  auto backend = std::make_unique<TwoInTwoOut>();
  TwoInTwoOut* raw = backend.get();
  Batcher batcher(*backend, {.max_batch_size = 4, .max_queue_delay_us = 10'000'000});
  // a has one row, b two: not rows of one batch, so it goes straight to the model.
  auto out =
      batcher.Infer({Tensor{"a", {1, 2}, "FP32", {1, 2}}, Tensor{"b", {2}, "INT64", {5, 6}}});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ((*out)[0].data, (std::vector<float>{8}));
  EXPECT_EQ(raw->rows_seen, (std::vector<int64_t>{1}));
  EXPECT_EQ(batcher.batches_run(), 0);
}

TEST(BatcherTest, ALoneRequestGoesAfterTheDelay) {
  Doubler doubler;
  Batcher batcher(doubler, {.max_batch_size = 8, .max_queue_delay_us = 100});
  auto out = batcher.Infer({Row(3, 4)});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ((*out)[0].data, (std::vector<float>{6, 8}));
}

TEST(BatcherTest, ABadInputFailsAloneAndShapesDoNotMix) {
  auto backend = std::make_unique<Doubler>();
  Batcher batcher(*backend, {.max_batch_size = 2, .max_queue_delay_us = 1000});
  Result<std::vector<Tensor>> good = Err(InternalError("unset")), bad = good;
  std::thread a([&] { good = batcher.Infer({Row(1, 1)}); });
  std::thread b([&] { bad = batcher.Infer({Tensor{"x", {1, 3}, "FP32", {1, 2, 3}}}); });
  a.join();
  b.join();
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ((*good)[0].data, (std::vector<float>{2, 2}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
}

// A Doubler whose forwards can be held at a gate.
class GatedDoubler : public Doubler {
 public:
  Result<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    {
      std::unique_lock<std::mutex> lock(gate_mu_);
      threads_seen.push_back(std::this_thread::get_id());
      ++entered_;
      gate_cv_.notify_all();
      gate_cv_.wait(lock, [this] { return open_; });
    }
    return Doubler::Infer(inputs);
  }
  void AwaitEntered(int n) {
    std::unique_lock<std::mutex> lock(gate_mu_);
    gate_cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(gate_mu_);
    open_ = true;
    gate_cv_.notify_all();
  }
  std::vector<std::thread::id> threads_seen;  // guarded by gate_mu_

 private:
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  int entered_ = 0;
  bool open_ = false;
};

TEST(BatcherTest, WithoutDelayALoneRequestRunsAtOnceOnTheCallersThread) {
  auto backend = std::make_unique<GatedDoubler>();
  GatedDoubler* raw = backend.get();
  raw->Open();
  Batcher batcher(*backend, {.max_batch_size = 8, .max_queue_delay_us = 0});
  bool answered = false;
  batcher.InferAsync({Row(3, 4)}, [&](Result<std::vector<Tensor>> out) {
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ((*out)[0].data, (std::vector<float>{6, 8}));
    answered = true;
  });
  EXPECT_TRUE(answered);  // before InferAsync returned
  EXPECT_EQ(raw->threads_seen, (std::vector<std::thread::id>{std::this_thread::get_id()}));
}

TEST(BatcherTest, RequestsArrivingDuringAForwardBecomeTheNextBatch) {
  auto backend = std::make_unique<GatedDoubler>();
  GatedDoubler* raw = backend.get();
  Batcher batcher(*backend, {.max_batch_size = 8, .max_queue_delay_us = 0});
  std::thread first([&] {
    auto out = batcher.Infer({Row(1, 1)});
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ((*out)[0].data, (std::vector<float>{2, 2}));
  });
  raw->AwaitEntered(1);  // the first request runs, held at the gate
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<float>> results(3);
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    batcher.InferAsync({Row(static_cast<float>(i), 5)}, [&, i](Result<std::vector<Tensor>> out) {
      std::lock_guard<std::mutex> lock(mu);
      if (out.has_value()) results[i] = (*out)[0].data;
      ++answered;
      cv.notify_all();
    });
  }
  raw->Open();
  first.join();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return answered == 3; });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(results[i], (std::vector<float>{2.0f * i, 10}));
  EXPECT_EQ(raw->rows_seen, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(batcher.batches_run(), 2);
}

TEST(BatcherTest, SubmittedRequestsWaitForFlushThenShareOneForwardOnTheWorker) {
  auto backend = std::make_unique<GatedDoubler>();
  GatedDoubler* raw = backend.get();
  raw->Open();
  Batcher batcher(*backend, {.max_batch_size = 8, .max_queue_delay_us = 0});
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<float>> results(3);
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    batcher.Submit({Row(static_cast<float>(i), 1)}, [&, i](Result<std::vector<Tensor>> out) {
      std::lock_guard<std::mutex> lock(mu);
      if (out.has_value()) results[i] = (*out)[0].data;
      ++answered;
      cv.notify_all();
    });
  }
  EXPECT_EQ(batcher.batches_run(), 0);  // nothing runs before Flush
  batcher.Flush();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return answered == 3; });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(results[i], (std::vector<float>{2.0f * i, 2}));
  EXPECT_EQ(raw->rows_seen, (std::vector<int64_t>{3}));
  ASSERT_EQ(raw->threads_seen.size(), 1u);
  EXPECT_NE(raw->threads_seen[0], std::this_thread::get_id());  // the worker ran it
}

TEST(SchedulerTest, WithoutABatchSizeEachRequestRunsAtOnceAndNothingIsCountedAsBatches) {
  Doubler doubler;
  auto scheduler = NewScheduler(doubler, 0, 0);
  bool answered = false;
  scheduler->Submit({Row(1, 2)}, [&](Result<std::vector<Tensor>> out) {
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ((*out)[0].data, (std::vector<float>{2, 4}));
    answered = true;
  });
  EXPECT_TRUE(answered);  // before Flush, on this thread
  EXPECT_FALSE(scheduler->batch_stats().has_value());
  auto bad = scheduler->Infer({Tensor{"x", {1, 3}, "FP32", {1, 2, 3}}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "expects [N, 2]");
}

TEST(SchedulerTest, WithABatchSizeRequestsAreBatchedAndCounted) {
  Doubler doubler;
  auto scheduler = NewScheduler(doubler, 8, 0);
  auto out = scheduler->Infer({Row(3, 4)});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ((*out)[0].data, (std::vector<float>{6, 8}));
  auto stats = scheduler->batch_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->batches_run, 1);
  EXPECT_EQ(stats->requests_batched, 1);
  EXPECT_EQ(stats->queue_depth, 0);
}

}  // namespace
}  // namespace gantry::serving
