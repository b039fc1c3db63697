// Reducing per-class log-densities l[n, c] over classes (max / argmax / logsumexp) in one
// streaming pass, and the matching gradient weight ∂out/∂l[n, c]. Shared by the full and the
// diagonal Gaussian ops, on CPU and CUDA.
#pragma once

#include <cmath>

#include "host_device.h"

namespace ood_ext {

// Running max, argmax and Σ exp(v − max) over the values pushed so far. The first value pushed
// is the maximum until a larger one comes, so argmax is always a pushed index (the first one when
// every value is −inf, as torch.max does) and the log-sum-exp of all −inf is −inf, not NaN.
struct OnlineMaxLse {
  double max = -INFINITY;
  double sum = 0.0;
  int64_t argmax = -1;

  OOD_HOST_DEVICE void push(double v, int64_t index) {
    if (argmax < 0 || v > max) {
      sum = argmax < 0 ? 1.0 : sum * exp(max - v) + 1.0;
      max = v;
      argmax = index;
    } else if (v > -INFINITY) {  // exp(−inf − max) adds nothing, and −inf − (−inf) would be NaN
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

// One row b of the op's output: push the C log-densities l[b, c] in class order, then finish.
// `writer` says whether this thread writes (all CUDA lanes of a warp hold the same values).
template <typename T>
struct ReducedRow {
  Reduce reduce;
  int64_t C, b;
  T* out;
  int64_t* argmax;
  bool writer;
  OnlineMaxLse acc{};

  OOD_HOST_DEVICE void push(int64_t c, double l) {
    if (reduce == Reduce::kNone) {
      if (writer) out[b * C + c] = static_cast<T>(l);
    } else {
      acc.push(l, c);
    }
  }

  OOD_HOST_DEVICE void finish() const {
    if (!writer) return;
    if (reduce == Reduce::kMax) {
      out[b] = static_cast<T>(acc.max);
      argmax[b] = acc.argmax;
    } else if (reduce == Reduce::kLogSumExp) {
      out[b] = static_cast<T>(acc.logsumexp());
    }
  }
};

// reduce_grad_weight for (row b, class c) read from the backward op's arguments: grad is
// [B, C] (none) or [B]; result [B] and argmax [B] are used by logsumexp and max.
template <typename T>
OOD_HOST_DEVICE inline double row_grad_weight(Reduce reduce, const T* grad, const T* result, const int64_t* argmax,
                                              int64_t b, int64_t c, int64_t C, double log_density) {
  const bool reduced = reduce != Reduce::kNone;
  return reduce_grad_weight(reduce, static_cast<double>(reduced ? grad[b] : grad[b * C + c]), log_density,
                            reduced ? static_cast<double>(result[b]) : 0.0, reduce == Reduce::kMax ? argmax[b] : -1,
                            c);
}

}  // namespace ood_ext
