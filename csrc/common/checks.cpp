#include "checks.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/aminmax.h>
#include <ATen/ops/stack.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>
#include <vector>

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

namespace {

// min and max over all elements (NaN propagates into both), as doubles. CPU tensors are scanned
// in place, in parallel only when large: a check on a small tensor never wakes the thread pool
// (which costs more than the check after a large parallel GEMM). Other devices use ATen.
std::pair<double, double> value_range(const at::Tensor& t) {
  if (!t.is_cpu()) {
    const auto [lo, hi] = at::aminmax(t);
    const at::Tensor range = at::stack({lo, hi}).to(at::kDouble).cpu();
    return {range.const_data_ptr<double>()[0], range.const_data_ptr<double>()[1]};
  }
  const at::Tensor c = t.contiguous();
  double lo = INFINITY, hi = -INFINITY;
  bool nan = false;
  AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "value_range", [&] {
    const scalar_t* p = c.const_data_ptr<scalar_t>();
    std::atomic<bool> saw_nan{false};
    const int64_t chunks = at::divup(c.numel(), int64_t{1} << 16);
    std::vector<double> los(chunks, INFINITY), his(chunks, -INFINITY);
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        double l = INFINITY, h = -INFINITY;
        bool local_nan = false;
        for (int64_t i = k << 16; i < std::min(c.numel(), (k + 1) << 16); ++i) {
          const double v = static_cast<double>(p[i]);
          local_nan |= v != v;
          l = std::min(l, v);
          h = std::max(h, v);
        }
        los[k] = l;
        his[k] = h;
        if (local_nan) saw_nan = true;
      }
    });
    for (int64_t k = 0; k < chunks; ++k) {
      lo = std::min(lo, los[k]);
      hi = std::max(hi, his[k]);
    }
    nan = saw_nan;
  });
  if (nan) return {std::nan(""), std::nan("")};
  return {lo, hi};
}

// Σ p[i]·0 over [begin, end) is NaN exactly when some p[i] is NaN or ±inf.
template <typename T>
bool span_finite(const T* p, int64_t begin, int64_t end) {
  T probe = 0;
#pragma omp simd reduction(+ : probe)
  for (int64_t i = begin; i < end; ++i) probe += p[i] * T(0);
  return probe == probe;
}

}  // namespace

bool all_finite(const at::Tensor& t) {
  if (t.numel() == 0) return true;
  if (!t.is_cpu()) {
    const auto [lo, hi] = value_range(t);
    return std::isfinite(lo) && std::isfinite(hi);
  }
  // One vectorised, memory-bound pass (span_finite).
  const at::Tensor c = t.contiguous();
  std::atomic<bool> finite{true};
  AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "all_finite", [&] {
    const scalar_t* p = c.const_data_ptr<scalar_t>();
    const int64_t n = c.numel(), chunks = at::divup(n, int64_t{1} << 16);
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        if (!span_finite(p, k << 16, std::min(n, (k + 1) << 16))) finite = false;
      }
    });
  });
  return finite;
}

double value_magnitude(const at::Tensor& t) {
  if (t.numel() == 0) return 0.0;
  const auto [lo, hi] = value_range(t);
  return std::max(std::abs(lo), std::abs(hi));
}

void check_finite(const char* op, const char* name, const at::Tensor& t) {
  TORCH_CHECK(all_finite(t), op, ": ", name, " contains NaN or infinite values");
}

void check_positive(const char* op, const char* name, const at::Tensor& t, bool strict, const char* what) {
  if (t.numel() == 0) return;
  const double lo = value_range(t).first;
  TORCH_CHECK(strict ? lo > 0 : lo >= 0, op, ": ", name, " must be ", what, " (smallest value ", lo, ")");
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
