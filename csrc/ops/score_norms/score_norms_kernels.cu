// CUDA kernel of multiscale_score_norms: a block per (level, sample) row.
#include "../../common/cuda_reduce.cuh"
#include "score_norms_kernels.h"

namespace ood_ext::score_norms::cuda {
namespace {

using ood_ext::cuda::block_sum;

constexpr int kThreads = 256;

template <typename T>
__global__ void norms_kernel(const T* scores, const T* noisy, const T* clean, const T* sigmas, int64_t L, int64_t N,
                             int64_t P, Mode mode, T* out) {
  for (int64_t r = blockIdx.x; r < L * N; r += gridDim.x) {
    const int64_t i = r / N, n = r % N;
    const double sigma = static_cast<double>(sigmas[i]);
    const double partial = mode == Mode::kWeighted
                               ? sum_squares(scores + r * P, P, threadIdx.x, blockDim.x)
                               : residual_squares(scores + r * P, noisy + r * P, clean + n * P,
                                                  static_cast<T>(1.0 / (sigma * sigma)), P, threadIdx.x, blockDim.x);
    const double squares = block_sum(partial);
    if (threadIdx.x == 0) out[n * L + i] = static_cast<T>(row_norm(mode, squares, sigma));
  }
}

}  // namespace

template <typename T>
cudaError_t norms(const T* scores, const T* noisy, const T* clean, const T* sigmas, int64_t L, int64_t N, int64_t P,
                  Mode mode, T* out, cudaStream_t stream) {
  const int64_t rows = L * N;
  const unsigned int blocks = static_cast<unsigned int>(rows < 65535 * 32 ? rows : 65535 * 32);
  norms_kernel<T><<<blocks, kThreads, 0, stream>>>(scores, noisy, clean, sigmas, L, N, P, mode, out);
  return cudaGetLastError();
}

template cudaError_t norms<float>(const float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                  Mode, float*, cudaStream_t);
template cudaError_t norms<double>(const double*, const double*, const double*, const double*, int64_t, int64_t,
                                   int64_t, Mode, double*, cudaStream_t);

}  // namespace ood_ext::score_norms::cuda
