// The per-class constants of the Gaussian density ops, finished on the host in float64.
#pragma once

#include "tensor_ops.h"

namespace ood_ext {

// Per-class constants [C], float64 on x's device: scale · (log_sum[c] + offset) + log_weights[c]
// (log_weights 0 when absent), computed on the host (the stable ABI has no Scalar arithmetic).
Tensor class_constants(const Tensor& log_sum, double scale, double offset, const OptionalTensor& log_weights,
                       const Tensor& x);

}  // namespace ood_ext
