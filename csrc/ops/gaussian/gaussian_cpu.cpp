// CPU kernels of the full-covariance Gaussian op: torch::stable::parallel_for over the shared maths.

#include "../../common/chunking.h"
#include "../../common/cpu_dispatch.h"
#include "../../common/density_reduce.h"
#include "gaussian_impl.h"

namespace ood_ext::gaussian {
namespace {

// Samples per parallel task: enough work to amortise scheduling.
int64_t grain(const BlockLayout& layout) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, layout.C * layout.D));
}

struct CpuBackend : ParallelChunks {
  template <typename T>
  static void forward_epilogue(const T* y, const T* m, const double* constant, const BlockLayout& layout,
                               Reduce reduce, T* out, int64_t* argmax) {
    const int64_t C = layout.C;
    torch::stable::parallel_for(0, layout.B, grain(layout), [&](int64_t begin, int64_t end) {
      run_vectorized([&] {
        for (int64_t b = begin; b < end; ++b) {
          ReducedRow<T> row{reduce, C, b, out, argmax, true};
          for (int64_t c = 0; c < C; ++c) row.push(c, log_density(constant[c], mahalanobis_sq(y, m, layout, b, c, 0, 1)));
          row.finish();
        }
      });
    });
  }

  template <typename T>
  static void backward_scale(T* y, const T* m, const double* constant, const BlockLayout& layout, Reduce reduce,
                             const T* grad, const T* result, const int64_t* argmax, T* weight) {
    const int64_t C = layout.C;
    torch::stable::parallel_for(0, layout.B, grain(layout), [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        for (int64_t c = 0; c < C; ++c) {
          const double l =
              reduce == Reduce::kLogSumExp ? log_density(constant[c], mahalanobis_sq(y, m, layout, b, c, 0, 1)) : 0.0;
          const double w = row_grad_weight(reduce, grad, result, argmax, b, c, C, l);
          weight[b * C + c] = static_cast<T>(w);
          scale_residual(y, m, layout, b, c, w, 0, 1);
        }
      }
    });
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CPU, m) {
  m.impl("gaussian_log_prob", TORCH_BOX(&log_prob<CpuBackend>));
  m.impl("gaussian_log_prob_backward", TORCH_BOX(&log_prob_backward<CpuBackend>));
}

}  // namespace ood_ext::gaussian
