// Per-sample Kronecker-factored quadratic forms of EKFAC / KFAC / DIAG curvature.
//
// For one layer and sample n, with layer inputs a_t [Din] and output gradients g_t [Dout] over
// T positions (T = 1 for Linear, the spatial positions for Conv2d), the per-sample gradient is
// M_n = Σ_t g_t a_tᵀ. In the eigenbasis (Q_G, Q_A), with ã_t = Q_Aᵀ a_t and g̃_t = Q_Gᵀ g_t,
//   q_n = Σ_ij (Q_Gᵀ M_n Q_A)²_ij W_ij = Σ_ij (Σ_t g̃_ti ã_tj)² W_ij
//       = Σ_{t ≤ u} mult(t,u) · Σ_i g̃_ti g̃_ui Σ_j W_ij ã_tj ã_uj,   mult = 1 if t = u else 2.
// For small T the pair form needs only the GEMM (ã_t ⊙ ã_u) Wᵀ, never a [Dout, Din] matrix per
// sample; for large T the driver forms M̃_n = Q_Gᵀ M_n Q_A per chunk of samples instead.
// These are the fused pieces around the GEMMs, shared by the CPU and CUDA kernels.
#pragma once

#include "../../common/host_device.h"

namespace ood_ext::curvature {

// Number of position pairs t ≤ u.
OOD_HOST_DEVICE inline int64_t num_pairs(int64_t T) { return T * (T + 1) / 2; }

// The p-th pair (t, u), t ≤ u, in the order (0,0), (0,1), …, (0,T−1), (1,1), …
OOD_HOST_DEVICE inline void pair_of(int64_t p, int64_t T, int64_t* t, int64_t* u) {
  int64_t first = 0;
  while (p >= T - first) {
    p -= T - first;
    ++first;
  }
  *t = first;
  *u = first + p;
}

// out[n, p, :] = v[n, t, :] ⊙ v[n, u, :] · (scale_off_diagonal if t ≠ u else 1), for the
// coordinates d = lane, lane + stride, … of one (sample n, pair p). v is [N, T, D].
template <typename T>
OOD_HOST_DEVICE inline void pair_product(const T* v, T* out, int64_t n, int64_t p, int64_t positions, int64_t D,
                                         T scale_off_diagonal, int64_t lane, int64_t stride) {
  int64_t t, u;
  pair_of(p, positions, &t, &u);
  const T* vt = v + (n * positions + t) * D;
  const T* vu = v + (n * positions + u) * D;
  T* o = out + (n * num_pairs(positions) + p) * D;
  const T scale = t == u ? T(1) : scale_off_diagonal;
  for (int64_t d = lane; d < D; d += stride) o[d] = vt[d] * vu[d] * scale;
}

// Σ_i g̃_ti g̃_ui V_pi · mult(t, u) for one (sample n, pair p), over i = lane, lane + stride, …
// g is [N, T, Dout], V is [N, P, Dout] with V[n, p] = (ã_t ⊙ ã_u) Wᵀ.
template <typename T>
OOD_HOST_DEVICE inline double pair_term(const T* g, const T* V, int64_t n, int64_t p, int64_t positions,
                                        int64_t Dout, int64_t lane, int64_t stride) {
  int64_t t, u;
  pair_of(p, positions, &t, &u);
  const T* gt = g + (n * positions + t) * Dout;
  const T* gu = g + (n * positions + u) * Dout;
  const T* v = V + (n * num_pairs(positions) + p) * Dout;
  const double total = strided_sum<double>(lane, Dout, stride, [=](int64_t i) {
    return static_cast<double>(gt[i]) * static_cast<double>(gu[i]) * static_cast<double>(v[i]);
  });
  return t == u ? total : 2.0 * total;
}

// Σ_k W_k M_k² over k = lane, lane + stride, … of one sample's rotated gradient M [K].
template <typename T>
OOD_HOST_DEVICE inline double weighted_sum_squares(const T* M, const T* W, int64_t K, int64_t lane,
                                                   int64_t stride) {
  return strided_sum<double>(lane, K, stride, [=](int64_t k) {
    const double m = static_cast<double>(M[k]);
    return static_cast<double>(W[k]) * m * m;
  });
}

}  // namespace ood_ext::curvature
