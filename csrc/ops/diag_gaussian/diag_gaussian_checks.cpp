// Argument checks and per-class constants of the diagonal Gaussian op.
#include "../../common/class_constants.h"
#include "diag_gaussian_impl.h"

namespace ood_ext::diag_gaussian {

Reduce check_inputs(const Tensor& x, const Tensor& mean, const Tensor& var, const OptionalTensor& log_weights,
                    const std::string& reduce) {
  const Reduce r = check_density_inputs(kOp, x, mean, log_weights, reduce);
  check_rank(kOp, "var", var, 2);
  check_like(kOp, "var", var, "x", x);
  check_size(kOp, "var", var, 0, mean.size(0), "C, from mean [C, D]");
  check_size(kOp, "var", var, 1, x.size(1), "D, from x [N, D]");
  check_finite(kOp, "var", var);
  check_positive(kOp, "var", var, true, "positive everywhere");
  return r;
}

Tensor constants(const Tensor& var, const OptionalTensor& log_weights) {
  const Tensor log_sum = aten::sum_dim(aten::log(aten::to_dtype(var, ScalarType::Double)), -1);
  return class_constants(log_sum, -0.5, static_cast<double>(var.size(1)) * kLog2Pi, log_weights, var);
}

}  // namespace ood_ext::diag_gaussian
