// The tensor vocabulary of the op glue, on the LibTorch stable ABI only (torch/csrc/stable and
// torch/headeronly, built with TORCH_TARGET_VERSION = 2.13): one build of ood_ext._C runs under
// every torch ≥ 2.13.
//
// What the stable surface lacks is solved here:
//   - ATen ops without a stable wrapper are called by name through the stable dispatcher shim
//     (`aten_call`); ops taking a Scalar cannot be called that way (the shim does not convert
//     Scalars), so additions use `subtract(a, b, -1)` and scalar arithmetic on small per-class
//     vectors runs on the host (`host_doubles`).
//   - Errors: OOD_CHECK throws std::runtime_error (Python sees RuntimeError) with the message
//     alone; dtype and device names are spelt as Python spells them.
//   - Floating dispatch: `dispatch_floating(dtype, op, fn)` calls fn(T{}) for float and double.
#pragma once

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>

#include <array>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ood_ext {

using Tensor = torch::stable::Tensor;
using OptionalTensor = std::optional<torch::stable::Tensor>;
using ScalarType = torch::headeronly::ScalarType;
using Shape = std::vector<int64_t>;

// Concatenates the arguments with operator<<.
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream s;
  ((s << args), ...);
  return s.str();
}

}  // namespace ood_ext

// Throws std::runtime_error(concat(message...)) unless cond holds.
#define OOD_CHECK(cond, ...)                                               \
  do {                                                                     \
    if (!(cond)) throw std::runtime_error(::ood_ext::concat(__VA_ARGS__)); \
  } while (0)

namespace ood_ext {

// Calls aten::name.overload through the stable dispatcher shim; returns its first output.
template <typename... Args>
Tensor aten_call(const char* name, const char* overload, const Args&... args) {
  std::array<StableIValue, sizeof...(Args)> stack{torch::stable::detail::from(args)...};
  STABLE_TORCH_ERROR_CODE_CHECK(torch_call_dispatcher(name, overload, stack.data(), TORCH_ABI_VERSION));
  return torch::stable::detail::to<Tensor>(stack[0]);
}

// ---- shapes, dtypes, devices -------------------------------------------------------------
inline Shape shape_of(const Tensor& t) {
  const auto sizes = t.sizes();
  return Shape(sizes.begin(), sizes.end());
}
std::string shape_str(const Tensor& t);
std::string dtype_name(ScalarType dtype);
std::string device_name(const Tensor& t);
bool same_device(const Tensor& a, const Tensor& b);

// ---- creation (dtype and device of `like` unless given) ----------------------------------
inline Tensor empty_like_shape(const Tensor& like, const Shape& shape, std::optional<ScalarType> dtype = {}) {
  return torch::stable::new_empty(like, shape, dtype);
}
inline Tensor zeros_like_shape(const Tensor& like, const Shape& shape, std::optional<ScalarType> dtype = {}) {
  return torch::stable::new_zeros(like, shape, dtype);
}

// ---- tensor ops, always called qualified (aten::mm(...)): a later torch::stable may add an op
// of the same name, which argument-dependent lookup would then make ambiguous.
namespace aten {

// Views: narrow, select and view of a contiguous tensor are built directly on t's storage
// (aoti_torch__reinterpret_tensor, ~0.1 µs) rather than through the dispatcher (~1 µs): the
// drivers take several per chunk. strided_view: the view of t's storage with these sizes and
// strides, starting `offset` elements after t's first element.
Tensor strided_view(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t offset);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor view(const Tensor& t, const Shape& shape);
using torch::stable::contiguous;
using torch::stable::reshape;
using torch::stable::transpose;
inline Tensor t(const Tensor& m) { return torch::stable::transpose(m, 0, 1); }
inline Tensor permute(const Tensor& t, const Shape& dims) { return aten_call("aten::permute", "", t, dims); }
inline Tensor diagonal(const Tensor& t, int64_t offset, int64_t d0, int64_t d1) {
  return aten_call("aten::diagonal", "", t, offset, d0, d1);
}

// ---- conversion ---------------------------------------------------------------------------
inline Tensor to_dtype(const Tensor& t, ScalarType dtype) { return torch::stable::to(t, dtype); }
inline Tensor to_cpu(const Tensor& t) {
  return torch::stable::to(t, torch::stable::Device(torch::headeronly::DeviceType::CPU));
}
inline Tensor to_device_of(const Tensor& t, const Tensor& like) { return torch::stable::to(t, like.device()); }

// ---- arithmetic (no Scalar arguments: see above) -----------------------------------------
inline Tensor add(const Tensor& a, const Tensor& b) { return torch::stable::subtract(a, b, -1.0); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return torch::stable::subtract(a, b); }
inline void neg_(const Tensor& t) { aten_call("aten::neg_", "", t); }
inline Tensor log(const Tensor& t) { return aten_call("aten::log", "", t); }
inline Tensor reciprocal(const Tensor& t) { return aten_call("aten::reciprocal", "", t); }
inline Tensor triu(const Tensor& t, int64_t diag) { return aten_call("aten::triu", "", t, diag); }
inline Tensor tril(const Tensor& t, int64_t diag) { return aten_call("aten::tril", "", t, diag); }
inline Tensor sum_dim(const Tensor& t, int64_t dim, std::optional<ScalarType> dtype = {}) {
  return torch::stable::sum(t, Shape{dim}, false, dtype);
}
inline Tensor mean_dim(const Tensor& t, int64_t dim) {
  return aten_call("aten::mean", "dim", t, std::optional<Shape>(Shape{dim}), false, std::optional<ScalarType>{});
}
inline Tensor amin(const Tensor& t) { return aten_call("aten::amin", "", t, Shape{}, false); }
inline Tensor amax(const Tensor& t) { return torch::stable::amax(t, Shape{}, false); }

// ---- products -----------------------------------------------------------------------------
inline Tensor mm(const Tensor& a, const Tensor& b) { return aten_call("aten::mm", "", a, b); }
inline Tensor bmm(const Tensor& a, const Tensor& b) { return aten_call("aten::bmm", "", a, b); }
using torch::stable::matmul;
// out = a·b written into the existing out (no allocation).
inline void mm_out(const Tensor& out, const Tensor& a, const Tensor& b) { aten_call("aten::mm", "out", a, b, out); }
inline void bmm_out(const Tensor& out, const Tensor& a, const Tensor& b) { aten_call("aten::bmm", "out", a, b, out); }

}  // namespace aten

// ---- devices -----------------------------------------------------------------------------
// Makes t's device current for its lifetime when t is on an accelerator (a no-op on the CPU).
class DeviceGuardFor {
 public:
  explicit DeviceGuardFor(const Tensor& t) {
    if (!t.is_cpu()) guard_.emplace(t.get_device_index());
  }

 private:
  std::optional<torch::stable::accelerator::DeviceGuard> guard_;
};

// ---- host side ----------------------------------------------------------------------------
// t as a contiguous float64 CPU tensor (t itself when it already is one): small per-class vectors.
inline Tensor host_doubles(const Tensor& t) {
  return aten::contiguous(aten::to_cpu(aten::to_dtype(t, ScalarType::Double)));
}
// A new CPU float64 tensor of `shape`.
inline Tensor host_empty(const Shape& shape) {
  return torch::stable::empty(shape, ScalarType::Double, std::nullopt,
                              torch::stable::Device(torch::headeronly::DeviceType::CPU));
}

// ---- dtype dispatch -----------------------------------------------------------------------
// fn(T{}) with T = float or double for float32 / float64 tensors; other dtypes raise.
template <typename Fn>
decltype(auto) dispatch_floating(ScalarType dtype, const char* op, const Fn& fn) {
  switch (dtype) {
    case ScalarType::Float:
      return fn(float{});
    case ScalarType::Double:
      return fn(double{});
    default:
      throw std::runtime_error(concat(op, ": expected float32 or float64, got ", dtype_name(dtype)));
  }
}

}  // namespace ood_ext
