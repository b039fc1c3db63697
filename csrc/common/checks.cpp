#include "checks.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>
#include <vector>

namespace ood_ext {

std::string shape_str(const Tensor& t) {
  std::ostringstream s;
  s << '[';
  for (int64_t d = 0; d < t.dim(); ++d) s << (d ? ", " : "") << t.size(d);
  s << ']';
  return s.str();
}

std::string dtype_name(ScalarType dtype) {
  switch (dtype) {
    case ScalarType::Float: return "float32";
    case ScalarType::Double: return "float64";
    case ScalarType::Half: return "float16";
    case ScalarType::BFloat16: return "bfloat16";
    case ScalarType::Long: return "int64";
    case ScalarType::Int: return "int32";
    case ScalarType::Short: return "int16";
    case ScalarType::Char: return "int8";
    case ScalarType::Byte: return "uint8";
    case ScalarType::Bool: return "bool";
    default: return concat("dtype ", torch::headeronly::toString(dtype));
  }
}

std::string device_name(const Tensor& t) {
  using torch::headeronly::DeviceType;
  const torch::stable::Device device = t.device();
  std::string type;
  switch (device.type()) {
    case DeviceType::CPU: return "cpu";
    case DeviceType::Meta: return "meta";
    case DeviceType::CUDA: type = "cuda"; break;
    default: type = concat("device type ", static_cast<int>(device.type())); break;
  }
  return device.index() < 0 ? type : concat(type, ':', device.index());
}

bool same_device(const Tensor& a, const Tensor& b) {
  const torch::stable::Device da = a.device(), db = b.device();
  return da.type() == db.type() && da.index() == db.index();
}

void check_rank(const char* op, const char* name, const Tensor& t, int64_t rank) {
  OOD_CHECK(t.dim() == rank, op, ": ", name, " must have ", rank, " dimensions, got shape ", shape_str(t));
}

void check_size(const char* op, const char* name, const Tensor& t, int64_t dim, int64_t expected,
                const char* what) {
  OOD_CHECK(t.size(dim) == expected, op, ": ", name, " has shape ", shape_str(t), " but its dimension ", dim,
            " must be ", expected, " (", what, ")");
}

void check_floating(const char* op, const char* name, const Tensor& t) {
  OOD_CHECK(t.scalar_type() == ScalarType::Float || t.scalar_type() == ScalarType::Double, op, ": ", name,
            " must be float32 or float64, got ", dtype_name(t.scalar_type()));
}

void check_like(const char* op, const char* name, const Tensor& t, const char* ref_name, const Tensor& ref) {
  OOD_CHECK(same_device(t, ref), op, ": ", name, " is on ", device_name(t), " but ", ref_name, " is on ",
            device_name(ref), "; all tensors must be on one device");
  OOD_CHECK(t.scalar_type() == ref.scalar_type(), op, ": ", name, " has dtype ", dtype_name(t.scalar_type()),
            " but ", ref_name, " has dtype ", dtype_name(ref.scalar_type()), "; all tensors must share one dtype");
}

namespace {

constexpr int64_t kSpan = int64_t{1} << 16;

// t itself when its elements fill one dense block in some dimension order (row-major, a
// transpose such as eigh's column-major eigenvectors, channels-last), else a contiguous copy: the
// scans below see every element once either way, and a 2048² basis is not copied on every call.
Tensor dense_block(const Tensor& t) {
  const auto sizes = t.sizes();
  const auto strides = t.strides();
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of the dimensions longer than 1
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] > 1) dims.emplace_back(strides[d], sizes[d]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t expected = 1;
  for (const auto& [stride, size] : dims) {
    if (stride != expected) return aten::contiguous(t);
    expected *= size;
  }
  return t;
}

// min and max over all elements (NaN propagates into both), as doubles. CPU tensors are scanned
// in place, in parallel only when large: a check on a small tensor never wakes the thread pool
// (which costs more than the check after a large parallel GEMM). Other devices reduce there.
std::pair<double, double> value_range(const Tensor& t) {
  if (!t.is_cpu()) {
    const Tensor lo = host_doubles(aten::amin(t)), hi = host_doubles(aten::amax(t));
    return {lo.const_data_ptr<double>()[0], hi.const_data_ptr<double>()[0]};
  }
  const Tensor c = dense_block(t);
  const int64_t n = c.numel(), spans = (n + kSpan - 1) / kSpan;
  std::vector<double> los(spans, INFINITY), his(spans, -INFINITY);
  std::atomic<bool> saw_nan{false};
  dispatch_floating(c.scalar_type(), "value_range", [&](auto zero) {
    using T = decltype(zero);
    const T* p = c.const_data_ptr<T>();
    torch::stable::parallel_for(0, spans, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        double l = INFINITY, h = -INFINITY;
        bool nan = false;
        for (int64_t i = k * kSpan; i < std::min(n, (k + 1) * kSpan); ++i) {
          const double v = static_cast<double>(p[i]);
          nan |= v != v;
          l = std::min(l, v);
          h = std::max(h, v);
        }
        los[k] = l;
        his[k] = h;
        if (nan) saw_nan = true;
      }
    });
  });
  if (saw_nan) return {std::nan(""), std::nan("")};
  return {*std::min_element(los.begin(), los.end()), *std::max_element(his.begin(), his.end())};
}

// Σ p[i]·0 over [begin, end) is NaN exactly when some p[i] is NaN or ±inf.
template <typename T>
bool span_finite(const T* p, int64_t begin, int64_t end) {
  T probe = 0;
#pragma omp simd reduction(+ : probe)  // vectorised under -fopenmp-simd
  for (int64_t i = begin; i < end; ++i) probe += p[i] * T(0);
  return probe == probe;
}

}  // namespace

bool all_finite(const Tensor& t) {
  if (t.numel() == 0) return true;
  if (!t.is_cpu()) {
    const auto [lo, hi] = value_range(t);
    return std::isfinite(lo) && std::isfinite(hi);
  }
  // One vectorised, memory-bound pass (span_finite).
  const Tensor c = dense_block(t);
  std::atomic<bool> finite{true};
  dispatch_floating(c.scalar_type(), "all_finite", [&](auto zero) {
    using T = decltype(zero);
    const T* p = c.const_data_ptr<T>();
    const int64_t n = c.numel(), spans = (n + kSpan - 1) / kSpan;
    torch::stable::parallel_for(0, spans, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        if (!span_finite(p, k * kSpan, std::min(n, (k + 1) * kSpan))) finite = false;
      }
    });
  });
  return finite;
}

double value_magnitude(const Tensor& t) {
  if (t.numel() == 0) return 0.0;
  const auto [lo, hi] = value_range(t);
  return std::max(std::abs(lo), std::abs(hi));
}

void check_finite(const char* op, const char* name, const Tensor& t) {
  OOD_CHECK(all_finite(t), op, ": ", name, " contains NaN or infinite values");
}

void check_positive(const char* op, const char* name, const Tensor& t, bool strict, const char* what) {
  if (t.numel() == 0) return;
  const double lo = value_range(t).first;
  OOD_CHECK(strict ? lo > 0 : lo >= 0, op, ": ", name, " must be ", what, " (smallest value ", lo, ")");
}

void check_nonempty(const char* op, const char* name, const Tensor& t, int64_t dim) {
  OOD_CHECK(t.size(dim) > 0, op, ": ", name, " is empty along dimension ", dim, " (shape ", shape_str(t),
            "); an empty batch has no scores");
}

Reduce parse_reduce(const char* op, const std::string& reduce) {
  if (reduce == "none") return Reduce::kNone;
  if (reduce == "max") return Reduce::kMax;
  if (reduce == "logsumexp") return Reduce::kLogSumExp;
  throw std::runtime_error(concat(op, ": reduce must be 'none', 'max' or 'logsumexp', got '", reduce, "'"));
}

}  // namespace ood_ext
