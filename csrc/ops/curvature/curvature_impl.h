// Device-agnostic driver of the curvature ops. It walks the batch in chunks (bounded memory),
// rotates inputs with BLAS GEMMs and picks one of two strategies by shape:
//
//   pairs   (small T): V = (ã_t ⊙ ã_u) Wᵀ, q_n = Σ_p mult · Σ_i g̃_ti g̃_ui V_pi; no per-sample
//           [Dout, Din] matrix. T = 1 (Linear) is its cheapest case.
//   chunked (large T): M̃_n = Q_Gᵀ (Σ_t g_t a_tᵀ) Q_A for a chunk of samples, q_n = Σ W ⊙ M̃_n²;
//           each rotation is applied before or after the sum over t, whichever costs less.
//
// Backend kernels (CPU in curvature_cpu.cpp, CUDA in curvature_cuda.cpp):
//   for_each_chunk(N, rows, fn)        calls fn(n0, rows, worker) over the chunks, in order
//   pair_products<T>(v, out, N, T, D, scale_off_diagonal)   out[n,p,:] = v[n,t,:] ⊙ v[n,u,:] (·scale)
//   pair_reduce<T>(g, V, N, T, Dout, q)                      q[n] = Σ_p pair_term
//   weighted_sum_squares<T>(M, W, N, K, q)                   q[n] = Σ_k W_k M[n,k]²
//   accumulate_squares<T>(M, N, K, S)                        S[k] += Σ_n M[n,k]²  (S float64)
#pragma once

#include <algorithm>
#include <string>

#include "../../common/checks.h"
#include "curvature_math.h"

namespace ood_ext::curvature {

enum class Strategy { kPairs, kChunked };

// The validated arguments of either op.
struct Problem {
  const char* op;
  Tensor a;                // [N, T, Din]: contiguous for pairs; any strides for chunked,
  Tensor g;                // [N, T, Dout]  whose GEMMs take them as they come (unfold's view)
  OptionalTensor basis_a;  // [Din, Din] or identity
  OptionalTensor basis_g;  // [Dout, Dout] or identity
  Strategy strategy;
  int64_t N, T, Din, Dout;
};

// Checks a, g and the bases, and resolves strategy ∈ {"auto", "pairs", "chunked"}.
Problem make_problem(const char* op, const Tensor& a, const Tensor& g, const OptionalTensor& basis_a,
                     const OptionalTensor& basis_g, const std::string& strategy);
// Checks weight [Dout, Din]: finite and non-negative.
void check_weight(const Problem& p, const Tensor& weight);
// Raises if the result is not finite: naming a or g when one holds NaN / ±inf, else overflow.
void check_result(const Problem& p, const Tensor& result);
// Samples per chunk so that one chunk's work buffers stay near 8 MiB.
int64_t chunk_rows(const Problem& p);
// v [n, T, D] times the basis (identity when absent).
Tensor rotate(const Tensor& v, const OptionalTensor& basis);
// The chunked strategy's buffers for up to `rows` samples, allocated once per call and reused by
// every chunk (a fresh allocation per chunk page-faults on first touch, ~15 % of the op here).
struct Workspace {
  Tensor a_rot, g_rot;  // [rows, T, Din] / [rows, T, Dout] when that side is rotated first
  Tensor M, M_rot;      // [rows, Dout, Din]: Σ_t g_t a_tᵀ, and it times Q_A when rotated after
};
Workspace make_workspace(const Problem& p, int64_t rows);
// Rotated per-sample gradients Q_Gᵀ (Σ_t g_t a_tᵀ) Q_A of rows [n0, n0 + rows): [rows, Dout, Din]
// contiguous, in the workspace.
Tensor rotated_gradients(const Problem& p, int64_t n0, int64_t rows, const Workspace& w);
// Pair products of the rotated inputs of rows [n0, n0 + rows): [rows · P, D] (see pair_products).
template <typename Backend, typename T>
Tensor pairs_of(const Problem& p, const Tensor& v, const OptionalTensor& basis, int64_t n0, int64_t rows, int64_t D,
                T scale_off_diagonal) {
  const Tensor rotated = aten::contiguous(rotate(aten::narrow(v, 0, n0, rows), basis));
  Tensor pairs = empty_like_shape(p.a, {rows * num_pairs(p.T), D});
  Backend::template pair_products<T>(rotated.const_data_ptr<T>(), pairs.mutable_data_ptr<T>(), rows, p.T, D,
                                     scale_off_diagonal);
  return pairs;
}

// q [N] = per-sample quadratic forms with weight W [Dout, Din].
template <typename Backend, typename T>
Tensor quadratic_form(const Problem& p, const Tensor& weight) {
  Tensor q = empty_like_shape(p.a, {p.N});
  const Tensor w = aten::contiguous(weight);
  const Tensor w_t = aten::t(w);
  T* q_data = q.mutable_data_ptr<T>();
  const int64_t B = chunk_rows(p);
  const Workspace work = p.strategy == Strategy::kChunked ? make_workspace(p, B) : Workspace{};
  Backend::for_each_chunk(p.N, B, [&](int64_t n0, int64_t rows, int64_t) {
    if (p.strategy == Strategy::kPairs) {
      const Tensor a_pairs = pairs_of<Backend, T>(p, p.a, p.basis_a, n0, rows, p.Din, T(1));
      const Tensor g_rot = aten::contiguous(rotate(aten::narrow(p.g, 0, n0, rows), p.basis_g));
      const Tensor V = aten::mm(a_pairs, w_t);  // [rows·P, Dout]
      Backend::template pair_reduce<T>(g_rot.const_data_ptr<T>(), V.const_data_ptr<T>(), rows, p.T, p.Dout,
                                       q_data + n0);
    } else {
      const Tensor M = rotated_gradients(p, n0, rows, work);
      Backend::template weighted_sum_squares<T>(M.const_data_ptr<T>(), w.const_data_ptr<T>(), rows, p.Dout * p.Din,
                                                q_data + n0);
    }
  });
  return q;
}

// S [Dout, Din] = Σ_n (Q_Gᵀ M_n Q_A)², accumulated in float64.
template <typename Backend, typename T>
Tensor eigen_correction(const Problem& p) {
  Tensor S = zeros_like_shape(p.a, {p.Dout * p.Din}, ScalarType::Double);
  const int64_t B = chunk_rows(p);
  const Workspace work = p.strategy == Strategy::kChunked ? make_workspace(p, B) : Workspace{};
  Backend::for_each_chunk(p.N, B, [&](int64_t n0, int64_t rows, int64_t) {
    if (p.strategy == Strategy::kPairs) {
      const Tensor a_pairs = pairs_of<Backend, T>(p, p.a, p.basis_a, n0, rows, p.Din, T(1));
      const Tensor g_pairs = pairs_of<Backend, T>(p, p.g, p.basis_g, n0, rows, p.Dout, T(2));
      S = aten::add(S, aten::view(aten::mm(aten::t(g_pairs), a_pairs), {-1}));
    } else {
      const Tensor M = rotated_gradients(p, n0, rows, work);
      Backend::template accumulate_squares<T>(M.const_data_ptr<T>(), rows, p.Dout * p.Din,
                                              S.mutable_data_ptr<double>());
    }
  });
  return aten::to_dtype(aten::view(S, {p.Dout, p.Din}), p.a.scalar_type());
}

// The ops (schemas in ood_ext.cpp).
template <typename Backend>
Tensor quadratic_form_op(Tensor a, Tensor g, Tensor weight, OptionalTensor basis_a, OptionalTensor basis_g,
                         std::string strategy) {
  const Problem p = make_problem("curvature_quadratic_form", a, g, basis_a, basis_g, strategy);
  const DeviceGuardFor device_guard(a);
  check_weight(p, weight);
  const Tensor q = dispatch_floating(p.a.scalar_type(), p.op,
                                     [&](auto zero) { return quadratic_form<Backend, decltype(zero)>(p, weight); });
  check_result(p, q);
  return q;
}

template <typename Backend>
Tensor eigen_correction_op(Tensor a, Tensor g, OptionalTensor basis_a, OptionalTensor basis_g, std::string strategy) {
  const Problem p = make_problem("curvature_eigen_correction", a, g, basis_a, basis_g, strategy);
  const DeviceGuardFor device_guard(a);
  const Tensor S = dispatch_floating(p.a.scalar_type(), p.op,
                                     [&](auto zero) { return eigen_correction<Backend, decltype(zero)>(p); });
  check_result(p, S);
  return S;
}

}  // namespace ood_ext::curvature
