// Every schema of the ood_ext operator library, in one place. Kernels register per dispatch
// key in csrc/ops/<family>/<family>_{cpu,cuda}.cpp; fake kernels and autograd live in
// ood_ext/ops/*.py.
#include <torch/csrc/stable/library.h>

STABLE_TORCH_LIBRARY(ood_ext, m) {
  // Full-covariance Gaussian log-densities of x [N, D] under C classes: mean [C, D],
  // prec_chol [C, D, D] (upper triangular, precision = U Uᵀ), log_weights [C].
  // Returns (out, argmax): out [N, C] for reduce='none', [N] for 'max' / 'logsumexp';
  // argmax [N] int64 for 'max', an empty tensor otherwise.
  m.def(
      "gaussian_log_prob(Tensor x, Tensor mean, Tensor prec_chol, Tensor? log_weights=None, "
      "str reduce='none') -> (Tensor, Tensor)");
  // (grad_x [N, D], grad_mean [C, D], grad_log_weights [C]) from the forward's (result, argmax).
  m.def(
      "gaussian_log_prob_backward(Tensor grad, Tensor x, Tensor mean, Tensor prec_chol, "
      "Tensor? log_weights, str reduce, Tensor result, Tensor argmax) -> (Tensor, Tensor, Tensor)");

  // Diagonal-covariance Gaussian log-densities: var [C, D] positive; otherwise as above.
  m.def(
      "diag_gaussian_log_prob(Tensor x, Tensor mean, Tensor var, Tensor? log_weights=None, "
      "str reduce='none') -> (Tensor, Tensor)");
  // (grad_x [N, D], grad_mean [C, D], grad_var [C, D], grad_log_weights [C]).
  m.def(
      "diag_gaussian_log_prob_backward(Tensor grad, Tensor x, Tensor mean, Tensor var, "
      "Tensor? log_weights, str reduce, Tensor result, Tensor argmax) -> (Tensor, Tensor, Tensor, Tensor)");

  // Per-sample quadratic forms of a Kronecker-factored curvature in its eigenbasis:
  //   q[n] = Σ_ij (Q_Gᵀ (Σ_t g[n,t] a[n,t]ᵀ) Q_A)²_ij · weight_ij
  // a [N, T, Din] layer inputs (append a ones column for the bias), g [N, T, Dout] output
  // gradients, weight [Dout, Din] ≥ 0, basis_a = Q_A [Din, Din], basis_g = Q_G [Dout, Dout]
  // (absent = identity, which gives DIAG). strategy: 'auto' | 'pairs' | 'chunked'. → q [N].
  m.def(
      "curvature_quadratic_form(Tensor a, Tensor g, Tensor weight, Tensor? basis_a=None, "
      "Tensor? basis_g=None, str strategy='auto') -> Tensor");
  // Its eigenvalue correction S = Σ_n (Q_Gᵀ (Σ_t g[n,t] a[n,t]ᵀ) Q_A)² → [Dout, Din].
  m.def(
      "curvature_eigen_correction(Tensor a, Tensor g, Tensor? basis_a=None, Tensor? basis_g=None, "
      "str strategy='auto') -> Tensor");

  // Multi-scale score norms → [N, L]. scores [L, N, ...] = s(·, σ_i) per level, sigmas [L].
  //   mode='weighted': ‖σ_i s_i‖₂;  mode='residual' with noisy [L, N, ...] = x̃_i and clean
  //   [N, ...] = x: ‖s_i + (x̃_i − x) / σ_i²‖₂.
  m.def(
      "multiscale_score_norms(Tensor scores, Tensor sigmas, str mode='weighted', Tensor? noisy=None, "
      "Tensor? clean=None) -> Tensor");
}
