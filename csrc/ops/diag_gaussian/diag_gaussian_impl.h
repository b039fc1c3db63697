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

#include <string>
#include <tuple>

#include "../../common/density_checks.h"
#include "diag_gaussian_math.h"

namespace ood_ext::diag_gaussian {

constexpr const char* kOp = "diag_gaussian_log_prob";

Reduce check_inputs(const Tensor& x, const Tensor& mean, const Tensor& var, const OptionalTensor& log_weights,
                    const std::string& reduce);

// constant[c] = log w_c − ½ Σ_d log(2π v_cd), float64 [C] on var's device.
Tensor constants(const Tensor& var, const OptionalTensor& log_weights);

// Returns (out, argmax) as gaussian_log_prob does.
template <typename Backend>
std::tuple<Tensor, Tensor> log_prob(Tensor x_in, Tensor mean_in, Tensor var, OptionalTensor log_weights,
                                    std::string reduce_name) {
  const Reduce reduce = check_inputs(x_in, mean_in, var, log_weights, reduce_name);
  const DeviceGuardFor device_guard(x_in);
  const Tensor x = aten::contiguous(x_in), mean = aten::contiguous(mean_in);
  const Tensor inv_var = aten::contiguous(aten::reciprocal(var));
  const Tensor constant = constants(var, log_weights);
  const int64_t N = x.size(0), D = x.size(1), C = mean.size(0);
  Tensor out = reduce == Reduce::kNone ? empty_like_shape(x, {N, C}) : empty_like_shape(x, {N});
  Tensor argmax = empty_like_shape(x, {reduce == Reduce::kMax ? N : 0}, ScalarType::Long);
  dispatch_floating(x.scalar_type(), kOp, [&](auto zero) {
    using T = decltype(zero);
    Backend::template forward<T>(x.const_data_ptr<T>(), mean.const_data_ptr<T>(), inv_var.const_data_ptr<T>(),
                                 constant.const_data_ptr<double>(), N, C, D, reduce, out.mutable_data_ptr<T>(),
                                 reduce == Reduce::kMax ? argmax.mutable_data_ptr<int64_t>() : nullptr);
  });
  return {out, argmax};
}

// Returns (grad_x [N, D], grad_mean [C, D], grad_var [C, D], grad_log_weights [C]).
template <typename Backend>
std::tuple<Tensor, Tensor, Tensor, Tensor> log_prob_backward(Tensor grad_in, Tensor x_in, Tensor mean_in, Tensor var,
                                                             OptionalTensor log_weights, std::string reduce_name,
                                                             Tensor result_in, Tensor argmax_in) {
  const Reduce reduce = check_inputs(x_in, mean_in, var, log_weights, reduce_name);
  const DeviceGuardFor device_guard(x_in);
  check_density_backward(kOp, grad_in, x_in, mean_in, reduce, result_in, argmax_in);
  const Tensor x = aten::contiguous(x_in), mean = aten::contiguous(mean_in), grad = aten::contiguous(grad_in);
  const Tensor result = aten::contiguous(result_in), argmax = aten::contiguous(argmax_in);
  const Tensor inv_var = aten::contiguous(aten::reciprocal(var));
  const Tensor constant = constants(var, log_weights);
  const int64_t N = x.size(0), D = x.size(1), C = mean.size(0);
  Tensor weight = empty_like_shape(x, {N, C});
  Tensor grad_x = empty_like_shape(x, {N, D});
  Tensor grad_mean = empty_like_shape(x, {C, D});
  Tensor grad_var = empty_like_shape(x, {C, D});
  dispatch_floating(x.scalar_type(), kOp, [&](auto zero) {
    using T = decltype(zero);
    Backend::template backward_rows<T>(
        x.const_data_ptr<T>(), mean.const_data_ptr<T>(), inv_var.const_data_ptr<T>(),
        constant.const_data_ptr<double>(), N, C, D, reduce, grad.const_data_ptr<T>(),
        reduce == Reduce::kNone ? nullptr : result.const_data_ptr<T>(),
        reduce == Reduce::kMax ? argmax.const_data_ptr<int64_t>() : nullptr, weight.mutable_data_ptr<T>(),
        grad_x.mutable_data_ptr<T>());
    Backend::template backward_classes<T>(x.const_data_ptr<T>(), mean.const_data_ptr<T>(),
                                          inv_var.const_data_ptr<T>(), weight.const_data_ptr<T>(), N, C, D,
                                          grad_mean.mutable_data_ptr<T>(), grad_var.mutable_data_ptr<T>());
  });
  return {grad_x, grad_mean, grad_var, aten::sum_dim(weight, 0)};
}

}  // namespace ood_ext::diag_gaussian
