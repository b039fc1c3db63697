// Device-agnostic driver of multiscale_score_norms: checks, then one Backend pass
//   Backend::norms<T>(scores, noisy, clean, sigmas, L, N, P, mode, out)   out [N, L]
// (noisy / clean are null in weighted mode). score_norms_cpu.cpp and score_norms_cuda.cpp
// instantiate it with their kernels.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/DeviceGuard.h>
#include <c10/util/Optional.h>

#include <string_view>

#include "../../common/checks.h"
#include "score_norms_math.h"

namespace ood_ext::score_norms {

constexpr const char* kOp = "multiscale_score_norms";

// Checks the arguments; returns the parsed mode.
Mode check_inputs(const at::Tensor& scores, const at::Tensor& sigmas, c10::string_view mode,
                  const c10::optional<at::Tensor>& noisy, const c10::optional<at::Tensor>& clean);
// Rejects a result made non-finite by NaN / inf inputs.
void check_result(const at::Tensor& out);

template <typename Backend>
at::Tensor norms_op(const at::Tensor& scores_in, const at::Tensor& sigmas_in, c10::string_view mode_name,
                    const c10::optional<at::Tensor>& noisy_in, const c10::optional<at::Tensor>& clean_in) {
  const Mode mode = check_inputs(scores_in, sigmas_in, mode_name, noisy_in, clean_in);
  const c10::DeviceGuard device_guard(scores_in.device());
  const int64_t L = scores_in.size(0), N = scores_in.size(1), P = scores_in.numel() / (L * N);
  const at::Tensor scores = scores_in.contiguous();
  const at::Tensor sigmas = sigmas_in.contiguous();
  const bool residual = mode == Mode::kResidual;
  const at::Tensor noisy = residual ? noisy_in->contiguous() : at::Tensor();
  const at::Tensor clean = residual ? clean_in->contiguous() : at::Tensor();
  at::Tensor out = at::empty({N, L}, scores.options());
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), kOp, [&] {
    Backend::template norms<scalar_t>(scores.const_data_ptr<scalar_t>(),
                                      residual ? noisy.const_data_ptr<scalar_t>() : nullptr,
                                      residual ? clean.const_data_ptr<scalar_t>() : nullptr,
                                      sigmas.const_data_ptr<scalar_t>(), L, N, P, mode,
                                      out.mutable_data_ptr<scalar_t>());
  });
  check_result(out);
  return out;
}

}  // namespace ood_ext::score_norms
