// CUDA registration of multiscale_score_norms, launched on the current stream.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "score_norms_kernels.h"
#include "score_norms_impl.h"

namespace ood_ext::score_norms {
namespace {

struct CudaBackend {
  template <typename T>
  static void norms(const T* scores, const T* noisy, const T* clean, const T* sigmas, int64_t L, int64_t N, int64_t P,
                    Mode mode, T* out) {
    C10_CUDA_CHECK(cuda::norms<T>(scores, noisy, clean, sigmas, L, N, P, mode, out, c10::cuda::getCurrentCUDAStream()));
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(ood_ext, CUDA, m) { m.impl("multiscale_score_norms", &norms_op<CudaBackend>); }

}  // namespace ood_ext::score_norms
