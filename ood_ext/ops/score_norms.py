"""Multi-scale norms of a noise-conditional score network's outputs (MSMA / RotNCSN)."""

from typing import Optional

import torch
from torch import Tensor

from ._checks import check_same_device_and_dtype

MODES = ("weighted", "residual")


def multiscale_score_norms(
    scores: Tensor,
    sigmas: Tensor,
    mode: str = "weighted",
    noisy: Optional[Tensor] = None,
    clean: Optional[Tensor] = None,
) -> Tensor:
    """Per-sample, per-level score norms in one pass over the scores.

    Args:
        scores: [L, N, ...] outputs s(·, σ_i) of the score network at each noise level.
        sigmas: [L] positive noise levels.
        mode: "weighted" → ‖σ_i · s_i‖₂ (MSMA normality vector on clean inputs);
            "residual" → ‖s_i + (x̃_i − x) / σ_i²‖₂ (denoising residual, f_rec), which needs
            ``noisy`` [L, N, ...] = x̃_i and ``clean`` [N, ...] = x.
        noisy, clean: see ``mode``.

    Returns:
        [N, L] in the scores' dtype; squares are summed in blocks and the blocks in float64.
    """
    return torch.ops.ood_ext.multiscale_score_norms(scores, sigmas, mode, noisy, clean)


@torch.library.register_fake("ood_ext::multiscale_score_norms")
def _(scores, sigmas, mode="weighted", noisy=None, clean=None):
    check_same_device_and_dtype("multiscale_score_norms", scores=scores, sigmas=sigmas, noisy=noisy, clean=clean)
    torch._check(scores.dim() >= 2, lambda: "scores must be [L, N, ...]")
    return scores.new_empty((scores.shape[1], scores.shape[0]))
