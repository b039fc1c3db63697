// CPU kernels of the curvature ops: torch::stable::parallel_for over the shared maths. Chunks run one after
// the other, each with GEMMs large enough for BLAS to use every thread (the GEMMs are most of
// the work; per-thread chunks of single-threaded small GEMMs ran 2× slower), and the fused
// epilogues parallel over samples or columns.

#include <vector>

#include "../../common/chunking.h"
#include "../../common/cpu_dispatch.h"
#include "curvature_impl.h"

namespace ood_ext::curvature {
namespace {

// Items per parallel task for `work` elements per item: enough to amortise scheduling.
int64_t grain(int64_t work) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, work)); }

struct CpuBackend : SequentialChunks {
  template <typename T>
  static void pair_products(const T* v, T* out, int64_t N, int64_t positions, int64_t D, T scale_off_diagonal) {
    const int64_t P = num_pairs(positions);
    torch::stable::parallel_for(0, N * P, grain(D), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) pair_product(v, out, r / P, r % P, positions, D, scale_off_diagonal, 0, 1);
    });
  }

  template <typename T>
  static void pair_reduce(const T* g, const T* V, int64_t N, int64_t positions, int64_t Dout, T* q) {
    const int64_t P = num_pairs(positions);
    torch::stable::parallel_for(0, N, grain(P * Dout), [&](int64_t begin, int64_t end) {
      run_vectorized([&] {
        for (int64_t n = begin; n < end; ++n) {
          double total = 0.0;
          for (int64_t p = 0; p < P; ++p) total += pair_term(g, V, n, p, positions, Dout, 0, 1);
          q[n] = static_cast<T>(total);
        }
      });
    });
  }

  template <typename T>
  static void weighted_sum_squares(const T* M, const T* W, int64_t N, int64_t K, T* q) {
    torch::stable::parallel_for(0, N, grain(K), [&](int64_t begin, int64_t end) {
      run_vectorized([&] {
        for (int64_t n = begin; n < end; ++n) q[n] = static_cast<T>(curvature::weighted_sum_squares(M + n * K, W, K, 0, 1));
      });
    });
  }

  template <typename T>
  static void accumulate_squares(const T* M, int64_t N, int64_t K, double* S) {
    // Tasks own disjoint column ranges of S and walk all rows: no write conflicts.
    torch::stable::parallel_for(0, K, 4096, [&](int64_t begin, int64_t end) {
      run_vectorized([&] {
        for (int64_t n = 0; n < N; ++n) {
          const T* row = M + n * K;
          for (int64_t k = begin; k < end; ++k) S[k] += static_cast<double>(row[k]) * static_cast<double>(row[k]);
        }
      });
    });
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CPU, m) {
  m.impl("curvature_quadratic_form", TORCH_BOX(&quadratic_form_op<CpuBackend>));
  m.impl("curvature_eigen_correction", TORCH_BOX(&eigen_correction_op<CpuBackend>));
}

}  // namespace ood_ext::curvature
