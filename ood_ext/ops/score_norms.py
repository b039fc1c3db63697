"""Multi-scale norms of a noise-conditional score network's outputs (MSMA / RotNCSN)."""

from typing import Optional

import torch
from torch import Tensor

from . import reference
from ._autograd import reference_backward
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
        Differentiable with respect to scores, sigmas, noisy and clean (the backward runs
        autograd through the float64 reference, so second derivatives are exact too).
    """
    return torch.ops.ood_ext.multiscale_score_norms(scores, sigmas, mode, noisy, clean)


@torch.library.register_fake("ood_ext::multiscale_score_norms")
def _(scores, sigmas, mode="weighted", noisy=None, clean=None):
    check_same_device_and_dtype("multiscale_score_norms", scores=scores, sigmas=sigmas, noisy=noisy, clean=clean)
    torch._check(scores.dim() >= 2, lambda: "scores must be [L, N, ...]")
    return scores.new_empty((scores.shape[1], scores.shape[0]))


def _setup_context(ctx, inputs, output):
    scores, sigmas, mode, noisy, clean = inputs
    ctx.mode = mode
    ctx.save_for_backward(scores, sigmas, noisy, clean)


def _backward(ctx, grad):
    scores, sigmas, noisy, clean = ctx.saved_tensors
    passed = len(ctx.needs_input_grad)  # trailing arguments left at their defaults are not counted
    needs = tuple(ctx.needs_input_grad) + (False,) * (5 - passed)
    g_scores, g_sigmas, g_noisy, g_clean = reference_backward(
        lambda s, sig, xt, x: reference.multiscale_score_norms(s, sig, ctx.mode, xt, x), grad,
        (scores, sigmas, noisy, clean), (needs[0], needs[1], needs[3], needs[4]))
    return (g_scores, g_sigmas, None, g_noisy, g_clean)[:passed]


torch.library.register_autograd("ood_ext::multiscale_score_norms", _backward, setup_context=_setup_context)
