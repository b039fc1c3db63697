// The device-agnostic pieces of the curvature ops: argument checks, strategy and chunk
// choice, and the GEMM-based rotations.
#include <string>

#include "curvature_impl.h"

namespace ood_ext::curvature {
namespace {

void check_basis(const char* op, const char* name, const OptionalTensor& basis, int64_t dim,
                 const char* what, const Tensor& a) {
  if (!basis.has_value()) return;
  check_rank(op, name, *basis, 2);
  check_like(op, name, *basis, "a", a);
  check_size(op, name, *basis, 0, dim, what);
  check_size(op, name, *basis, 1, dim, what);
  check_finite(op, name, *basis);
}

Strategy parse_strategy(const char* op, const std::string& name, int64_t T, int64_t Din, int64_t Dout) {
  if (name == "pairs") return Strategy::kPairs;
  if (name == "chunked") return Strategy::kChunked;
  OOD_CHECK(name == "auto", op, ": strategy must be 'auto', 'pairs' or 'chunked', got '", name, "'");
  // The pair form costs T(T+1)/2 GEMM passes of size Din·Dout per sample, the chunked form T
  // small ones plus memory-bound passes over Dout·Din: pairs win up to T ≈ 8 on 256-wide
  // layers (measured with strategy='pairs' / 'chunked' forced), while their buffers stay below
  // one gradient.
  const int64_t pairs_width = num_pairs(T) * (Din + Dout);
  return T <= 8 && pairs_width <= Din * Dout ? Strategy::kPairs : Strategy::kChunked;
}

}  // namespace

Problem make_problem(const char* op, const Tensor& a, const Tensor& g,
                     const OptionalTensor& basis_a, const OptionalTensor& basis_g,
                     const std::string& strategy) {
  check_rank(op, "a", a, 3);
  check_floating(op, "a", a);
  check_nonempty(op, "a", a, 0);
  check_nonempty(op, "a", a, 1);
  check_nonempty(op, "a", a, 2);
  check_rank(op, "g", g, 3);
  check_like(op, "g", g, "a", a);
  check_size(op, "g", g, 0, a.size(0), "N, from a [N, T, Din]");
  check_size(op, "g", g, 1, a.size(1), "T, from a [N, T, Din]");
  check_nonempty(op, "g", g, 2);
  const int64_t N = a.size(0), T = a.size(1), Din = a.size(2), Dout = g.size(2);
  check_basis(op, "basis_a", basis_a, Din, "Din, from a [N, T, Din]", a);
  check_basis(op, "basis_g", basis_g, Dout, "Dout, from g [N, T, Dout]", a);
  // a and g are checked through the result (check_result): a NaN or ±inf in them always reaches
  // it, and scanning them first cost as much as the GEMMs.
  const Strategy chosen = parse_strategy(op, strategy, T, Din, Dout);
  if (chosen == Strategy::kChunked) return {op, a, g, basis_a, basis_g, chosen, N, T, Din, Dout};
  return {op, aten::contiguous(a), aten::contiguous(g), basis_a, basis_g, chosen, N, T, Din, Dout};
}

void check_weight(const Problem& p, const Tensor& weight) {
  check_rank(p.op, "weight", weight, 2);
  check_like(p.op, "weight", weight, "a", p.a);
  check_size(p.op, "weight", weight, 0, p.Dout, "Dout, from g [N, T, Dout]");
  check_size(p.op, "weight", weight, 1, p.Din, "Din, from a [N, T, Din]");
  check_finite(p.op, "weight", weight);
  check_positive(p.op, "weight", weight, false, "non-negative (an inverse damped curvature, 1 / (S + λ))");
}

void check_result(const Problem& p, const Tensor& result) {
  if (all_finite(result)) return;
  check_finite(p.op, "a", p.a);
  check_finite(p.op, "g", p.g);
  throw std::runtime_error(concat(p.op, ": the result overflows ", dtype_name(result.scalar_type()),
                                  " (finite inputs of magnitude up to ", value_magnitude(p.a), " in a and ",
                                  value_magnitude(p.g), " in g); compute in float64"));
}

int64_t chunk_rows(const Problem& p) {
  // Both forms are GEMM-bound: chunks of ~8 MiB of work buffers (by this estimate; the conv case
  // of benchmarks/ peaks at 3.5 MiB, a quarter of the materialised way) keep every GEMM large
  // enough to run on all threads while bounding memory.
  const int64_t budget = int64_t{8} << 20;
  const int64_t io = p.T * (p.Din + p.Dout);
  const int64_t per_sample = p.strategy == Strategy::kPairs ? 2 * num_pairs(p.T) * (p.Din + p.Dout) + io
                                                            : 2 * p.Dout * p.Din + io;
  const int64_t rows = budget / (per_sample * static_cast<int64_t>(p.a.element_size()));
  return std::clamp<int64_t>(rows, 1, p.N);
}

Tensor rotate(const Tensor& v, const OptionalTensor& basis) {
  if (!basis.has_value()) return v;
  // One GEMM over all rows · T vectors. matmul would fold [rows, T, D] the same way only when its
  // strides chain: unfold's T = 1 columns (strides D, 1, 1) sent it to one GEMV per sample, 5× slower.
  const int64_t rows = v.size(0), T = v.size(1), D = v.size(2);
  return aten::view(aten::mm(aten::reshape(v, {rows * T, D}), *basis), {rows, T, D});
}

namespace {

// Rotating the T inputs costs T·D² per sample, rotating the summed gradient Dout·Din·D: each side
// takes the cheaper of the two.
bool rotates_a_first(const Problem& p) { return p.basis_a.has_value() && p.T <= p.Dout; }
bool rotates_g_first(const Problem& p) { return p.basis_g.has_value() && p.T <= p.Din; }

// The first `rows` samples of a workspace buffer.
Tensor head(const Tensor& buffer, int64_t rows) { return aten::narrow(buffer, 0, 0, rows); }

// v [rows, T, D] times basis [D, D], written into out [rows, T, D] (one GEMM).
Tensor rotate_into(const Tensor& out, const Tensor& v, const Tensor& basis) {
  const int64_t rows = v.size(0), T = v.size(1), D = v.size(2);
  aten::mm_out(aten::view(out, {rows * T, D}), aten::reshape(v, {rows * T, D}), basis);
  return out;
}

}  // namespace

Workspace make_workspace(const Problem& p, int64_t rows) {
  Workspace w;
  if (rotates_a_first(p)) w.a_rot = empty_like_shape(p.a, {rows, p.T, p.Din});
  if (rotates_g_first(p)) w.g_rot = empty_like_shape(p.a, {rows, p.T, p.Dout});
  w.M = empty_like_shape(p.a, {rows, p.Dout, p.Din});
  if (p.basis_a.has_value() && !rotates_a_first(p)) w.M_rot = empty_like_shape(p.a, {rows, p.Dout, p.Din});
  return w;
}

Tensor rotated_gradients(const Problem& p, int64_t n0, int64_t rows, const Workspace& w) {
  const Tensor a = aten::narrow(p.a, 0, n0, rows), g = aten::narrow(p.g, 0, n0, rows);
  const Tensor a_used = rotates_a_first(p) ? rotate_into(head(w.a_rot, rows), a, *p.basis_a) : a;
  const Tensor g_used = rotates_g_first(p) ? rotate_into(head(w.g_rot, rows), g, *p.basis_g) : g;
  Tensor M = head(w.M, rows);  // [rows, Dout, Din]
  aten::bmm_out(M, aten::transpose(g_used, 1, 2), a_used);
  if (p.basis_a.has_value() && !rotates_a_first(p)) {
    const Tensor rotated = head(w.M_rot, rows);
    aten::mm_out(aten::view(rotated, {rows * p.Dout, p.Din}), aten::view(M, {rows * p.Dout, p.Din}), *p.basis_a);
    M = rotated;
  }
  if (p.basis_g.has_value() && !rotates_g_first(p)) M = aten::contiguous(aten::matmul(aten::t(*p.basis_g), M));
  return M;
}

}  // namespace ood_ext::curvature
