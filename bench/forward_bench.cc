// The bare forward pass under `gantry serve`: a backend's Infer on batches of 1 and 32 rows of
// the model's input, no HTTP and no JSON, so that serve_throughput.py and serve_tf.py can
// show where a request's time goes.
// Usage: forward_bench MODEL_DIR [ROWS...]   (default rows: 1 32)
// The TorchScript backend, or with BENCH_BACKEND=tensorflow a SavedModel through TensorFlow's
// C API (BENCH_PYTHON: the environment's interpreter whose wheel provides it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "serving/model_backend.h"

using gantry::serving::Tensor;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: forward_bench MODEL_DIR [ROWS...]\n");
    return 2;
  }
  std::vector<int64_t> batches;
  for (int i = 2; i < argc; ++i) batches.push_back(std::atoll(argv[i]));
  if (batches.empty()) batches = {1, 32};
  const char* kind = std::getenv("BENCH_BACKEND");
  gantry::serving::ModelBackendOptions options;
  if (const char* python = std::getenv("BENCH_PYTHON")) options.python = python;
  auto backend = gantry::serving::NewModelBackend(kind && *kind ? kind : "torchscript", options);
  if (!backend.has_value()) {
    std::fprintf(stderr, "%s\n", backend.error().ToString().c_str());
    return 2;
  }
  if (auto st = (*backend)->Load(argv[1]); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 2;
  }
  std::vector<int64_t> shape = (*backend)->info().inputs[0].shape;
  if (shape.size() < 2) shape = {-1, 784};
  for (int64_t rows : batches) {
    Tensor in;
    in.name = (*backend)->info().inputs[0].name;
    in.shape = shape;
    in.shape[0] = rows;
    int64_t count = 1;
    for (auto& d : in.shape) count *= d < 0 ? (d = 1) : d;
    in.data.assign(static_cast<size_t>(count), 0.5f);
    std::vector<Tensor> inputs{in};
    // Median over rounds of per-forward means, after a warm-up that lets TorchScript's
    // profiling executor settle.
    constexpr int kWarmup = 500, kRounds = 7, kPerRound = 1000;
    for (int i = 0; i < kWarmup; ++i) (void)(*backend)->Infer(inputs);
    std::vector<double> us;
    for (int r = 0; r < kRounds; ++r) {
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kPerRound; ++i) (void)(*backend)->Infer(inputs);
      std::chrono::duration<double, std::micro> d = std::chrono::steady_clock::now() - start;
      us.push_back(d.count() / kPerRound);
    }
    std::sort(us.begin(), us.end());
    std::printf("batch %lld: %.1f us per forward (%.1f us per row), median of %d x %d\n",
                static_cast<long long>(rows), us[kRounds / 2], us[kRounds / 2] / rows, kRounds,
                kPerRound);
  }
  return 0;
}
