// Portability macros for maths shared by the CPU kernels and the CUDA kernels.
// Headers that include this one must not include torch: nvcc compiles them in ~3 s.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define OOD_HOST_DEVICE __host__ __device__
#else
#define OOD_HOST_DEVICE
#endif

namespace ood_ext {

// ln(2π), used by every Gaussian log-density.
constexpr double kLog2Pi = 1.8378770664093454835606594728112;

// `OOD_SIMD` before a loop whose iterations are independent asks the host compiler to
// vectorise it (OpenMP simd: the C++ builds pass -fopenmp-simd -DOOD_EXT_OMP_SIMD, no OpenMP
// runtime); device code ignores it.
#define OOD_PRAGMA(text) _Pragma(#text)
#if defined(__CUDA_ARCH__) || !defined(OOD_EXT_OMP_SIMD)
#define OOD_SIMD
#else
#define OOD_SIMD OOD_PRAGMA(omp simd)
#endif

// Σ f(k) over k = begin, begin + stride, … < end, in an order fixed by the arguments alone
// (never by memory alignment, so results are bit-reproducible). On the host with stride 1 it
// keeps 8 interleaved partial sums, which the compiler vectorises without reassociating;
// device code (a lane of a warp or block) sums its own terms in sequence.
template <typename Acc, typename F>
OOD_HOST_DEVICE inline Acc strided_sum(int64_t begin, int64_t end, int64_t stride, const F& f) {
  Acc total = 0;
#if !defined(__CUDA_ARCH__)
  if (stride == 1) {
    constexpr int kLanes = 8;
    Acc lanes[kLanes] = {};
    int64_t k = begin;
    for (; k + kLanes <= end; k += kLanes) {
      OOD_SIMD
      for (int l = 0; l < kLanes; ++l) lanes[l] += f(k + l);
    }
    for (; k < end; ++k) total += f(k);
    for (int l = 0; l < kLanes; ++l) total += lanes[l];
    return total;
  }
#endif
  for (int64_t k = begin; k < end; k += stride) total += f(k);
  return total;
}

// How a per-class log-density [N, C] is reduced over classes.
enum class Reduce : int { kNone = 0, kMax = 1, kLogSumExp = 2 };

}  // namespace ood_ext
