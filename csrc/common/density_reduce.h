// Reducing per-class log-densities l[n, c] over classes (max / argmax / logsumexp) in one
// streaming pass, and the matching gradient weight ∂out/∂l[n, c]. Shared by the full and the
// diagonal Gaussian ops, on CPU and CUDA.
#pragma once

#include <cmath>

#include "host_device.h"

namespace ood_ext {

// Running max, argmax and Σ exp(v − max) over the values pushed so far.
struct OnlineMaxLse {
  double max = -INFINITY;
  double sum = 0.0;
  int64_t argmax = -1;

  OOD_HOST_DEVICE void push(double v, int64_t index) {
    if (v > max) {
      sum = sum * exp(max - v) + 1.0;  // exp(−inf) = 0 on the first push
      max = v;
      argmax = index;
    } else {
      sum += exp(v - max);
    }
  }

  OOD_HOST_DEVICE double logsumexp() const { return max + log(sum); }
};

// ∂out/∂l[n, c] times the upstream gradient.
//   none:      grad is grad_out[n, c]
//   max:       grad is grad_out[n]; only the argmax class receives it
//   logsumexp: grad is grad_out[n]; class c receives softmax_c = exp(l[n, c] − out[n])
OOD_HOST_DEVICE inline double reduce_grad_weight(Reduce reduce, double grad, double log_density,
                                                 double out_n, int64_t argmax_n, int64_t c) {
  switch (reduce) {
    case Reduce::kNone:
      return grad;
    case Reduce::kMax:
      return argmax_n == c ? grad : 0.0;
    default:
      return grad * exp(log_density - out_n);
  }
}

}  // namespace ood_ext
