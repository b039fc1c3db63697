// Device-agnostic driver of multiscale_score_norms: checks, then one Backend pass
//   Backend::norms<T>(scores, noisy, clean, sigmas, L, N, P, mode, out)   out [N, L]
// (noisy / clean are null in weighted mode). score_norms_cpu.cpp and score_norms_cuda.cpp
// instantiate it with their kernels.
#pragma once

#include <string>

#include "../../common/checks.h"
#include "score_norms_math.h"

namespace ood_ext::score_norms {

constexpr const char* kOp = "multiscale_score_norms";

// Checks the arguments; returns the parsed mode.
Mode check_inputs(const Tensor& scores, const Tensor& sigmas, const std::string& mode, const OptionalTensor& noisy,
                  const OptionalTensor& clean);
// Rejects a result made non-finite by NaN / inf inputs.
void check_result(const Tensor& out);

template <typename Backend>
Tensor norms_op(Tensor scores_in, Tensor sigmas_in, std::string mode_name, OptionalTensor noisy_in,
                OptionalTensor clean_in) {
  const Mode mode = check_inputs(scores_in, sigmas_in, mode_name, noisy_in, clean_in);
  const DeviceGuardFor device_guard(scores_in);
  const int64_t L = scores_in.size(0), N = scores_in.size(1), P = scores_in.numel() / (L * N);
  const Tensor scores = aten::contiguous(scores_in);
  const Tensor sigmas = aten::contiguous(sigmas_in);
  const bool residual = mode == Mode::kResidual;
  const Tensor noisy = residual ? aten::contiguous(*noisy_in) : scores;
  const Tensor clean = residual ? aten::contiguous(*clean_in) : scores;
  Tensor out = empty_like_shape(scores, {N, L});
  dispatch_floating(scores.scalar_type(), kOp, [&](auto zero) {
    using T = decltype(zero);
    Backend::template norms<T>(scores.const_data_ptr<T>(), residual ? noisy.const_data_ptr<T>() : nullptr,
                               residual ? clean.const_data_ptr<T>() : nullptr, sigmas.const_data_ptr<T>(), L, N, P,
                               mode, out.mutable_data_ptr<T>());
  });
  check_result(out);
  return out;
}

}  // namespace ood_ext::score_norms
