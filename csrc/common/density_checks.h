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

}  // namespace ood_ext
