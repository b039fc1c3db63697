// Argument checks and per-class constants of the diagonal Gaussian op.
#include <ATen/ops/log.h>

#include "diag_gaussian_impl.h"

namespace ood_ext::diag_gaussian {

Reduce check_inputs(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& var,
                    const c10::optional<at::Tensor>& log_weights, c10::string_view reduce) {
  const Reduce r = check_density_inputs(kOp, x, mean, log_weights, reduce);
  check_rank(kOp, "var", var, 2);
  check_like(kOp, "var", var, "x", x);
  check_size(kOp, "var", var, 0, mean.size(0), "C, from mean [C, D]");
  check_size(kOp, "var", var, 1, x.size(1), "D, from x [N, D]");
  check_finite(kOp, "var", var);
  check_positive(kOp, "var", var, true, "positive everywhere");
  return r;
}

at::Tensor class_constants(const at::Tensor& var, const c10::optional<at::Tensor>& log_weights) {
  at::Tensor constant = at::log(var.to(at::kDouble)).sum(-1);
  constant.add_(static_cast<double>(var.size(1)) * kLog2Pi).mul_(-0.5);
  if (log_weights.has_value()) constant.add_(log_weights->to(at::kDouble));
  return constant.contiguous();
}

}  // namespace ood_ext::diag_gaussian
