// The device-agnostic pieces of the full-covariance Gaussian op: argument checks, the shared
// shift and constants, and the triangular block GEMM.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../../common/class_constants.h"
#include "gaussian_impl.h"

namespace ood_ext::gaussian {

Reduce check_inputs(const Tensor& x, const Tensor& mean, const Tensor& prec_chol, const OptionalTensor& log_weights,
                    const std::string& reduce) {
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
  const Tensor diag = aten::diagonal(prec_chol, 0, -2, -1);
  const double largest = value_magnitude(diag);
  const double below = value_magnitude(aten::tril(prec_chol, -1));
  const double epsilon = prec_chol.scalar_type() == ScalarType::Float ? std::numeric_limits<float>::epsilon()
                                                                      : std::numeric_limits<double>::epsilon();
  const double tolerance = std::sqrt(epsilon) * largest;
  OOD_CHECK(below <= tolerance, kOp,
            ": prec_chol must be upper triangular (sklearn's precisions_cholesky_, precision = U Uᵀ), but it has "
            "an entry of magnitude ", below, " below the diagonal (diagonal entries up to ", largest,
            "; round-off up to ", tolerance, " is ignored, only the upper triangle is read); transpose a lower "
            "factor");
  check_positive(kOp, "the diagonal of prec_chol", diag, true,
                 "positive (the precision matrix must be positive definite)");
  return r;
}

Prepared prepare(const Tensor& x, const Tensor& mean, const Tensor& prec_chol, const OptionalTensor& log_weights) {
  const int64_t C = mean.size(0), D = x.size(1);
  const Tensor shift = aten::mean_dim(mean, 0);  // in x's dtype: x − s and μ − s use the same s
  const Tensor centred = aten::sub(aten::to_dtype(mean, ScalarType::Double), aten::to_dtype(shift, ScalarType::Double));
  const Tensor m = aten::bmm(aten::view(centred, {C, 1, D}), aten::to_dtype(prec_chol, ScalarType::Double));
  const Tensor log_diagonal = aten::log(aten::to_dtype(aten::diagonal(prec_chol, 0, -2, -1), ScalarType::Double));
  const Tensor constant = class_constants(aten::sum_dim(log_diagonal, -1), 1.0, -0.5 * static_cast<double>(D) * kLog2Pi,
                                          log_weights, x);
  return {aten::contiguous(aten::sub(x, shift)), aten::contiguous(aten::to_dtype(aten::view(m, {C, D}), x.scalar_type())), constant};
}

int64_t block_width(int64_t D) { return D <= 48 ? D : 16; }

int64_t chunk_rows(int64_t N, int64_t C, int64_t D, int64_t element_size) {
  constexpr int64_t kBufferBytes = int64_t{1} << 20;
  const int64_t rows = kBufferBytes / std::max<int64_t>(1, C * D * element_size);
  return std::clamp<int64_t>(rows, std::min<int64_t>(N, 32), N);
}

Tensor block_factors(const Tensor& prec_chol, const BlockLayout& layout, int64_t k) {
  const int64_t rows = layout.start(k) + layout.size(k);
  const Tensor block = aten::narrow(aten::narrow(prec_chol, 1, 0, rows), 2, layout.start(k), layout.size(k));
  return aten::contiguous(aten::reshape(aten::permute(block, {1, 0, 2}), {rows, layout.C * layout.size(k)}));
}

void blocked_product(const Tensor& x_rows, const std::vector<Tensor>& factors, const BlockLayout& layout,
                     const Tensor& y) {
  for (int64_t k = 0; k < layout.num_blocks(); ++k) {
    const int64_t cols = layout.C * layout.size(k);
    const Tensor y_k = aten::view(aten::narrow(y, 0, layout.offset(k, 0, 0), layout.B * cols), {layout.B, cols});
    aten::mm_out(y_k, aten::narrow(x_rows, 1, 0, layout.start(k) + layout.size(k)), factors[k]);
  }
}

}  // namespace ood_ext::gaussian
