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

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/triu.h>
#include <ATen/ops/zeros.h>
#include <c10/core/DeviceGuard.h>
#include <c10/util/Optional.h>

#include <algorithm>
#include <string_view>
#include <tuple>
#include <vector>

#include "../../common/density_checks.h"
#include "gaussian_math.h"

namespace ood_ext::gaussian {

constexpr const char* kOp = "gaussian_log_prob";

// Validates the arguments; returns the parsed reduction.
Reduce check_inputs(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& prec_chol,
                    const c10::optional<at::Tensor>& log_weights, c10::string_view reduce);

// What every chunk shares: the shifted x, the residual offsets m and the class constants.
struct Prepared {
  at::Tensor x_shifted;  // [N, D], x − s in x's dtype, s = mean of the class means
  at::Tensor m;          // [C, D] in x's dtype, (μ_c − s) U_c computed in float64
  at::Tensor constant;   // [C] float64, log w_c + Σ_j log U_cjj − ½ D log 2π
};
Prepared prepare(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& prec_chol,
                 const c10::optional<at::Tensor>& log_weights);

// Column-block width of the triangular GEMM for dimension D.
int64_t block_width(int64_t D);
// Samples per chunk so that one chunk's y stays near 1 MiB (in a core's L2 cache).
int64_t chunk_rows(int64_t N, int64_t C, int64_t D, int64_t element_size);
// Factors of block k of the layout: [start(k) + size(k), C · size(k)], column c·size(k) + j
// holding U_c[:start(k) + size(k), start(k) + j].
at::Tensor block_factors(const at::Tensor& prec_chol, const BlockLayout& layout, int64_t k);
// y = x_rows [rows, D] times the block factors, written in `layout` into the flat buffer y.
void blocked_product(const at::Tensor& x_rows, const std::vector<at::Tensor>& factors, const BlockLayout& layout,
                     at::Tensor& y);

// Returns (out, argmax): out [N, C] (none) or [N]; argmax [N] int64 for max, else empty.
template <typename Backend, typename T>
std::tuple<at::Tensor, at::Tensor> forward(const Prepared& p, const at::Tensor& prec_chol, Reduce reduce) {
  const int64_t N = p.x_shifted.size(0), D = p.x_shifted.size(1), C = p.m.size(0);
  const int64_t B = chunk_rows(N, C, D, sizeof(T));
  const auto options = p.x_shifted.options();
  at::Tensor out = reduce == Reduce::kNone ? at::empty({N, C}, options) : at::empty({N}, options);
  at::Tensor argmax = at::empty({reduce == Reduce::kMax ? N : 0}, options.dtype(at::kLong));
  at::Tensor scratch = at::empty({Backend::num_workers(), B * C * D}, options);
  const int64_t out_row = reduce == Reduce::kNone ? C : 1;

  const BlockLayout full{B, C, D, block_width(D)};
  std::vector<at::Tensor> factors;
  for (int64_t k = 0; k < full.num_blocks(); ++k) factors.push_back(block_factors(prec_chol, full, k));

  Backend::for_each_chunk(N, B, [&](int64_t b0, int64_t rows) {
    at::Tensor y = scratch[Backend::worker_index()];
    const BlockLayout layout{rows, C, D, full.width};
    blocked_product(p.x_shifted.narrow(0, b0, rows), factors, layout, y);
    Backend::template forward_epilogue<T>(y.const_data_ptr<T>(), p.m.const_data_ptr<T>(),
                                          p.constant.const_data_ptr<double>(), layout, reduce,
                                          out.mutable_data_ptr<T>() + b0 * out_row,
                                          reduce == Reduce::kMax ? argmax.mutable_data_ptr<int64_t>() + b0 : nullptr);
  });
  return {out, argmax};
}

// Returns (grad_x [N, D], grad_mean [C, D], grad_log_weights [C]).
template <typename Backend, typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward(const Prepared& p, const at::Tensor& prec_chol,
                                                        Reduce reduce, const at::Tensor& grad,
                                                        const at::Tensor& result, const at::Tensor& argmax) {
  const int64_t N = p.x_shifted.size(0), D = p.x_shifted.size(1), C = p.m.size(0);
  const int64_t B = chunk_rows(N, C, D, sizeof(T));
  const auto options = p.x_shifted.options();
  const int64_t grad_row = reduce == Reduce::kNone ? C : 1;

  // One dense block: y[b, c·D + j] = ((x_b − s) U_c)_j, then the residual scaled by its weight.
  const at::Tensor factors = block_factors(prec_chol, BlockLayout{B, C, D, D}, 0);  // [D, C·D]
  const at::Tensor factors_t = factors.t();
  at::Tensor grad_x = at::empty({N, D}, options);
  at::Tensor residual_sum = at::zeros({C * D}, options.dtype(at::kDouble));
  at::Tensor grad_log_weights = at::zeros({C}, options.dtype(at::kDouble));
  at::Tensor y = at::empty({B * C * D}, options);
  at::Tensor weight = at::empty({B * C}, options);

  for (int64_t b0 = 0; b0 < N; b0 += B) {
    const BlockLayout layout{std::min(B, N - b0), C, D, D};
    at::Tensor y_v = y.narrow(0, 0, layout.B * C * D).view({layout.B, C * D});
    at::Tensor weight_v = weight.narrow(0, 0, layout.B * C).view({layout.B, C});
    at::mm_out(y_v, p.x_shifted.narrow(0, b0, layout.B), factors);
    Backend::template backward_scale<T>(
        y_v.mutable_data_ptr<T>(), p.m.const_data_ptr<T>(), p.constant.const_data_ptr<double>(), layout,
        reduce, grad.const_data_ptr<T>() + b0 * grad_row,
        reduce == Reduce::kNone ? nullptr : result.const_data_ptr<T>() + b0,
        reduce == Reduce::kMax ? argmax.const_data_ptr<int64_t>() + b0 : nullptr, weight_v.mutable_data_ptr<T>());
    // ∂out/∂x_b = −Σ_c weight[b,c] · P_c (x_b − μ_c) = −(residual row) · [U_1 … U_C]ᵀ.
    at::Tensor grad_x_v = grad_x.narrow(0, b0, layout.B);
    at::mm_out(grad_x_v, y_v, factors_t);
    residual_sum.add_(at::sum(y_v, at::IntArrayRef{0}, /*keepdim=*/false, at::kDouble));
    grad_log_weights.add_(at::sum(weight_v, at::IntArrayRef{0}, /*keepdim=*/false, at::kDouble));
  }
  grad_x.neg_();
  // ∂out/∂μ_c = Σ_b weight[b,c] · P_c (x_b − μ_c) = (Σ_b residual[b,c,:]) U_cᵀ.
  const at::Tensor grad_mean = at::bmm(residual_sum.view({C, 1, D}), prec_chol.to(at::kDouble).transpose(1, 2));
  return {grad_x, grad_mean.view({C, D}).to(options.dtype()), grad_log_weights.to(options.dtype())};
}

// The op: log-densities of x under C Gaussians, reduced over classes (see ood_ext.cpp).
template <typename Backend>
std::tuple<at::Tensor, at::Tensor> log_prob(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& prec_chol,
                                            const c10::optional<at::Tensor>& log_weights,
                                            c10::string_view reduce_name) {
  const Reduce reduce = check_inputs(x, mean, prec_chol, log_weights, reduce_name);
  const c10::DeviceGuard device_guard(x.device());
  const at::Tensor upper = at::triu(prec_chol);  // the factor is its upper triangle
  const Prepared p = prepare(x, mean, upper, log_weights);
  return AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kOp,
                                    [&] { return forward<Backend, scalar_t>(p, upper, reduce); });
}

// Its backward wrt x, mean and log_weights, from the forward's (out, argmax).
template <typename Backend>
std::tuple<at::Tensor, at::Tensor, at::Tensor> log_prob_backward(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& mean, const at::Tensor& prec_chol,
    const c10::optional<at::Tensor>& log_weights, c10::string_view reduce_name, const at::Tensor& result,
    const at::Tensor& argmax) {
  const Reduce reduce = check_inputs(x, mean, prec_chol, log_weights, reduce_name);
  check_density_backward(kOp, grad, x, mean, reduce, result, argmax);
  const c10::DeviceGuard device_guard(x.device());
  const at::Tensor upper = at::triu(prec_chol);
  const Prepared p = prepare(x, mean, upper, log_weights);
  return AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kOp, [&] {
    return backward<Backend, scalar_t>(p, upper, reduce, grad.contiguous(), result.contiguous(),
                                       argmax.contiguous());
  });
}

}  // namespace ood_ext::gaussian
