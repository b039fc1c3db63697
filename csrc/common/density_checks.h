// Checks shared by the Gaussian density ops: x [N, D], mean [C, D], log_weights [C], and the
// extra arguments of their backward ops.
#pragma once

#include "checks.h"

#include <c10/util/Optional.h>

#include <string_view>

namespace ood_ext {

// Checks x, mean and log_weights and parses reduce.
Reduce check_density_inputs(const char* op, const at::Tensor& x, const at::Tensor& mean,
                            const c10::optional<at::Tensor>& log_weights, c10::string_view reduce);

// Checks grad / result / argmax of a backward call against the forward's x and mean.
void check_density_backward(const char* op, const at::Tensor& grad, const at::Tensor& x, const at::Tensor& mean,
                            Reduce reduce, const at::Tensor& result, const at::Tensor& argmax);

}  // namespace ood_ext
