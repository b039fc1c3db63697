// CUDA launcher of multiscale_score_norms (contract in score_norms_impl.h). Raw pointers and a
// stream only: no torch headers.
#pragma once

#include <cuda_runtime.h>

#include "score_norms_math.h"

namespace ood_ext::score_norms::cuda {

template <typename T>
cudaError_t norms(const T* scores, const T* noisy, const T* clean, const T* sigmas, int64_t L, int64_t N, int64_t P,
                  Mode mode, T* out, cudaStream_t stream);

}  // namespace ood_ext::score_norms::cuda
