// Σ v² over a contiguous row, accumulated in float64. Host-only helper for the CPU kernels;
// the CUDA kernels reduce across threads instead.
#pragma once

#include "host_device.h"

namespace ood_ext {

template <typename T>
inline double sum_squares(const T* a, int64_t n) {
  double total = 0.0;
  OOD_SIMD_SUM(total)
  for (int64_t k = 0; k < n; ++k) total += static_cast<double>(a[k]) * static_cast<double>(a[k]);
  return total;
}

}  // namespace ood_ext
