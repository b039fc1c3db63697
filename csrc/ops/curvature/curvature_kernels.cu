// CUDA kernels of the curvature ops: a block per (sample, pair) row for the pair products, a
// warp per sample for the pair sums, a block per sample for the weighted sums of squares, a
// thread per coordinate for the eigenvalue correction.
#include "../../common/cuda_reduce.cuh"
#include "curvature_kernels.h"

namespace ood_ext::curvature::cuda {
namespace {

using ood_ext::cuda::block_sum;
using ood_ext::cuda::blocks_for;
using ood_ext::cuda::kWarp;
using ood_ext::cuda::warp_sum;

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = 4;

template <typename T>
__global__ void pair_products_kernel(const T* v, T* out, int64_t N, int64_t positions, int64_t D, T scale) {
  const int64_t P = num_pairs(positions);
  for (int64_t r = blockIdx.x; r < N * P; r += gridDim.x) {
    pair_product(v, out, r / P, r % P, positions, D, scale, threadIdx.x, blockDim.x);
  }
}

template <typename T>
__global__ void pair_reduce_kernel(const T* g, const T* V, int64_t N, int64_t positions, int64_t Dout, T* q) {
  const int64_t n = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (n >= N) return;
  double total = 0.0;
  for (int64_t p = 0; p < num_pairs(positions); ++p) total += pair_term(g, V, n, p, positions, Dout, lane, kWarp);
  total = warp_sum(total);
  if (lane == 0) q[n] = static_cast<T>(total);
}

template <typename T>
__global__ void weighted_sum_squares_kernel(const T* M, const T* W, int64_t K, T* q) {
  const int64_t n = blockIdx.x;
  const double total = block_sum(curvature::weighted_sum_squares(M + n * K, W, K, threadIdx.x, blockDim.x));
  if (threadIdx.x == 0) q[n] = static_cast<T>(total);
}

template <typename T>
__global__ void accumulate_squares_kernel(const T* M, int64_t N, int64_t K, double* S) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= K) return;
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const double m = static_cast<double>(M[n * K + k]);
    total += m * m;
  }
  S[k] += total;
}

}  // namespace

template <typename T>
cudaError_t pair_products(const T* v, T* out, int64_t N, int64_t positions, int64_t D, T scale_off_diagonal,
                          cudaStream_t stream) {
  pair_products_kernel<T><<<blocks_for(N * num_pairs(positions), 1), kThreads, 0, stream>>>(v, out, N, positions, D,
                                                                                           scale_off_diagonal);
  return cudaGetLastError();
}

template <typename T>
cudaError_t pair_reduce(const T* g, const T* V, int64_t N, int64_t positions, int64_t Dout, T* q, cudaStream_t stream) {
  pair_reduce_kernel<T><<<blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * kWarp, 0, stream>>>(g, V, N, positions,
                                                                                             Dout, q);
  return cudaGetLastError();
}

template <typename T>
cudaError_t weighted_sum_squares(const T* M, const T* W, int64_t N, int64_t K, T* q, cudaStream_t stream) {
  weighted_sum_squares_kernel<T><<<static_cast<unsigned int>(N), kThreads, 0, stream>>>(M, W, K, q);
  return cudaGetLastError();
}

template <typename T>
cudaError_t accumulate_squares(const T* M, int64_t N, int64_t K, double* S, cudaStream_t stream) {
  accumulate_squares_kernel<T><<<blocks_for(K, kThreads), kThreads, 0, stream>>>(M, N, K, S);
  return cudaGetLastError();
}

#define OOD_INSTANTIATE(T)                                                                                      \
  template cudaError_t pair_products<T>(const T*, T*, int64_t, int64_t, int64_t, T, cudaStream_t);             \
  template cudaError_t pair_reduce<T>(const T*, const T*, int64_t, int64_t, int64_t, T*, cudaStream_t);        \
  template cudaError_t weighted_sum_squares<T>(const T*, const T*, int64_t, int64_t, T*, cudaStream_t);        \
  template cudaError_t accumulate_squares<T>(const T*, int64_t, int64_t, double*, cudaStream_t);
OOD_INSTANTIATE(float)
OOD_INSTANTIATE(double)
#undef OOD_INSTANTIATE

}  // namespace ood_ext::curvature::cuda
