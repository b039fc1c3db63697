// Device-agnostic driver of the full-covariance Gaussian op. It checks the arguments, shifts
// x by the mean of the class means, multiplies by all classes' factors at once in triangular
// column blocks (BLAS GEMMs over row chunks, so no [N, C, D] tensor is ever held), and hands
// the fused pieces to a Backend (which also says how chunks run, see common/chunking.h):
//
//   Backend::forward_epilogue<T>(y, m, constant, layout, reduce, out, argmax)
//        l[b,c] = constant[c] − ½‖y[b,c,:] − m[c,:]‖²; out = l (none, [B, C]) | max (+argmax) | lse
//   Backend::backward_scale<T>(y, m, constant, layout, reduce, grad, result, argmax, weight)
//        weight[b,c] = ∂out/∂l[b,c] · grad;  y[b,c,:] ← weight[b,c] · (y[b,c,:] − m[c,:])
//
// gaussian_cpu.cpp and gaussian_cuda.cpp instantiate it with their kernels.
#pragma once

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "../../common/density_checks.h"
#include "gaussian_math.h"

namespace ood_ext::gaussian {

constexpr const char* kOp = "gaussian_log_prob";

// Validates the arguments; returns the parsed reduction.
Reduce check_inputs(const Tensor& x, const Tensor& mean, const Tensor& prec_chol, const OptionalTensor& log_weights,
                    const std::string& reduce);

// What every chunk shares: the shifted x, the residual offsets m and the class constants.
struct Prepared {
  Tensor x_shifted;  // [N, D], x − s in x's dtype, s = mean of the class means
  Tensor m;          // [C, D] in x's dtype, (μ_c − s) U_c computed in float64
  Tensor constant;   // [C] float64, log w_c + Σ_j log U_cjj − ½ D log 2π
};
Prepared prepare(const Tensor& x, const Tensor& mean, const Tensor& prec_chol, const OptionalTensor& log_weights);

// Column-block width of the triangular GEMM for dimension D.
int64_t block_width(int64_t D);
// Samples per chunk so that one chunk's y stays near 1 MiB (in a core's L2 cache).
int64_t chunk_rows(int64_t N, int64_t C, int64_t D, int64_t element_size);
// Factors of block k of the layout: [start(k) + size(k), C · size(k)], column c·size(k) + j
// holding U_c[:start(k) + size(k), start(k) + j].
Tensor block_factors(const Tensor& prec_chol, const BlockLayout& layout, int64_t k);
// y = x_rows [rows, D] times the block factors, written in `layout` into the flat buffer y.
void blocked_product(const Tensor& x_rows, const std::vector<Tensor>& factors, const BlockLayout& layout,
                     const Tensor& y);

// Returns (out, argmax): out [N, C] (none) or [N]; argmax [N] int64 for max, else empty.
template <typename Backend, typename T>
std::tuple<Tensor, Tensor> forward(const Prepared& p, const Tensor& prec_chol, Reduce reduce) {
  const int64_t N = p.x_shifted.size(0), D = p.x_shifted.size(1), C = p.m.size(0);
  const int64_t B = chunk_rows(N, C, D, sizeof(T));
  const Tensor& like = p.x_shifted;
  Tensor out = reduce == Reduce::kNone ? empty_like_shape(like, {N, C}) : empty_like_shape(like, {N});
  Tensor argmax = empty_like_shape(like, {reduce == Reduce::kMax ? N : 0}, ScalarType::Long);
  const Tensor scratch = empty_like_shape(like, {Backend::num_workers(), B * C * D});
  const int64_t out_row = reduce == Reduce::kNone ? C : 1;

  const BlockLayout full{B, C, D, block_width(D)};
  std::vector<Tensor> factors;
  for (int64_t k = 0; k < full.num_blocks(); ++k) factors.push_back(block_factors(prec_chol, full, k));

  T* out_data = out.mutable_data_ptr<T>();
  int64_t* argmax_data = reduce == Reduce::kMax ? argmax.mutable_data_ptr<int64_t>() : nullptr;
  Backend::for_each_chunk(N, B, [&](int64_t b0, int64_t rows, int64_t worker) {
    const Tensor y = aten::select(scratch, 0, worker);
    const BlockLayout layout{rows, C, D, full.width};
    blocked_product(aten::narrow(p.x_shifted, 0, b0, rows), factors, layout, y);
    Backend::template forward_epilogue<T>(y.const_data_ptr<T>(), p.m.const_data_ptr<T>(),
                                          p.constant.const_data_ptr<double>(), layout, reduce,
                                          out_data + b0 * out_row, argmax_data ? argmax_data + b0 : nullptr);
  });
  return {out, argmax};
}

// Returns (grad_x [N, D], grad_mean [C, D], grad_log_weights [C]).
template <typename Backend, typename T>
std::tuple<Tensor, Tensor, Tensor> backward(const Prepared& p, const Tensor& prec_chol, Reduce reduce,
                                            const Tensor& grad, const Tensor& result, const Tensor& argmax) {
  const int64_t N = p.x_shifted.size(0), D = p.x_shifted.size(1), C = p.m.size(0);
  const int64_t B = chunk_rows(N, C, D, sizeof(T));
  const Tensor& like = p.x_shifted;
  const int64_t grad_row = reduce == Reduce::kNone ? C : 1;

  // One dense block: y[b, c·D + j] = ((x_b − s) U_c)_j, then the residual scaled by its weight.
  const Tensor factors = block_factors(prec_chol, BlockLayout{B, C, D, D}, 0);  // [D, C·D]
  const Tensor factors_t = aten::t(factors);
  Tensor grad_x = empty_like_shape(like, {N, D});
  Tensor residual_sum = zeros_like_shape(like, {C * D}, ScalarType::Double);
  Tensor grad_log_weights = zeros_like_shape(like, {C}, ScalarType::Double);
  const Tensor y = empty_like_shape(like, {B * C * D});
  const Tensor weight = empty_like_shape(like, {B * C});

  for (int64_t b0 = 0; b0 < N; b0 += B) {
    const BlockLayout layout{std::min(B, N - b0), C, D, D};
    const Tensor y_v = aten::view(aten::narrow(y, 0, 0, layout.B * C * D), {layout.B, C * D});
    const Tensor weight_v = aten::view(aten::narrow(weight, 0, 0, layout.B * C), {layout.B, C});
    aten::mm_out(y_v, aten::narrow(p.x_shifted, 0, b0, layout.B), factors);
    Backend::template backward_scale<T>(
        y_v.mutable_data_ptr<T>(), p.m.const_data_ptr<T>(), p.constant.const_data_ptr<double>(), layout, reduce,
        grad.const_data_ptr<T>() + b0 * grad_row, reduce == Reduce::kNone ? nullptr : result.const_data_ptr<T>() + b0,
        reduce == Reduce::kMax ? argmax.const_data_ptr<int64_t>() + b0 : nullptr, weight_v.mutable_data_ptr<T>());
    // ∂out/∂x_b = −Σ_c weight[b,c] · P_c (x_b − μ_c) = −(residual row) · [U_1 … U_C]ᵀ.
    aten::mm_out(aten::narrow(grad_x, 0, b0, layout.B), y_v, factors_t);
    residual_sum = aten::add(residual_sum, aten::sum_dim(y_v, 0, ScalarType::Double));
    grad_log_weights = aten::add(grad_log_weights, aten::sum_dim(weight_v, 0, ScalarType::Double));
  }
  // ∂out/∂μ_c = Σ_b weight[b,c] · P_c (x_b − μ_c) = (Σ_b residual[b,c,:]) U_cᵀ.
  const Tensor grad_mean = aten::bmm(aten::view(residual_sum, {C, 1, D}), aten::transpose(aten::to_dtype(prec_chol, ScalarType::Double), 1, 2));
  aten::neg_(grad_x);
  const ScalarType dtype = like.scalar_type();
  return {grad_x, aten::to_dtype(aten::view(grad_mean, {C, D}), dtype), aten::to_dtype(grad_log_weights, dtype)};
}

// The op: log-densities of x under C Gaussians, reduced over classes (see ood_ext.cpp).
template <typename Backend>
std::tuple<Tensor, Tensor> log_prob(Tensor x, Tensor mean, Tensor prec_chol, OptionalTensor log_weights,
                                    std::string reduce_name) {
  const Reduce reduce = check_inputs(x, mean, prec_chol, log_weights, reduce_name);
  const DeviceGuardFor device_guard(x);
  const Tensor upper = aten::triu(prec_chol, 0);  // the factor is its upper triangle
  const Prepared p = prepare(x, mean, upper, log_weights);
  return dispatch_floating(x.scalar_type(), kOp,
                           [&](auto zero) { return forward<Backend, decltype(zero)>(p, upper, reduce); });
}

// Its backward wrt x, mean and log_weights, from the forward's (out, argmax).
template <typename Backend>
std::tuple<Tensor, Tensor, Tensor> log_prob_backward(Tensor grad, Tensor x, Tensor mean, Tensor prec_chol,
                                                     OptionalTensor log_weights, std::string reduce_name,
                                                     Tensor result, Tensor argmax) {
  const Reduce reduce = check_inputs(x, mean, prec_chol, log_weights, reduce_name);
  check_density_backward(kOp, grad, x, mean, reduce, result, argmax);
  const DeviceGuardFor device_guard(x);
  const Tensor upper = aten::triu(prec_chol, 0);
  const Prepared p = prepare(x, mean, upper, log_weights);
  return dispatch_floating(x.scalar_type(), kOp, [&](auto zero) {
    return backward<Backend, decltype(zero)>(p, upper, reduce, aten::contiguous(grad), aten::contiguous(result),
                                             aten::contiguous(argmax));
  });
}

}  // namespace ood_ext::gaussian
