// Multi-scale score norms of a noise-conditional score network s(x, σ_i), one row per
// (level i, sample n) over the P = C·H·W pixels:
//   weighted:  ‖σ_i s_i(x)‖₂                                  (MSMA normality vector)
//   residual:  ‖s_i(x̃_i) + (x̃_i − x) / σ_i²‖₂                 (denoising residual, f_rec)
// Shared by the CPU and CUDA kernels.
#pragma once

#include "../../common/host_device.h"

namespace ood_ext::score_norms {

enum class Mode : int { kWeighted = 0, kResidual = 1 };

// Squares are summed in T over blocks of kBlock terms per lane (vectorisable, error bounded
// by the block length), and the block sums in float64: for float32 the error no longer grows
// with the row length P.
constexpr int64_t kBlock = 256;

// Σ_k term(k)² over k = lane, lane + stride, … < P.
template <typename T, typename Term>
OOD_HOST_DEVICE inline double blocked_sum_squares(int64_t P, int64_t lane, int64_t stride, Term term) {
  double total = 0.0;
  for (int64_t begin = lane; begin < P; begin += kBlock * stride) {
    const int64_t end = begin + kBlock * stride < P ? begin + kBlock * stride : P;
    total += static_cast<double>(strided_sum<T>(begin, end, stride, [=](int64_t k) {
      const T v = term(k);
      return v * v;
    }));
  }
  return total;
}

// Σ_k s_k² over k = lane, lane + stride, … of one row.
template <typename T>
OOD_HOST_DEVICE inline double sum_squares(const T* s, int64_t P, int64_t lane, int64_t stride) {
  return blocked_sum_squares<T>(P, lane, stride, [=](int64_t k) { return s[k]; });
}

// Σ_k (s_k + (x̃_k − x_k) · inv_var)² over k = lane, lane + stride, … of one row.
template <typename T>
OOD_HOST_DEVICE inline double residual_squares(const T* s, const T* noisy, const T* clean, T inv_var, int64_t P,
                                               int64_t lane, int64_t stride) {
  return blocked_sum_squares<T>(P, lane, stride, [=](int64_t k) { return s[k] + (noisy[k] - clean[k]) * inv_var; });
}

// The norm of row (level i, sample n) from its sum of squares.
OOD_HOST_DEVICE inline double row_norm(Mode mode, double squares, double sigma) {
  return mode == Mode::kWeighted ? sigma * sqrt(squares) : sqrt(squares);
}

}  // namespace ood_ext::score_norms
