// Argument checks of multiscale_score_norms.

#include <string>

#include "score_norms_impl.h"

namespace ood_ext::score_norms {

void check_result(const Tensor& out) {
  // NaN / inf anywhere in scores, noisy or clean propagates into its row's norm, so checking
  // the small [N, L] result costs no extra pass over the inputs.
  OOD_CHECK(all_finite(out), kOp,
              ": scores, noisy or clean contain NaN or infinite values (or values whose squares overflow)");
}

Mode check_inputs(const Tensor& scores, const Tensor& sigmas, const std::string& mode,
                  const OptionalTensor& noisy, const OptionalTensor& clean) {
  OOD_CHECK(mode == "weighted" || mode == "residual", kOp, ": mode must be 'weighted' or 'residual', got '",
              mode, "'");
  OOD_CHECK(scores.dim() >= 2, kOp, ": scores must be [L, N, ...] with at least 2 dimensions, got shape ",
              shape_str(scores));
  check_floating(kOp, "scores", scores);
  for (int64_t d = 0; d < scores.dim(); ++d) check_nonempty(kOp, "scores", scores, d);
  check_rank(kOp, "sigmas", sigmas, 1);
  check_like(kOp, "sigmas", sigmas, "scores", scores);
  check_size(kOp, "sigmas", sigmas, 0, scores.size(0), "L, from scores [L, N, ...]");
  check_finite(kOp, "sigmas", sigmas);
  check_positive(kOp, "sigmas", sigmas, true, "positive");
  if (mode == "weighted") {
    OOD_CHECK(!noisy.has_value() && !clean.has_value(), kOp,
                ": mode='weighted' takes no noisy / clean inputs (did you mean mode='residual'?)");
    return Mode::kWeighted;
  }
  OOD_CHECK(noisy.has_value() && clean.has_value(), kOp, ": mode='residual' needs both noisy [L, N, ...] and "
              "clean [N, ...]");
  check_like(kOp, "noisy", *noisy, "scores", scores);
  OOD_CHECK(noisy->sizes().equals(scores.sizes()), kOp, ": noisy must have the shape of scores ", shape_str(scores),
              ", got ", shape_str(*noisy));
  check_like(kOp, "clean", *clean, "scores", scores);
  OOD_CHECK(clean->sizes().equals(scores.sizes().slice(1)), kOp, ": clean must be [N, ...] = ",
              shape_str(aten::select(scores, 0, 0)), ", got ", shape_str(*clean));
  return Mode::kResidual;
}

}  // namespace ood_ext::score_norms
