#include "tensor_ops.h"

namespace ood_ext::aten {
namespace {

int64_t wrap_dim(const Tensor& t, int64_t dim) {
  const int64_t rank = t.dim();
  OOD_CHECK(dim >= -rank && dim < rank, "dimension ", dim, " out of range for a tensor of shape ", shape_str(t));
  return dim < 0 ? dim + rank : dim;
}

}  // namespace

Tensor strided_view(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t offset) {
  // The shim's offset is an increment on t's own storage offset.
  AtenTensorHandle view = nullptr;
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch__reinterpret_tensor(t.get(), static_cast<int64_t>(sizes.size()),
                                                               sizes.data(), strides.data(),
                                                               offset, &view));
  return Tensor(view);
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  dim = wrap_dim(t, dim);
  OOD_CHECK(start >= 0 && length >= 0 && start + length <= t.size(dim), "narrow: [", start, ", ", start + length,
            ") out of range for dimension ", dim, " of shape ", shape_str(t));
  Shape sizes = shape_of(t);
  sizes[dim] = length;
  const auto strides = t.strides();
  return strided_view(t, sizes, Shape(strides.begin(), strides.end()), start * t.stride(dim));
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  dim = wrap_dim(t, dim);
  OOD_CHECK(index >= 0 && index < t.size(dim), "select: index ", index, " out of range for dimension ", dim,
            " of shape ", shape_str(t));
  Shape sizes = shape_of(t);
  const auto all_strides = t.strides();
  Shape strides(all_strides.begin(), all_strides.end());
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  return strided_view(t, sizes, strides, index * t.stride(dim));
}

Tensor view(const Tensor& t, const Shape& shape) {
  if (!t.is_contiguous()) return torch::stable::view(t, shape);
  Shape sizes = shape;
  int64_t known = 1, inferred = -1;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == -1) {
      inferred = static_cast<int64_t>(d);
    } else {
      known *= sizes[d];
    }
  }
  if (inferred >= 0) sizes[inferred] = known == 0 ? 0 : t.numel() / known;
  int64_t count = 1;
  for (const int64_t size : sizes) count *= size;
  OOD_CHECK(count == t.numel(), "view: shape of ", count, " elements for a tensor of shape ", shape_str(t));
  Shape strides(sizes.size(), 1);
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 2; d >= 0; --d) strides[d] = strides[d + 1] * sizes[d + 1];
  return strided_view(t, sizes, strides, 0);
}

}  // namespace ood_ext::aten
