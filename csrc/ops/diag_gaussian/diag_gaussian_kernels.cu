// CUDA kernels of the diagonal Gaussian op: a warp per sample for the per-sample passes, a
// thread per (class, coordinate) for the class gradients.
#include "../../common/cuda_reduce.cuh"
#include "../../common/density_reduce.h"
#include "diag_gaussian_kernels.h"

namespace ood_ext::diag_gaussian::cuda {
namespace {

using ood_ext::cuda::blocks_for;
using ood_ext::cuda::kWarp;
using ood_ext::cuda::warp_sum;

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = 256;

// Σ_d (x_d − μ_d)² / v_d of (sample n, class c), summed over the warp.
template <typename T>
__device__ double warp_mahalanobis_sq(const T* x, const T* mean, const T* inv_var, int64_t n, int64_t c, int64_t D,
                                      int lane) {
  double partial = 0.0;
  for (int64_t d = lane; d < D; d += kWarp) partial += mahalanobis_term(x[n * D + d], mean[c * D + d], inv_var[c * D + d]);
  return warp_sum(partial);
}

template <typename T>
__global__ void forward_kernel(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N,
                               int64_t C, int64_t D, Reduce reduce, T* out, int64_t* argmax) {
  const int64_t n = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (n >= N) return;
  ReducedRow<T> row{reduce, C, n, out, argmax, lane == 0};
  for (int64_t c = 0; c < C; ++c) row.push(c, constant[c] - 0.5 * warp_mahalanobis_sq(x, mean, inv_var, n, c, D, lane));
  row.finish();
}

template <typename T>
__global__ void backward_rows_kernel(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N,
                                     int64_t C, int64_t D, Reduce reduce, const T* grad, const T* result,
                                     const int64_t* argmax, T* weight, T* grad_x) {
  const int64_t n = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (n >= N) return;
  for (int64_t c = 0; c < C; ++c) {
    const double l = reduce == Reduce::kLogSumExp
                         ? constant[c] - 0.5 * warp_mahalanobis_sq(x, mean, inv_var, n, c, D, lane)
                         : 0.0;
    const double w = row_grad_weight(reduce, grad, result, argmax, n, c, C, l);
    if (lane == 0) weight[n * C + c] = static_cast<T>(w);
  }
  __syncwarp();
  for (int64_t d = lane; d < D; d += kWarp) {
    double g = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      g += static_cast<double>(weight[n * C + c]) * grad_x_term(x[n * D + d], mean[c * D + d], inv_var[c * D + d]);
    }
    grad_x[n * D + d] = static_cast<T>(g);
  }
}

template <typename T>
__global__ void backward_classes_kernel(const T* x, const T* mean, const T* inv_var, const T* weight, int64_t N,
                                        int64_t C, int64_t D, T* grad_mean, T* grad_var) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= C * D) return;
  const int64_t c = i / D, d = i % D;
  double gm = 0.0, gv = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const double w = static_cast<double>(weight[n * C + c]);
    gm -= w * grad_x_term(x[n * D + d], mean[i], inv_var[i]);
    gv += w * grad_var_term(x[n * D + d], mean[i], inv_var[i]);
  }
  grad_mean[i] = static_cast<T>(gm);
  grad_var[i] = static_cast<T>(gv);
}

}  // namespace

template <typename T>
cudaError_t forward(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N, int64_t C,
                    int64_t D, Reduce reduce, T* out, int64_t* argmax, cudaStream_t stream) {
  forward_kernel<T><<<blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * kWarp, 0, stream>>>(x, mean, inv_var, constant,
                                                                                          N, C, D, reduce, out, argmax);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward_rows(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N, int64_t C,
                          int64_t D, Reduce reduce, const T* grad, const T* result, const int64_t* argmax, T* weight,
                          T* grad_x, cudaStream_t stream) {
  backward_rows_kernel<T><<<blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * kWarp, 0, stream>>>(
      x, mean, inv_var, constant, N, C, D, reduce, grad, result, argmax, weight, grad_x);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward_classes(const T* x, const T* mean, const T* inv_var, const T* weight, int64_t N, int64_t C,
                             int64_t D, T* grad_mean, T* grad_var, cudaStream_t stream) {
  backward_classes_kernel<T><<<blocks_for(C * D, kThreads), kThreads, 0, stream>>>(x, mean, inv_var, weight, N, C, D,
                                                                                   grad_mean, grad_var);
  return cudaGetLastError();
}

#define OOD_INSTANTIATE(T)                                                                                         \
  template cudaError_t forward<T>(const T*, const T*, const T*, const double*, int64_t, int64_t, int64_t, Reduce, \
                                  T*, int64_t*, cudaStream_t);                                                    \
  template cudaError_t backward_rows<T>(const T*, const T*, const T*, const double*, int64_t, int64_t, int64_t,   \
                                        Reduce, const T*, const T*, const int64_t*, T*, T*, cudaStream_t);        \
  template cudaError_t backward_classes<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, T*, \
                                           T*, cudaStream_t);
OOD_INSTANTIATE(float)
OOD_INSTANTIATE(double)
#undef OOD_INSTANTIATE

}  // namespace ood_ext::diag_gaussian::cuda
