#include "density_checks.h"

namespace ood_ext {

Reduce check_density_inputs(const char* op, const Tensor& x, const Tensor& mean, const OptionalTensor& log_weights,
                            const std::string& reduce) {
  const Reduce r = parse_reduce(op, reduce);
  check_rank(op, "x", x, 2);
  check_floating(op, "x", x);
  check_nonempty(op, "x", x, 0);
  check_nonempty(op, "x", x, 1);
  check_rank(op, "mean", mean, 2);
  check_like(op, "mean", mean, "x", x);
  check_nonempty(op, "mean", mean, 0);
  check_size(op, "mean", mean, 1, x.size(1), "D, from x [N, D]");
  if (log_weights.has_value()) {
    check_rank(op, "log_weights", *log_weights, 1);
    check_like(op, "log_weights", *log_weights, "x", x);
    check_size(op, "log_weights", *log_weights, 0, mean.size(0), "C, from mean [C, D]");
    check_finite(op, "log_weights", *log_weights);
  }
  check_finite(op, "x", x);
  check_finite(op, "mean", mean);
  return r;
}

void check_density_backward(const char* op, const Tensor& grad, const Tensor& x, const Tensor& mean, Reduce reduce,
                            const Tensor& result, const Tensor& argmax) {
  const int64_t N = x.size(0), C = mean.size(0);
  check_like(op, "grad", grad, "x", x);
  check_like(op, "result", result, "x", x);
  check_rank(op, "grad", grad, reduce == Reduce::kNone ? 2 : 1);
  check_size(op, "grad", grad, 0, N, "N, from x [N, D]");
  if (reduce == Reduce::kNone) {
    check_size(op, "grad", grad, 1, C, "C, from mean [C, D]");
  } else {
    check_rank(op, "result", result, 1);
    check_size(op, "result", result, 0, N, "N, from x [N, D]");
  }
  if (reduce == Reduce::kMax) {
    OOD_CHECK(argmax.scalar_type() == ScalarType::Long && argmax.dim() == 1 && argmax.size(0) == N, op,
              ": argmax must be int64 of shape [N] for reduce='max', got ", dtype_name(argmax.scalar_type()), " ",
              shape_str(argmax));
  }
}

}  // namespace ood_ext
