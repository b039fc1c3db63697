// Device-agnostic driver of the curvature ops. It walks the batch in chunks (bounded memory),
// rotates inputs with BLAS GEMMs and picks one of two strategies by shape:
//
//   pairs   (small T): V = (ã_t ⊙ ã_u) Wᵀ, q_n = Σ_p mult · Σ_i g̃_ti g̃_ui V_pi; no per-sample
//           [Dout, Din] matrix. T = 1 (Linear) is its cheapest case.
//   chunked (large T): M̃_n = Q_Gᵀ (Σ_t g_t a_tᵀ) Q_A for a chunk of samples, q_n = Σ W ⊙ M̃_n²;
//           each rotation is applied before or after the sum over t, whichever costs less.
//
// Backend kernels (CPU in curvature_cpu.cpp, CUDA in curvature_cuda.cpp):
//   for_each_chunk(N, rows, fn)        calls fn(n0, rows) over the chunks (maybe concurrently)
//   num_workers(), worker_index()      how many fn calls can run at once, and which one this is
//   pair_products<T>(v, out, N, T, D, scale_off_diagonal)   out[n,p,:] = v[n,t,:] ⊙ v[n,u,:] (·scale)
//   pair_reduce<T>(g, V, N, T, Dout, q)                      q[n] = Σ_p pair_term
//   weighted_sum_squares<T>(M, W, N, K, q)                   q[n] = Σ_k W_k M[n,k]²
//   accumulate_squares<T>(M, N, K, S)                        S[k] += Σ_n M[n,k]²  (S float64)
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <c10/core/DeviceGuard.h>
#include <c10/util/Optional.h>

#include <algorithm>
#include <string_view>

#include "../../common/checks.h"
#include "curvature_math.h"

namespace ood_ext::curvature {

enum class Strategy { kPairs, kChunked };

// The validated arguments of either op.
struct Problem {
  const char* op;
  at::Tensor a;                       // [N, T, Din]: contiguous for pairs; any strides for chunked,
  at::Tensor g;                       // [N, T, Dout]  whose GEMMs take them as they come (unfold's view)
  c10::optional<at::Tensor> basis_a;  // [Din, Din] or identity
  c10::optional<at::Tensor> basis_g;  // [Dout, Dout] or identity
  Strategy strategy;
  int64_t N, T, Din, Dout;
};

// Checks a, g and the bases, and resolves strategy ∈ {"auto", "pairs", "chunked"}.
Problem make_problem(const char* op, const at::Tensor& a, const at::Tensor& g,
                     const c10::optional<at::Tensor>& basis_a, const c10::optional<at::Tensor>& basis_g,
                     c10::string_view strategy);
// Checks weight [Dout, Din]: finite and non-negative.
void check_weight(const Problem& p, const at::Tensor& weight);
// Raises if the result is not finite: naming a or g when one holds NaN / ±inf, else overflow.
void check_result(const Problem& p, const at::Tensor& result);
// Samples per chunk so that one chunk's work buffers stay near 4 MiB.
int64_t chunk_rows(const Problem& p);
// v [n, T, D] times the basis (identity when absent).
at::Tensor rotate(const at::Tensor& v, const c10::optional<at::Tensor>& basis);
// Rotated per-sample gradients Q_Gᵀ (Σ_t g_t a_tᵀ) Q_A of rows [n0, n0 + rows): [rows, Dout, Din].
at::Tensor rotated_gradients(const Problem& p, int64_t n0, int64_t rows);

// q [N] = per-sample quadratic forms with weight W [Dout, Din].
template <typename Backend, typename T>
at::Tensor quadratic_form(const Problem& p, const at::Tensor& weight) {
  at::Tensor q = at::empty({p.N}, p.a.options());
  const int64_t B = chunk_rows(p);
  const at::Tensor w = weight.contiguous();
  const at::Tensor w_t = w.t();
  const int64_t P = num_pairs(p.T);
  Backend::for_each_chunk(p.N, B, [&](int64_t n0, int64_t rows) {
    T* q_out = q.mutable_data_ptr<T>() + n0;
    if (p.strategy == Strategy::kPairs) {
      const at::Tensor a_rot = rotate(p.a.narrow(0, n0, rows), p.basis_a);
      const at::Tensor g_rot = rotate(p.g.narrow(0, n0, rows), p.basis_g);
      at::Tensor a_pairs = at::empty({rows * P, p.Din}, p.a.options());
      Backend::template pair_products<T>(a_rot.const_data_ptr<T>(), a_pairs.mutable_data_ptr<T>(), rows, p.T, p.Din,
                                         T(1));
      const at::Tensor V = at::mm(a_pairs, w_t);  // [rows·P, Dout]
      Backend::template pair_reduce<T>(g_rot.const_data_ptr<T>(), V.const_data_ptr<T>(), rows, p.T, p.Dout, q_out);
    } else {
      const at::Tensor M = rotated_gradients(p, n0, rows);
      Backend::template weighted_sum_squares<T>(M.const_data_ptr<T>(), w.const_data_ptr<T>(), rows, p.Dout * p.Din,
                                                q_out);
    }
  });
  return q;
}

// S [Dout, Din] = Σ_n (Q_Gᵀ M_n Q_A)², accumulated in float64 (one partial sum per worker).
template <typename Backend, typename T>
at::Tensor eigen_correction(const Problem& p) {
  at::Tensor partials = at::zeros({Backend::num_workers(), p.Dout * p.Din}, p.a.options().dtype(at::kDouble));
  const int64_t P = num_pairs(p.T);
  Backend::for_each_chunk(p.N, chunk_rows(p), [&](int64_t n0, int64_t rows) {
    at::Tensor S = partials[Backend::worker_index()];
    if (p.strategy == Strategy::kPairs) {
      const at::Tensor a_rot = rotate(p.a.narrow(0, n0, rows), p.basis_a);
      const at::Tensor g_rot = rotate(p.g.narrow(0, n0, rows), p.basis_g);
      at::Tensor a_pairs = at::empty({rows * P, p.Din}, p.a.options());
      at::Tensor g_pairs = at::empty({rows * P, p.Dout}, p.a.options());
      Backend::template pair_products<T>(a_rot.const_data_ptr<T>(), a_pairs.mutable_data_ptr<T>(), rows, p.T, p.Din,
                                         T(1));
      Backend::template pair_products<T>(g_rot.const_data_ptr<T>(), g_pairs.mutable_data_ptr<T>(), rows, p.T, p.Dout,
                                         T(2));
      S.add_(at::mm(g_pairs.t(), a_pairs).view({-1}));
    } else {
      const at::Tensor M = rotated_gradients(p, n0, rows);
      Backend::template accumulate_squares<T>(M.const_data_ptr<T>(), rows, p.Dout * p.Din,
                                              S.mutable_data_ptr<double>());
    }
  });
  return partials.sum(0).view({p.Dout, p.Din}).to(p.a.scalar_type());
}

// The ops (schemas in ood_ext.cpp).
template <typename Backend>
at::Tensor quadratic_form_op(const at::Tensor& a, const at::Tensor& g, const at::Tensor& weight,
                             const c10::optional<at::Tensor>& basis_a, const c10::optional<at::Tensor>& basis_g,
                             c10::string_view strategy) {
  const Problem p = make_problem("curvature_quadratic_form", a, g, basis_a, basis_g, strategy);
  const c10::DeviceGuard device_guard(a.device());
  check_weight(p, weight);
  const at::Tensor q = AT_DISPATCH_FLOATING_TYPES(p.a.scalar_type(), "curvature_quadratic_form",
                                                  [&] { return quadratic_form<Backend, scalar_t>(p, weight); });
  check_result(p, q);
  return q;
}

template <typename Backend>
at::Tensor eigen_correction_op(const at::Tensor& a, const at::Tensor& g, const c10::optional<at::Tensor>& basis_a,
                               const c10::optional<at::Tensor>& basis_g, c10::string_view strategy) {
  const Problem p = make_problem("curvature_eigen_correction", a, g, basis_a, basis_g, strategy);
  const c10::DeviceGuard device_guard(a.device());
  const at::Tensor S = AT_DISPATCH_FLOATING_TYPES(p.a.scalar_type(), "curvature_eigen_correction",
                                                  [&] { return eigen_correction<Backend, scalar_t>(p); });
  check_result(p, S);
  return S;
}

}  // namespace ood_ext::curvature
