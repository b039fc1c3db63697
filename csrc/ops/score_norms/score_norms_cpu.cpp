// CPU kernel of multiscale_score_norms: torch::stable::parallel_for over (level, sample) rows.

#include <algorithm>

#include "../../common/cpu_dispatch.h"
#include "score_norms_impl.h"

namespace ood_ext::score_norms {
namespace {

struct CpuBackend {
  template <typename T>
  static void norms(const T* scores, const T* noisy, const T* clean, const T* sigmas, int64_t L, int64_t N, int64_t P,
                    Mode mode, T* out) {
    const int64_t grain = std::max<int64_t>(1, 16384 / P);
    torch::stable::parallel_for(0, L * N, grain, [&](int64_t begin, int64_t end) {
      run_vectorized([&] {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t i = r / N, n = r % N;
          const double sigma = static_cast<double>(sigmas[i]);
          const double squares = mode == Mode::kWeighted
                                     ? sum_squares(scores + r * P, P, 0, 1)
                                     : residual_squares(scores + r * P, noisy + r * P, clean + n * P,
                                                        static_cast<T>(1.0 / (sigma * sigma)), P, 0, 1);
          out[n * L + i] = static_cast<T>(row_norm(mode, squares, sigma));
        }
      });
    });
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CPU, m) { m.impl("multiscale_score_norms", TORCH_BOX(&norms_op<CpuBackend>)); }

}  // namespace ood_ext::score_norms
