// CPU kernels of the diagonal Gaussian op: torch::stable::parallel_for over the shared maths.

#include <algorithm>
#include <vector>

#include "../../common/cpu_dispatch.h"
#include "../../common/density_reduce.h"
#include "diag_gaussian_impl.h"

namespace ood_ext::diag_gaussian {
namespace {

int64_t grain(int64_t work_per_item) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_item)); }

// Σ_d (x_d − μ_d)² / v_d of one (sample, class).
template <typename T>
double mahalanobis_sq(const T* x, const T* mean, const T* inv_var, int64_t D) {
  return strided_sum<double>(0, D, 1, [=](int64_t d) { return mahalanobis_term(x[d], mean[d], inv_var[d]); });
}

struct CpuBackend {
  template <typename T>
  static void forward(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N, int64_t C,
                      int64_t D, Reduce reduce, T* out, int64_t* argmax) {
    torch::stable::parallel_for(0, N, grain(C * D), [&](int64_t begin, int64_t end) {
      run_vectorized([&] {
        for (int64_t n = begin; n < end; ++n) {
          ReducedRow<T> row{reduce, C, n, out, argmax, true};
          for (int64_t c = 0; c < C; ++c) {
            row.push(c, constant[c] - 0.5 * mahalanobis_sq(x + n * D, mean + c * D, inv_var + c * D, D));
          }
          row.finish();
        }
      });
    });
  }

  template <typename T>
  static void backward_rows(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N,
                            int64_t C, int64_t D, Reduce reduce, const T* grad, const T* result,
                            const int64_t* argmax, T* weight, T* grad_x) {
    torch::stable::parallel_for(0, N, grain(C * D), [&](int64_t begin, int64_t end) {
      std::vector<double> gx(D);
      for (int64_t n = begin; n < end; ++n) {
        std::fill(gx.begin(), gx.end(), 0.0);
        const T* xn = x + n * D;
        for (int64_t c = 0; c < C; ++c) {
          const T* mc = mean + c * D;
          const T* ic = inv_var + c * D;
          const double l =
              reduce == Reduce::kLogSumExp ? constant[c] - 0.5 * mahalanobis_sq(xn, mc, ic, D) : 0.0;
          const double w = row_grad_weight(reduce, grad, result, argmax, n, c, C, l);
          weight[n * C + c] = static_cast<T>(w);
          if (w == 0.0) continue;
          for (int64_t d = 0; d < D; ++d) gx[d] += w * grad_x_term(xn[d], mc[d], ic[d]);
        }
        for (int64_t d = 0; d < D; ++d) grad_x[n * D + d] = static_cast<T>(gx[d]);
      }
    });
  }

  template <typename T>
  static void backward_classes(const T* x, const T* mean, const T* inv_var, const T* weight, int64_t N, int64_t C,
                               int64_t D, T* grad_mean, T* grad_var) {
    // One task per (class, block of kBlock coordinates); each walks all samples.
    constexpr int64_t kBlock = 64;
    const int64_t blocks = (D + kBlock - 1) / kBlock;
    torch::stable::parallel_for(0, C * blocks, 1, [&](int64_t begin, int64_t end) {
      double gm[kBlock], gv[kBlock];
      for (int64_t task = begin; task < end; ++task) {
        const int64_t c = task / blocks, d0 = (task % blocks) * kBlock, d1 = std::min(D, d0 + kBlock);
        std::fill(gm, gm + kBlock, 0.0);
        std::fill(gv, gv + kBlock, 0.0);
        for (int64_t n = 0; n < N; ++n) {
          const double w = static_cast<double>(weight[n * C + c]);
          if (w == 0.0) continue;
          for (int64_t d = d0; d < d1; ++d) {
            gm[d - d0] -= w * grad_x_term(x[n * D + d], mean[c * D + d], inv_var[c * D + d]);
            gv[d - d0] += w * grad_var_term(x[n * D + d], mean[c * D + d], inv_var[c * D + d]);
          }
        }
        for (int64_t d = d0; d < d1; ++d) {
          grad_mean[c * D + d] = static_cast<T>(gm[d - d0]);
          grad_var[c * D + d] = static_cast<T>(gv[d - d0]);
        }
      }
    });
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CPU, m) {
  m.impl("diag_gaussian_log_prob", TORCH_BOX(&log_prob<CpuBackend>));
  m.impl("diag_gaussian_log_prob_backward", TORCH_BOX(&log_prob_backward<CpuBackend>));
}

}  // namespace ood_ext::diag_gaussian
