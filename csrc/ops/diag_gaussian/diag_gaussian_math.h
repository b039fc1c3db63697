// Diagonal-covariance Gaussian log-density and its gradients, element by element:
//   log N(x; μ, diag(v)) = constant − ½ Σ_d (x_d − μ_d)² / v_d,
//   constant = log w − ½ Σ_d log(2π v_d).
// The kernels take the precomputed inverse variances iv = 1 / v.
#pragma once

#include "../../common/host_device.h"

namespace ood_ext::diag_gaussian {

// (x − μ)² / v for one coordinate, in float64.
template <typename T>
OOD_HOST_DEVICE inline double mahalanobis_term(T x, T mean, T inv_var) {
  const double diff = static_cast<double>(x) - static_cast<double>(mean);
  return diff * diff * static_cast<double>(inv_var);
}

// ∂l/∂x_d = −(x_d − μ_d) / v_d  (∂l/∂μ_d is its negative).
template <typename T>
OOD_HOST_DEVICE inline double grad_x_term(T x, T mean, T inv_var) {
  return -(static_cast<double>(x) - static_cast<double>(mean)) * static_cast<double>(inv_var);
}

// ∂l/∂v_d = ½ ((x_d − μ_d)² / v_d² − 1 / v_d).
template <typename T>
OOD_HOST_DEVICE inline double grad_var_term(T x, T mean, T inv_var) {
  const double iv = static_cast<double>(inv_var);
  const double diff = static_cast<double>(x) - static_cast<double>(mean);
  return 0.5 * (diff * diff * iv * iv - iv);
}

}  // namespace ood_ext::diag_gaussian
