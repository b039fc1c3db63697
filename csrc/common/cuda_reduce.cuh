// Warp and block sums for the CUDA kernels (no torch headers: nvcc compiles these in seconds).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ood_ext::cuda {

constexpr int kWarp = 32;

// Sum over the 32 lanes of a warp; every lane gets the total.
__device__ inline double warp_sum(double v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over all threads of a block (blockDim.x a multiple of 32, ≤ 1024); thread 0 gets the total.
__device__ inline double block_sum(double v) {
  __shared__ double partial[kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / kWarp;
  v = threadIdx.x < warps ? partial[threadIdx.x] : 0.0;
  if (warp == 0) v = warp_sum(v);
  __syncthreads();  // partial[] may be reused by the next call
  return v;
}

// Blocks for `items` work items of `per_block` each, capped to the grid limit.
inline unsigned int blocks_for(int64_t items, int64_t per_block) {
  const int64_t blocks = (items + per_block - 1) / per_block;
  return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > 65535 * 512 ? 65535 * 512 : blocks));
}

}  // namespace ood_ext::cuda
