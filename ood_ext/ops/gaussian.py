"""Batched Gaussian log-densities: full covariance per class, and diagonal.

Both ops score x [N, D] under C Gaussians and reduce over classes:

* ``reduce="none"``      → Tensor [N, C] of log N(x_n; μ_c, Σ_c) + log w_c
* ``reduce="max"``       → ``MaxResult(values [N], indices [N] int64)`` over classes
* ``reduce="logsumexp"`` → Tensor [N]; with log mixture weights this is a GMM log-likelihood

They are fused (no [C, N, D] tensor is ever formed), accumulate in float64, accept float32 and
float64 on CPU and CUDA, and are differentiable with respect to x and the means (and the
log-weights; the diagonal op also with respect to the variances). First derivatives come from
fused backward kernels; when a second derivative is asked for (create_graph=True), the backward
runs autograd through the float64 reference maths instead, so higher derivatives are exact (at
the reference's memory cost, [N, C, D]).
"""

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from . import reference
from ._autograd import reference_backward, refuse_gradients
from ._checks import check_same_device_and_dtype

REDUCTIONS = ("none", "max", "logsumexp")


class MaxResult(NamedTuple):
    """Best class per sample: ``values`` [N] (log-density), ``indices`` [N] (int64 class)."""

    values: Tensor
    indices: Tensor


def _wrap(out: Tensor, argmax: Tensor, reduce: str):
    return MaxResult(out, argmax) if reduce == "max" else out


def gaussian_log_prob(
    x: Tensor,
    mean: Tensor,
    prec_chol: Tensor,
    log_weights: Optional[Tensor] = None,
    reduce: str = "none",
):
    """Full-covariance Gaussian log-densities of each row of x under each class.

    Args:
        x: [N, D] samples.
        mean: [C, D] class means.
        prec_chol: [C, D, D] upper-triangular factors U_c of the class precisions,
            Σ_c⁻¹ = U_c U_cᵀ, with a positive diagonal. This is exactly scikit-learn's
            ``GaussianMixture.precisions_cholesky_`` (covariance_type="full"); from a
            covariance use :func:`ood_ext.ops.precision_cholesky`.
        log_weights: optional [C] log mixture weights added per class.
        reduce: "none" | "max" | "logsumexp" (see the module docstring).

    Returns:
        [N, C], ``MaxResult`` of two [N] tensors, or [N], in x's dtype.
        log N(x; μ, Σ) = Σ_j log U_jj − ½ D log 2π − ½ ‖(x − μ) U‖².
    """
    out, argmax = torch.ops.ood_ext.gaussian_log_prob(x, mean, prec_chol, log_weights, reduce)
    return _wrap(out, argmax, reduce)


def diag_gaussian_log_prob(
    x: Tensor,
    mean: Tensor,
    var: Tensor,
    log_weights: Optional[Tensor] = None,
    reduce: str = "none",
):
    """Diagonal-covariance Gaussian log-densities of each row of x under each class.

    Args:
        x: [N, D] samples.
        mean: [C, D] class means.
        var: [C, D] positive per-dimension variances.
        log_weights: optional [C] log mixture weights added per class.
        reduce: "none" | "max" | "logsumexp" (see the module docstring).

    Returns:
        [N, C], ``MaxResult`` of two [N] tensors, or [N], in x's dtype.
        log N(x; μ, diag(v)) = −½ Σ_d [log(2π v_d) + (x_d − μ_d)² / v_d].
    """
    out, argmax = torch.ops.ood_ext.diag_gaussian_log_prob(x, mean, var, log_weights, reduce)
    return _wrap(out, argmax, reduce)


def precision_cholesky(covariance: Tensor) -> Tensor:
    """The ``prec_chol`` argument of :func:`gaussian_log_prob` from covariances.

    Args:
        covariance: [..., D, D] symmetric positive-definite matrices.

    Returns:
        [..., D, D] upper-triangular U with U Uᵀ = covariance⁻¹ (scikit-learn's convention),
        computed through the Cholesky factor L of the covariance as U = L⁻ᵀ; raises ValueError
        if a covariance is not symmetric (beyond round-off, √eps relative to its diagonal) or not
        positive definite.
    """
    asymmetry = (covariance - covariance.transpose(-2, -1)).abs().amax() if covariance.numel() else 0.0
    scale = covariance.diagonal(dim1=-2, dim2=-1).abs().amax() if covariance.numel() else 0.0
    if asymmetry > torch.finfo(covariance.dtype).eps ** 0.5 * scale:
        raise ValueError(f"precision_cholesky: covariance is not symmetric (largest |Σ − Σᵀ| = {float(asymmetry):.3g} "
                         f"against diagonal entries up to {float(scale):.3g}); symmetrise it, e.g. (Σ + Σᵀ) / 2")
    chol, info = torch.linalg.cholesky_ex(covariance)
    if bool((info != 0).any()):
        raise ValueError(
            "precision_cholesky: covariance is not positive definite "
            f"(Cholesky failed for {int((info != 0).sum())} matrices); add a ridge to the diagonal"
        )
    eye = torch.eye(covariance.shape[-1], dtype=covariance.dtype, device=covariance.device)
    eye = eye.expand_as(covariance)
    return torch.linalg.solve_triangular(chol, eye, upper=False).transpose(-2, -1)


# ----------------------------------------------------------------------------------------------
# Fake kernels (shape propagation for torch.compile / FakeTensor / meta) and autograd.


def _fake_density(op: str, x: Tensor, mean: Tensor, reduce: str, **others: Optional[Tensor]):
    check_same_device_and_dtype(op, x=x, mean=mean, **others)
    torch._check(reduce in REDUCTIONS, lambda: f"{op}: reduce must be one of {REDUCTIONS}, got {reduce!r}")
    torch._check(x.dim() == 2 and mean.dim() == 2, lambda: f"{op}: x and mean must be 2-D")
    n, c = x.shape[0], mean.shape[0]
    out = x.new_empty((n, c) if reduce == "none" else (n,))
    argmax = x.new_empty((n if reduce == "max" else 0,), dtype=torch.long)
    return out, argmax


@torch.library.register_fake("ood_ext::gaussian_log_prob")
def _(x, mean, prec_chol, log_weights=None, reduce="none"):
    return _fake_density("gaussian_log_prob", x, mean, reduce, prec_chol=prec_chol, log_weights=log_weights)


@torch.library.register_fake("ood_ext::gaussian_log_prob_backward")
def _(grad, x, mean, prec_chol, log_weights, reduce, result, argmax):
    return torch.empty_like(x), torch.empty_like(mean), mean.new_empty(mean.shape[:1])


@torch.library.register_fake("ood_ext::diag_gaussian_log_prob")
def _(x, mean, var, log_weights=None, reduce="none"):
    return _fake_density("diag_gaussian_log_prob", x, mean, reduce, var=var, log_weights=log_weights)


@torch.library.register_fake("ood_ext::diag_gaussian_log_prob_backward")
def _(grad, x, mean, var, log_weights, reduce, result, argmax):
    return torch.empty_like(x), torch.empty_like(mean), torch.empty_like(var), mean.new_empty(mean.shape[:1])


def _setup_context(ctx, inputs, output):
    x, mean, param, log_weights, reduce = inputs
    out, argmax = output
    ctx.save_for_backward(x, mean, param, log_weights, out, argmax)
    ctx.reduce = reduce


def _needs(ctx) -> tuple:
    """needs_input_grad for (x, mean, param, log_weights): torch leaves out trailing arguments
    passed at their defaults."""
    return (tuple(ctx.needs_input_grad) + (False,) * 4)[:4]


def _gaussian_backward(ctx, grad_out, _grad_argmax):
    x, mean, prec_chol, log_weights, out, argmax = ctx.saved_tensors
    if _needs(ctx)[2]:
        raise RuntimeError("gaussian_log_prob is differentiable with respect to x, mean and log_weights, not prec_chol")
    if torch.is_grad_enabled():  # create_graph=True: the gradient must be differentiable itself
        return (*reference_backward(reference.gaussian_log_prob, grad_out, (x, mean, prec_chol, log_weights),
                                    _needs(ctx), ctx.reduce), None)
    grad_x, grad_mean, grad_lw = torch.ops.ood_ext.gaussian_log_prob_backward(
        grad_out, x, mean, prec_chol, log_weights, ctx.reduce, out, argmax
    )
    return grad_x, grad_mean, None, grad_lw if log_weights is not None else None, None


def _diag_backward(ctx, grad_out, _grad_argmax):
    x, mean, var, log_weights, out, argmax = ctx.saved_tensors
    if torch.is_grad_enabled():  # create_graph=True: the gradient must be differentiable itself
        return (*reference_backward(reference.diag_gaussian_log_prob, grad_out, (x, mean, var, log_weights),
                                    _needs(ctx), ctx.reduce), None)
    grad_x, grad_mean, grad_var, grad_lw = torch.ops.ood_ext.diag_gaussian_log_prob_backward(
        grad_out, x, mean, var, log_weights, ctx.reduce, out, argmax
    )
    return grad_x, grad_mean, grad_var, grad_lw if log_weights is not None else None, None


torch.library.register_autograd("ood_ext::gaussian_log_prob", _gaussian_backward, setup_context=_setup_context)
torch.library.register_autograd("ood_ext::diag_gaussian_log_prob", _diag_backward, setup_context=_setup_context)
for _op in ("gaussian_log_prob_backward", "diag_gaussian_log_prob_backward"):
    refuse_gradients(_op, f"differentiate {_op.removesuffix('_backward')} itself (with create_graph=True for "
                          "second derivatives)")
