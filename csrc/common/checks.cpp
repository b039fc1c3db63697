#include "checks.h"

#include <ATen/ops/aminmax.h>
#include <ATen/ops/stack.h>

#include <cmath>

#include <sstream>

namespace ood_ext {

std::string shape_str(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

void check_rank(const char* op, const char* name, const at::Tensor& t, int64_t rank) {
  TORCH_CHECK(t.dim() == rank, op, ": ", name, " must have ", rank, " dimensions, got shape ",
              shape_str(t));
}

void check_size(const char* op, const char* name, const at::Tensor& t, int64_t dim, int64_t expected,
                const char* what) {
  TORCH_CHECK(t.size(dim) == expected, op, ": ", name, " has shape ", shape_str(t),
              " but its dimension ", dim, " must be ", expected, " (", what, ")");
}

void check_floating(const char* op, const char* name, const at::Tensor& t) {
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, op, ": ", name,
              " must be float32 or float64, got ", t.scalar_type());
}

void check_like(const char* op, const char* name, const at::Tensor& t, const char* ref_name,
                const at::Tensor& ref) {
  TORCH_CHECK(t.device() == ref.device(), op, ": ", name, " is on ", t.device(), " but ", ref_name,
              " is on ", ref.device(), "; all tensors must be on one device");
  TORCH_CHECK(t.scalar_type() == ref.scalar_type(), op, ": ", name, " has dtype ", t.scalar_type(),
              " but ", ref_name, " has dtype ", ref.scalar_type(), "; all tensors must share one dtype");
}

void check_finite(const char* op, const char* name, const at::Tensor& t) {
  if (t.numel() == 0) return;
  // One fused min/max pass (NaN propagates into both) instead of the slower isfinite().all().
  const auto [lo, hi] = at::aminmax(t);
  const at::Tensor range = at::stack({lo, hi}).to(at::kDouble).cpu();
  const double* r = range.const_data_ptr<double>();
  TORCH_CHECK(std::isfinite(r[0]) && std::isfinite(r[1]), op, ": ", name, " contains NaN or infinite values");
}

void check_nonempty(const char* op, const char* name, const at::Tensor& t, int64_t dim) {
  TORCH_CHECK(t.size(dim) > 0, op, ": ", name, " is empty along dimension ", dim, " (shape ",
              shape_str(t), "); an empty batch has no scores");
}

Reduce parse_reduce(const char* op, const std::string& reduce) {
  if (reduce == "none") return Reduce::kNone;
  if (reduce == "max") return Reduce::kMax;
  if (reduce == "logsumexp") return Reduce::kLogSumExp;
  TORCH_CHECK(false, op, ": reduce must be 'none', 'max' or 'logsumexp', got '", reduce, "'");
}

}  // namespace ood_ext
