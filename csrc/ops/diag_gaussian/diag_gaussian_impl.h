// Device-agnostic driver of the diagonal Gaussian op. Everything is O(N·C·D) elementwise work,
// so the Backend runs whole passes:
//
//   Backend::forward<T>(x, mean, inv_var, constant, N, C, D, reduce, out, argmax)
//   Backend::backward_rows<T>(x, mean, inv_var, constant, N, C, D, reduce, grad, result, argmax,
//                             weight, grad_x)       weight[n,c] = ∂out/∂l[n,c]·grad; grad_x[n,:]
//   Backend::backward_classes<T>(x, mean, inv_var, weight, N, C, D, grad_mean, grad_var)
//
// diag_gaussian_cpu.cpp and diag_gaussian_cuda.cpp instantiate it with their kernels.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/DeviceGuard.h>
#include <c10/util/Optional.h>

#include <string_view>
#include <tuple>

#include "../../common/density_checks.h"
#include "diag_gaussian_math.h"

namespace ood_ext::diag_gaussian {

constexpr const char* kOp = "diag_gaussian_log_prob";

Reduce check_inputs(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& var,
                    const c10::optional<at::Tensor>& log_weights, c10::string_view reduce);


// constant[c] = log w_c − ½ Σ_d log(2π v_cd), float64 [C].
at::Tensor class_constants(const at::Tensor& var, const c10::optional<at::Tensor>& log_weights);

// Returns (out, argmax) as gaussian_log_prob does.
template <typename Backend>
std::tuple<at::Tensor, at::Tensor> log_prob(const at::Tensor& x_in, const at::Tensor& mean_in,
                                            const at::Tensor& var,
                                            const c10::optional<at::Tensor>& log_weights,
                                            c10::string_view reduce_name) {
  const Reduce reduce = check_inputs(x_in, mean_in, var, log_weights, reduce_name);
  const c10::DeviceGuard device_guard(x_in.device());
  const at::Tensor x = x_in.contiguous(), mean = mean_in.contiguous();
  const at::Tensor inv_var = var.reciprocal().contiguous();
  const at::Tensor constant = class_constants(var, log_weights);
  const int64_t N = x.size(0), D = x.size(1), C = mean.size(0);
  at::Tensor out = reduce == Reduce::kNone ? at::empty({N, C}, x.options()) : at::empty({N}, x.options());
  at::Tensor argmax = at::empty({reduce == Reduce::kMax ? N : 0}, x.options().dtype(at::kLong));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kOp, [&] {
    Backend::template forward<scalar_t>(x.const_data_ptr<scalar_t>(), mean.const_data_ptr<scalar_t>(),
                                        inv_var.const_data_ptr<scalar_t>(), constant.const_data_ptr<double>(),
                                        N, C, D, reduce, out.mutable_data_ptr<scalar_t>(),
                                        reduce == Reduce::kMax ? argmax.mutable_data_ptr<int64_t>() : nullptr);
  });
  return {out, argmax};
}

// Returns (grad_x [N, D], grad_mean [C, D], grad_var [C, D], grad_log_weights [C]).
template <typename Backend>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> log_prob_backward(
    const at::Tensor& grad_in, const at::Tensor& x_in, const at::Tensor& mean_in, const at::Tensor& var,
    const c10::optional<at::Tensor>& log_weights, c10::string_view reduce_name, const at::Tensor& result_in,
    const at::Tensor& argmax_in) {
  const Reduce reduce = check_inputs(x_in, mean_in, var, log_weights, reduce_name);
  const c10::DeviceGuard device_guard(x_in.device());
  check_density_backward(kOp, grad_in, x_in, mean_in, reduce, result_in, argmax_in);
  const at::Tensor x = x_in.contiguous(), mean = mean_in.contiguous(), grad = grad_in.contiguous();
  const at::Tensor result = result_in.contiguous(), argmax = argmax_in.contiguous();
  const at::Tensor inv_var = var.reciprocal().contiguous();
  const at::Tensor constant = class_constants(var, log_weights);
  const int64_t N = x.size(0), D = x.size(1), C = mean.size(0);
  at::Tensor weight = at::empty({N, C}, x.options());
  at::Tensor grad_x = at::empty({N, D}, x.options());
  at::Tensor grad_mean = at::empty({C, D}, x.options());
  at::Tensor grad_var = at::empty({C, D}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kOp, [&] {
    Backend::template backward_rows<scalar_t>(
        x.const_data_ptr<scalar_t>(), mean.const_data_ptr<scalar_t>(), inv_var.const_data_ptr<scalar_t>(),
        constant.const_data_ptr<double>(), N, C, D, reduce, grad.const_data_ptr<scalar_t>(),
        reduce == Reduce::kNone ? nullptr : result.const_data_ptr<scalar_t>(),
        reduce == Reduce::kMax ? argmax.const_data_ptr<int64_t>() : nullptr, weight.mutable_data_ptr<scalar_t>(),
        grad_x.mutable_data_ptr<scalar_t>());
    Backend::template backward_classes<scalar_t>(
        x.const_data_ptr<scalar_t>(), mean.const_data_ptr<scalar_t>(), inv_var.const_data_ptr<scalar_t>(),
        weight.const_data_ptr<scalar_t>(), N, C, D, grad_mean.mutable_data_ptr<scalar_t>(),
        grad_var.mutable_data_ptr<scalar_t>());
  });
  return {grad_x, grad_mean, grad_var, weight.sum(0)};
}

}  // namespace ood_ext::diag_gaussian
