// sgemm_ calls whose product has a single column or a single row, sent to sgemv_.
//
// Why: libtorch 1.13 computes a Linear layer on one input row as a matrix product
// (sgemm_), and OpenBLAS 0.3.21 (Debian 12's) copies ("packs") the whole weight matrix on
// every such call. On the 2-core development machine the MNIST DNN's first layer, a
// [1, 784] x [784, 256] product, took 72 us that way and 14 us as a matrix-vector product:
// most of a batch-1 forward, and so of an unbatched request's latency. OpenBLAS 0.3.27 and
// later forward these calls to GEMV themselves (GEMM_GEMV_FORWARD); this does the same for
// older ones, and is harmless for a BLAS that already does.
//
// How: this object defines sgemm_ and the executables that link it export the symbol, so
// the dynamic linker binds libtorch's calls here (an executable comes first in symbol
// lookup). Every other product goes to the next sgemm_, the BLAS library's, unchanged. It is
// an object library linked into executables only (gantry, forward_bench), never into the
// libraries, so that nothing else is affected by accident. Results may differ from GEMM's in
// the last bits (another summation order), as they do between BLAS builds.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace {

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
  // GEMV's quick returns differ from GEMM's for empty sizes: leave those to GEMM.
  if (blas.gemv == nullptr || *m <= 0 || *n <= 0 || *k <= 0 || (*m != 1 && *n != 1)) {
    blas.gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int one = 1;
  // beta = 0 means C is not read (it may hold garbage, even NaN); GEMV scales y by beta, so
  // clear it first.
  if (*beta == 0.0f) {
    const int count = *n == 1 ? *m : *n;
    const int stride = *n == 1 ? 1 : *ldc;
    for (int i = 0; i < count; ++i) c[static_cast<long>(i) * stride] = 0.0f;
  }
  if (*n == 1) {
    // C is one column y (m values, contiguous); x is op(B)'s column.
    const int incx = Transposed(transb) ? *ldb : 1;
    if (Transposed(transa)) {  // A is stored k x m
      blas.gemv("T", k, m, alpha, a, lda, b, &incx, beta, c, &one);
    } else {  // A is stored m x k
      blas.gemv("N", m, k, alpha, a, lda, b, &incx, beta, c, &one);
    }
  } else {
    // C is one row (n values, stride ldc): C^T = op(B)^T * op(A)^T, x is op(A)'s row.
    const int incx = Transposed(transa) ? 1 : *lda;
    if (Transposed(transb)) {  // B is stored n x k, op(B)^T = B
      blas.gemv("N", n, k, alpha, b, ldb, a, &incx, beta, c, ldc);
    } else {  // B is stored k x n
      blas.gemv("T", k, n, alpha, b, ldb, a, &incx, beta, c, ldc);
    }
  }
}
