// Checks shared by the Gaussian density ops: x [N, D], mean [C, D], log_weights [C], and the
// extra arguments of their backward ops.
#pragma once

#include <string>

#include "checks.h"

namespace ood_ext {

// Checks x, mean and log_weights and parses reduce.
Reduce check_density_inputs(const char* op, const Tensor& x, const Tensor& mean, const OptionalTensor& log_weights,
                            const std::string& reduce);

// Checks grad / result / argmax of a backward call against the forward's x and mean.
void check_density_backward(const char* op, const Tensor& grad, const Tensor& x, const Tensor& mean, Reduce reduce,
                            const Tensor& result, const Tensor& argmax);

// Per-class constants [C], float64 on x's device: scale · (log_sum[c] + offset) + log_weights[c]
// (log_weights 0 when absent), computed on the host (the stable ABI has no Scalar arithmetic).
Tensor class_constants(const Tensor& log_sum, double scale, double offset, const OptionalTensor& log_weights,
                       const Tensor& x);

}  // namespace ood_ext
