// Full-covariance Gaussian log-density with the precision Cholesky factor U (sklearn's
// `precisions_cholesky_`: upper triangular, precision P = U Uᵀ):
//   log N(x; μ, P⁻¹) = log w + Σ_j log U_jj − ½ D log 2π − ½ ‖(x − μ) U‖²
//                    = constant − ½ ‖y − m‖²,   y = (x − s) U,  m = (μ − s) U,
// with one shift s (the mean of the class means) for all classes, so that a single GEMM
// (x − s) [U_1 … U_C] serves every class. U is triangular: column j of (x − s) U only needs
// x_0..x_j, so the GEMM runs in column blocks of `width`, block k reading the first
// (k + 1)·width columns of x only (≈ half the FLOPs of a dense product).
// These are the pieces around the GEMM, shared by the CPU and CUDA kernels.
#pragma once

#include "../../common/host_device.h"

namespace ood_ext::gaussian {

// Where the GEMM writes y for a chunk of B samples: column block k holds columns
// [start(k), start(k) + size(k)) of every class, as a row-major [B, C · size(k)] array
// (sample b, class c at b·C·size(k) + c·size(k)); the blocks follow one another.
struct BlockLayout {
  int64_t B, C, D, width;

  OOD_HOST_DEVICE int64_t num_blocks() const { return (D + width - 1) / width; }
  OOD_HOST_DEVICE int64_t start(int64_t k) const { return k * width; }
  OOD_HOST_DEVICE int64_t size(int64_t k) const { return D - k * width < width ? D - k * width : width; }
  // First element of (sample b, class c) inside block k.
  OOD_HOST_DEVICE int64_t offset(int64_t k, int64_t b, int64_t c) const {
    return B * C * start(k) + (b * C + c) * size(k);
  }
};

// Σ_j (y_j − m_j)² over the coordinates j = lane, lane + stride, … of (sample b, class c);
// m is [C, D] in x's dtype. Each block (≤ width terms) is summed in T, the blocks in float64.
// The CPU calls it with (0, 1), a CUDA warp with (lane, 32).
template <typename T>
OOD_HOST_DEVICE inline double mahalanobis_sq(const T* y, const T* m, const BlockLayout& layout, int64_t b,
                                             int64_t c, int64_t lane, int64_t stride) {
  double total = 0.0;
  for (int64_t k = 0; k < layout.num_blocks(); ++k) {
    const T* yk = y + layout.offset(k, b, c);
    const T* mk = m + c * layout.D + layout.start(k);
    const T partial = strided_sum<T>(lane, layout.size(k), stride, [=](int64_t j) {
      const T r = yk[j] - mk[j];
      return r * r;
    });
    total += static_cast<double>(partial);
  }
  return total;
}

// y_j ← weight · (y_j − m_j) for (sample b, class c) in a single-block layout (width = D).
template <typename T>
OOD_HOST_DEVICE inline void scale_residual(T* y, const T* m, const BlockLayout& layout, int64_t b, int64_t c,
                                           double weight, int64_t lane, int64_t stride) {
  T* yc = y + layout.offset(0, b, c);
  const T* mc = m + c * layout.D;
  for (int64_t j = lane; j < layout.D; j += stride) {
    yc[j] = static_cast<T>(weight * static_cast<double>(yc[j] - mc[j]));
  }
}

// log-density from the class constant and the squared Mahalanobis distance.
OOD_HOST_DEVICE inline double log_density(double constant, double mahalanobis_sq) {
  return constant - 0.5 * mahalanobis_sq;
}

}  // namespace ood_ext::gaussian
