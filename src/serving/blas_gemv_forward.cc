// sgemm_ calls whose product has at most a few columns (or rows), sent to sgemv_.
//
// Why: libtorch 1.13 computes a Linear layer on a few input rows as a matrix product
// (sgemm_), and OpenBLAS 0.3.21 (Debian 12's) copies ("packs") the whole weight matrix on
// every such call. On the 2-core development machine the MNIST DNN's first layer, a
// [1, 784] x [784, 256] product, took 72 us that way and 14 us as a matrix-vector product:
// most of a batch-1 forward, and so of an unbatched request's latency. Small batches (2-4
// rows, common under moderate load) paid the same packing. OpenBLAS 0.3.27 and later send
// one-column products to GEMV themselves (GEMM_GEMV_FORWARD); this does it for older ones,
// and for up to kThin columns.
//
// How: this object defines sgemm_ and the executables that link it export the symbol, so
// the dynamic linker binds libtorch's calls here (an executable comes first in symbol
// lookup). Every other product goes to the next sgemm_, the BLAS library's, unchanged. It is
// an object library linked into executables only (gantry, forward_bench), never into the
// libraries, so that nothing else is affected by accident. Results may differ from GEMM's in
// the last bits (another summation order), as they do between BLAS builds.
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

// Products with at most this many output columns (or rows) are done as that many GEMVs. For
// the MNIST DNN, whole forwards of 1, 2, 3 and 4 rows took 20, 33, 43 and 54 us this way and
// 20 (GEMV already), 84, 113 and 72 us through OpenBLAS's GEMM; GEMM won from about 8 rows.
// Kept low because a GEMV re-reads the weights for each column: with weights larger than
// the caches the crossover comes earlier.
constexpr int kThin = 4;

using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*,
                       const float*, const int*, const float*, const int*, const float*, float*,
                       const int*);
using Sgemv = void (*)(const char*, const int*, const int*, const float*, const float*, const int*,
                       const float*, const int*, const float*, float*, const int*);

struct NextBlas {
  Sgemm gemm;
  Sgemv gemv;
};

const NextBlas& Next() {
  static const NextBlas blas = [] {
    NextBlas b{reinterpret_cast<Sgemm>(::dlsym(RTLD_NEXT, "sgemm_")),
               reinterpret_cast<Sgemv>(::dlsym(RTLD_NEXT, "sgemv_"))};
    if (b.gemm == nullptr) {
      // Only reachable if a program links this object without linking a BLAS.
      std::fprintf(stderr, "sgemm_ forwarder: no BLAS library is loaded\n");
      std::abort();
    }
    return b;
  }();
  return blas;
}

bool Transposed(const char* t) { return *t == 'T' || *t == 't' || *t == 'C' || *t == 'c'; }

}  // namespace

// The Fortran BLAS interface: column-major C (m x n) = alpha * op(A) (m x k) * op(B) (k x n)
// + beta * C.
extern "C" __attribute__((visibility("default"))) void sgemm_(
    const char* transa, const char* transb, const int* m, const int* n, const int* k,
    const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
    const float* beta, float* c, const int* ldc) {
  const NextBlas& blas = Next();
  const int thin = std::min(*m, *n);
  // GEMV's quick returns differ from GEMM's for empty sizes: leave those to GEMM.
  if (blas.gemv == nullptr || thin <= 0 || *k <= 0 || thin > kThin) {
    blas.gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const bool ta = Transposed(transa), tb = Transposed(transb);
  const int one = 1;
  if (*n <= *m) {
    // Column by column: C[:, j] = alpha * op(A) * op(B)[:, j] + beta * C[:, j].
    for (int j = 0; j < *n; ++j) {
      const float* x = tb ? b + j : b + static_cast<long>(j) * *ldb;
      const int incx = tb ? *ldb : 1;
      float* y = c + static_cast<long>(j) * *ldc;
      // beta = 0 means C is not read (it may hold garbage, even NaN); GEMV scales y by
      // beta, so clear it first.
      if (*beta == 0.0f) std::fill(y, y + *m, 0.0f);
      if (ta) {  // A is stored k x m
        blas.gemv("T", k, m, alpha, a, lda, x, &incx, beta, y, &one);
      } else {  // A is stored m x k
        blas.gemv("N", m, k, alpha, a, lda, x, &incx, beta, y, &one);
      }
    }
  } else {
    // Row by row: C[i, :]^T = alpha * op(B)^T * op(A)[i, :]^T + beta * C[i, :]^T.
    for (int i = 0; i < *m; ++i) {
      const float* x = ta ? a + static_cast<long>(i) * *lda : a + i;
      const int incx = ta ? 1 : *lda;
      float* y = c + i;
      if (*beta == 0.0f) {
        for (int j = 0; j < *n; ++j) y[static_cast<long>(j) * *ldc] = 0.0f;
      }
      if (tb) {  // B is stored n x k, op(B)^T = B
        blas.gemv("N", n, k, alpha, b, ldb, x, &incx, beta, y, ldc);
      } else {  // B is stored k x n
        blas.gemv("T", k, n, alpha, b, ldb, x, &incx, beta, y, ldc);
      }
    }
  }
}
