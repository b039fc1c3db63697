#include "class_constants.h"

namespace ood_ext {

Tensor class_constants(const Tensor& log_sum, double scale, double offset, const OptionalTensor& log_weights,
                       const Tensor& x) {
  const Tensor sums = host_doubles(log_sum);
  const Tensor weights = log_weights.has_value() ? host_doubles(*log_weights) : Tensor();
  Tensor host = host_empty({sums.numel()});
  double* c = host.mutable_data_ptr<double>();
  const double* s = sums.const_data_ptr<double>();
  const double* w = log_weights.has_value() ? weights.const_data_ptr<double>() : nullptr;
  for (int64_t i = 0; i < sums.numel(); ++i) c[i] = scale * (s[i] + offset) + (w ? w[i] : 0.0);
  return aten::to_device_of(host, x);
}

}  // namespace ood_ext
