// The device-agnostic pieces of the full-covariance Gaussian op: argument checks, the shared
// shift and constants, and the triangular block GEMM.
#include <ATen/ops/abs.h>
#include <ATen/ops/all.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/gt.h>
#include <ATen/ops/log.h>
#include <ATen/ops/max.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/tril.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gaussian_impl.h"

namespace ood_ext::gaussian {

Reduce check_inputs(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& prec_chol,
                    const c10::optional<at::Tensor>& log_weights, c10::string_view reduce) {
  const Reduce r = check_density_inputs(kOp, x, mean, log_weights, reduce);
  const int64_t C = mean.size(0), D = x.size(1);
  check_rank(kOp, "prec_chol", prec_chol, 3);
  check_like(kOp, "prec_chol", prec_chol, "x", x);
  check_size(kOp, "prec_chol", prec_chol, 0, C, "C, from mean [C, D]");
  check_size(kOp, "prec_chol", prec_chol, 1, D, "D, from x [N, D]");
  check_size(kOp, "prec_chol", prec_chol, 2, D, "D, from x [N, D]");
  check_finite(kOp, "prec_chol", prec_chol);
  // Only the upper triangle is read (as LAPACK reads a triangular factor): round-off below the
  // diagonal, e.g. of inv(cholesky(Σ))ᵀ, is ignored, but a lower factor is refused.
  const double diagonal = prec_chol.diagonal(0, -2, -1).abs().max().item<double>();
  const double below = at::tril(prec_chol, -1).abs().max().item<double>();
  const double epsilon = prec_chol.scalar_type() == at::kFloat ? std::numeric_limits<float>::epsilon()
                                                               : std::numeric_limits<double>::epsilon();
  const double tolerance = std::sqrt(epsilon) * diagonal;
  TORCH_CHECK(below <= tolerance, kOp,
              ": prec_chol must be upper triangular (sklearn's precisions_cholesky_, precision = U Uᵀ), but it has "
              "an entry of magnitude ", below, " below the diagonal (diagonal entries up to ", diagonal,
              "; round-off up to ", tolerance, " is ignored, only the upper triangle is read); transpose a lower "
              "factor");
  check_positive(kOp, "the diagonal of prec_chol", prec_chol.diagonal(0, -2, -1), true,
                 "positive (the precision matrix must be positive definite)");
  return r;
}

Prepared prepare(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& prec_chol,
                 const c10::optional<at::Tensor>& log_weights) {
  const int64_t C = mean.size(0), D = x.size(1);
  const at::Tensor shift = mean.mean(0);  // in x's dtype: x − s and μ − s use the same s
  at::Tensor m = at::bmm(mean.to(at::kDouble).sub(shift.to(at::kDouble)).view({C, 1, D}), prec_chol.to(at::kDouble));
  at::Tensor constant = at::log(prec_chol.diagonal(0, -2, -1).to(at::kDouble)).sum(-1);
  constant.sub_(0.5 * static_cast<double>(D) * kLog2Pi);
  if (log_weights.has_value()) constant.add_(log_weights->to(at::kDouble));
  return {x.sub(shift).contiguous(), m.view({C, D}).to(x.scalar_type()).contiguous(), constant.contiguous()};
}

int64_t block_width(int64_t D) { return D <= 48 ? D : 16; }

int64_t chunk_rows(int64_t N, int64_t C, int64_t D, int64_t element_size) {
  constexpr int64_t kBufferBytes = int64_t{1} << 20;
  const int64_t rows = kBufferBytes / std::max<int64_t>(1, C * D * element_size);
  return std::clamp<int64_t>(rows, std::min<int64_t>(N, 32), N);
}

at::Tensor block_factors(const at::Tensor& prec_chol, const BlockLayout& layout, int64_t k) {
  const int64_t rows = layout.start(k) + layout.size(k);
  return prec_chol.narrow(1, 0, rows)
      .narrow(2, layout.start(k), layout.size(k))
      .permute({1, 0, 2})
      .reshape({rows, layout.C * layout.size(k)})
      .contiguous();
}

void blocked_product(const at::Tensor& x_rows, const std::vector<at::Tensor>& factors, const BlockLayout& layout,
                     at::Tensor& y) {
  for (int64_t k = 0; k < layout.num_blocks(); ++k) {
    const int64_t cols = layout.C * layout.size(k);
    at::Tensor y_k = y.narrow(0, layout.offset(k, 0, 0), layout.B * cols).view({layout.B, cols});
    at::mm_out(y_k, x_rows.narrow(1, 0, layout.start(k) + layout.size(k)), factors[k]);
  }
}

}  // namespace ood_ext::gaussian
