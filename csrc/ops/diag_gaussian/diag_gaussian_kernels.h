// CUDA launchers of the diagonal Gaussian op (contracts in diag_gaussian_impl.h). Raw
// pointers and a stream only: no torch headers.
#pragma once

#include <cuda_runtime.h>

#include "diag_gaussian_math.h"

namespace ood_ext::diag_gaussian::cuda {

template <typename T>
cudaError_t forward(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N, int64_t C,
                    int64_t D, Reduce reduce, T* out, int64_t* argmax, cudaStream_t stream);

template <typename T>
cudaError_t backward_rows(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N, int64_t C,
                          int64_t D, Reduce reduce, const T* grad, const T* result, const int64_t* argmax, T* weight,
                          T* grad_x, cudaStream_t stream);

template <typename T>
cudaError_t backward_classes(const T* x, const T* mean, const T* inv_var, const T* weight, int64_t N, int64_t C,
                             int64_t D, T* grad_mean, T* grad_var, cudaStream_t stream);

}  // namespace ood_ext::diag_gaussian::cuda
