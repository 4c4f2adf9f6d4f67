// The forwarder against the BLAS library's own sgemm_, for every transposition of thin
// products (by columns and by rows) and of ones it passes on, strided operands, and beta = 0
// over garbage.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

extern "C" void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
                       const float*, const int*, const float*, const int*, const float*, float*,
                       const int*);

namespace {

using Sgemm = decltype(&sgemm_);

struct Case {
  char transa, transb;
  int m, n, k;
  float alpha, beta;
};

TEST(BlasGemvForwardTest, MatchesTheLibrarysGemm) {
  // The system BLAS (libtorch's), loaded globally, so that the forwarder finds it next.
  void* blas = ::dlopen("libblas.so.3", RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(blas, nullptr) << ::dlerror();
  auto library = reinterpret_cast<Sgemm>(::dlsym(blas, "sgemm_"));
  ASSERT_NE(library, nullptr);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<Case> cases;
  for (char ta : {'N', 'T', 'n', 't'}) {
    for (char tb : {'N', 'T'}) {
      for (auto [m, n, k] : {std::tuple{37, 1, 53},
                             {1, 41, 29},
                             {1, 1, 17},
                             {37, 3, 53},
                             {4, 41, 29},
                             {3, 4, 9},
                             {5, 6, 7},
                             {40, 30, 20}}) {
        for (auto [alpha, beta] : {std::pair{1.0f, 1.0f}, {2.0f, 0.0f}, {0.5f, -1.5f}}) {
          cases.push_back({ta, tb, m, n, k, alpha, beta});
        }
      }
    }
  }
  for (const Case& t : cases) {
    bool ta = t.transa == 'T' || t.transa == 't', tb = t.transb == 'T' || t.transb == 't';
    // Leading dimensions larger than needed, so strides are exercised.
    int lda = (ta ? t.k : t.m) + 3, ldb = (tb ? t.n : t.k) + 2, ldc = t.m + 4;
    std::vector<float> a(static_cast<size_t>(lda) * (ta ? t.m : t.k));
    std::vector<float> b(static_cast<size_t>(ldb) * (tb ? t.k : t.n));
    for (auto& v : a) v = uniform(rng);
    for (auto& v : b) v = uniform(rng);
    std::vector<float> c0(static_cast<size_t>(ldc) * t.n);
    for (auto& v : c0) v = t.beta == 0 ? std::numeric_limits<float>::quiet_NaN() : uniform(rng);
    std::vector<float> want = c0, got = c0;
    library(&t.transa, &t.transb, &t.m, &t.n, &t.k, &t.alpha, a.data(), &lda, b.data(), &ldb,
            &t.beta, want.data(), &ldc);
    sgemm_(&t.transa, &t.transb, &t.m, &t.n, &t.k, &t.alpha, a.data(), &lda, b.data(), &ldb,
           &t.beta, got.data(), &ldc);
    for (int j = 0; j < t.n; ++j) {
      for (int i = 0; i < ldc; ++i) {
        size_t at = static_cast<size_t>(j) * ldc + i;
        if (i >= t.m) {  // outside C: untouched
          EXPECT_TRUE(got[at] == c0[at] || (std::isnan(got[at]) && std::isnan(c0[at])));
        } else {
          EXPECT_NEAR(got[at], want[at], 1e-4)
              << t.transa << t.transb << " m=" << t.m << " n=" << t.n << " k=" << t.k
              << " beta=" << t.beta << " at " << i << "," << j;
        }
      }
    }
  }
}

}  // namespace
