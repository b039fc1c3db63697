// CUDA registration of multiscale_score_norms, launched on the current stream.
#include "../../common/cuda_stream.h"

#include "score_norms_kernels.h"
#include "score_norms_impl.h"

namespace ood_ext::score_norms {
namespace {

struct CudaBackend {
  template <typename T>
  static void norms(const T* scores, const T* noisy, const T* clean, const T* sigmas, int64_t L, int64_t N, int64_t P,
                    Mode mode, T* out) {
    STD_CUDA_CHECK(cuda::norms<T>(scores, noisy, clean, sigmas, L, N, P, mode, out, current_cuda_stream()));
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CUDA, m) { m.impl("multiscale_score_norms", TORCH_BOX(&norms_op<CudaBackend>)); }

}  // namespace ood_ext::score_norms
