// CUDA kernels of the full-covariance Gaussian op: one warp per sample, the shared maths per lane.
#include "../../common/cuda_reduce.cuh"
#include "../../common/density_reduce.h"
#include "gaussian_kernels.h"

namespace ood_ext::gaussian::cuda {
namespace {

using ood_ext::cuda::blocks_for;
using ood_ext::cuda::kWarp;
using ood_ext::cuda::warp_sum;

constexpr int kWarpsPerBlock = 4;

template <typename T>
__global__ void forward_epilogue_kernel(const T* y, const T* m, const double* constant, BlockLayout layout,
                                        Reduce reduce, T* out, int64_t* argmax) {
  const int64_t b = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (b >= layout.B) return;
  ReducedRow<T> row{reduce, layout.C, b, out, argmax, lane == 0};
  for (int64_t c = 0; c < layout.C; ++c) {
    row.push(c, log_density(constant[c], warp_sum(mahalanobis_sq(y, m, layout, b, c, lane, kWarp))));
  }
  row.finish();
}

template <typename T>
__global__ void backward_scale_kernel(T* y, const T* m, const double* constant, BlockLayout layout, Reduce reduce,
                                      const T* grad, const T* result, const int64_t* argmax, T* weight) {
  const int64_t b = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (b >= layout.B) return;
  for (int64_t c = 0; c < layout.C; ++c) {
    const double l = reduce == Reduce::kLogSumExp
                         ? log_density(constant[c], warp_sum(mahalanobis_sq(y, m, layout, b, c, lane, kWarp)))
                         : 0.0;
    const double w = row_grad_weight(reduce, grad, result, argmax, b, c, layout.C, l);
    if (lane == 0) weight[b * layout.C + c] = static_cast<T>(w);
    scale_residual(y, m, layout, b, c, w, lane, kWarp);
  }
}

}  // namespace

template <typename T>
cudaError_t forward_epilogue(const T* y, const T* m, const double* constant, BlockLayout layout, Reduce reduce, T* out,
                             int64_t* argmax, cudaStream_t stream) {
  forward_epilogue_kernel<T><<<blocks_for(layout.B, kWarpsPerBlock), kWarpsPerBlock * kWarp, 0, stream>>>(
      y, m, constant, layout, reduce, out, argmax);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward_scale(T* y, const T* m, const double* constant, BlockLayout layout, Reduce reduce, const T* grad,
                           const T* result, const int64_t* argmax, T* weight, cudaStream_t stream) {
  backward_scale_kernel<T><<<blocks_for(layout.B, kWarpsPerBlock), kWarpsPerBlock * kWarp, 0, stream>>>(
      y, m, constant, layout, reduce, grad, result, argmax, weight);
  return cudaGetLastError();
}

#define OOD_INSTANTIATE(T)                                                                                          \
  template cudaError_t forward_epilogue<T>(const T*, const T*, const double*, BlockLayout, Reduce, T*, int64_t*,   \
                                           cudaStream_t);                                                          \
  template cudaError_t backward_scale<T>(T*, const T*, const double*, BlockLayout, Reduce, const T*, const T*,     \
                                         const int64_t*, T*, cudaStream_t);
OOD_INSTANTIATE(float)
OOD_INSTANTIATE(double)
#undef OOD_INSTANTIATE

}  // namespace ood_ext::gaussian::cuda
