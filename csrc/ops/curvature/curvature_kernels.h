// CUDA launchers of the curvature ops' fused pieces (contracts in curvature_impl.h). Raw
// pointers and a stream only: no torch headers.
#pragma once

#include <cuda_runtime.h>

#include "curvature_math.h"

namespace ood_ext::curvature::cuda {

template <typename T>
cudaError_t pair_products(const T* v, T* out, int64_t N, int64_t positions, int64_t D, T scale_off_diagonal,
                          cudaStream_t stream);

template <typename T>
cudaError_t pair_reduce(const T* g, const T* V, int64_t N, int64_t positions, int64_t Dout, T* q, cudaStream_t stream);

template <typename T>
cudaError_t weighted_sum_squares(const T* M, const T* W, int64_t N, int64_t K, T* q, cudaStream_t stream);

template <typename T>
cudaError_t accumulate_squares(const T* M, int64_t N, int64_t K, double* S, cudaStream_t stream);

}  // namespace ood_ext::curvature::cuda
