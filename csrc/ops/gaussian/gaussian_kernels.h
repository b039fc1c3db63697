// CUDA launchers of the full-covariance Gaussian op's fused pieces (see gaussian_impl.h for
// their contracts). Raw pointers and a stream only: no torch headers.
#pragma once

#include <cuda_runtime.h>

#include "gaussian_math.h"

namespace ood_ext::gaussian::cuda {

template <typename T>
cudaError_t forward_epilogue(const T* y, const T* m, const double* constant, BlockLayout layout, Reduce reduce, T* out,
                             int64_t* argmax, cudaStream_t stream);

template <typename T>
cudaError_t backward_scale(T* y, const T* m, const double* constant, BlockLayout layout, Reduce reduce, const T* grad,
                           const T* result, const int64_t* argmax, T* weight, cudaStream_t stream);

}  // namespace ood_ext::gaussian::cuda
