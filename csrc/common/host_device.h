// Portability macros for maths shared by the CPU kernels and the CUDA kernels.
// Headers that include this one must not include torch: nvcc compiles them in ~3 s.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define OOD_HOST_DEVICE __host__ __device__
#else
#define OOD_HOST_DEVICE
#endif

// `OOD_SIMD_SUM(total)` before a loop that accumulates into `total` lets the host compiler
// vectorise the reduction (OpenMP simd permits reassociating it); device code ignores it.
#define OOD_PRAGMA(text) _Pragma(#text)
#if defined(__CUDA_ARCH__) || !defined(_OPENMP)
#define OOD_SIMD_SUM(var)
#else
#define OOD_SIMD_SUM(var) OOD_PRAGMA(omp simd reduction(+ : var))
#endif

namespace ood_ext {

// ln(2π), used by every Gaussian log-density.
constexpr double kLog2Pi = 1.8378770664093454835606594728112;

// How a per-class log-density [N, C] is reduced over classes.
enum class Reduce : int { kNone = 0, kMax = 1, kLogSumExp = 2 };

}  // namespace ood_ext
