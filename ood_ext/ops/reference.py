"""The maths of every fused op in plain PyTorch, computed in float64.

Tests compare the ops against these; benchmarks use them (in the input dtype) as the plain
PyTorch baseline. They materialise every intermediate and favour clarity over speed.
"""

import math
from typing import Optional

import torch
from torch import Tensor


def _reduce(logp: Tensor, reduce: str):
    if reduce == "none":
        return logp
    if reduce == "max":
        return logp.max(dim=1)
    if reduce == "logsumexp":
        return logp.logsumexp(dim=1)
    raise ValueError(f"unknown reduce {reduce!r}")


def gaussian_log_prob(
    x: Tensor, mean: Tensor, prec_chol: Tensor, log_weights: Optional[Tensor] = None, reduce: str = "none"
):
    """log N(x; μ_c, (U_c U_cᵀ)⁻¹) + log w_c as [N, C], reduced like the op. Shapes as the op."""
    x, mean, prec_chol = x.double(), mean.double(), prec_chol.double()
    diff = x[None, :, :] - mean[:, None, :]  # [C, N, D]
    y = diff @ prec_chol  # [C, N, D]
    log_det = torch.log(torch.diagonal(prec_chol, dim1=-2, dim2=-1)).sum(-1)  # [C]
    logp = (log_det[:, None] - 0.5 * x.shape[1] * math.log(2 * math.pi) - 0.5 * (y**2).sum(-1)).T
    if log_weights is not None:
        logp = logp + log_weights.double()
    return _reduce(logp, reduce)


def diag_gaussian_log_prob(
    x: Tensor, mean: Tensor, var: Tensor, log_weights: Optional[Tensor] = None, reduce: str = "none"
):
    """−½ Σ_d [log(2π v_cd) + (x_d − μ_cd)² / v_cd] + log w_c as [N, C], reduced like the op."""
    x, mean, var = x.double(), mean.double(), var.double()
    diff = x[:, None, :] - mean[None, :, :]  # [N, C, D]
    logp = -0.5 * (torch.log(2 * math.pi * var)[None] + diff**2 / var[None]).sum(-1)
    if log_weights is not None:
        logp = logp + log_weights.double()
    return _reduce(logp, reduce)


def per_sample_gradients(a: Tensor, g: Tensor) -> Tensor:
    """M_n = Σ_t g[n,t] a[n,t]ᵀ: [N, Dout, Din] from a [N, T, Din], g [N, T, Dout]."""
    return torch.einsum("nto,nti->noi", g, a)


def rotated_gradients(
    a: Tensor, g: Tensor, basis_a: Optional[Tensor] = None, basis_g: Optional[Tensor] = None
) -> Tensor:
    """Q_Gᵀ M_n Q_A: [N, Dout, Din] (identity where a basis is None)."""
    m = per_sample_gradients(a, g)
    if basis_a is not None:
        m = m @ basis_a
    if basis_g is not None:
        m = basis_g.T @ m
    return m


def curvature_quadratic_form(
    a: Tensor, g: Tensor, weight: Tensor, basis_a: Optional[Tensor] = None, basis_g: Optional[Tensor] = None
) -> Tensor:
    """q[n] = Σ_ij (Q_Gᵀ M_n Q_A)²_ij · weight_ij: [N]."""
    cast = [t.double() if t is not None else None for t in (a, g, weight, basis_a, basis_g)]
    a, g, weight, basis_a, basis_g = cast
    return (rotated_gradients(a, g, basis_a, basis_g) ** 2 * weight).sum((1, 2))


def curvature_eigen_correction(
    a: Tensor, g: Tensor, basis_a: Optional[Tensor] = None, basis_g: Optional[Tensor] = None
) -> Tensor:
    """S = Σ_n (Q_Gᵀ M_n Q_A)²: [Dout, Din]."""
    cast = [t.double() if t is not None else None for t in (a, g, basis_a, basis_g)]
    return (rotated_gradients(*cast) ** 2).sum(0)


def multiscale_score_norms(
    scores: Tensor,
    sigmas: Tensor,
    mode: str = "weighted",
    noisy: Optional[Tensor] = None,
    clean: Optional[Tensor] = None,
) -> Tensor:
    """[N, L] norms ‖σ_i s_i‖ (weighted) or ‖s_i + (x̃_i − x)/σ_i²‖ (residual)."""
    scores, sigmas = scores.double(), sigmas.double()
    shape = (-1,) + (1,) * (scores.dim() - 1)
    if mode == "weighted":
        rows = sigmas.view(shape) * scores
    elif mode == "residual":
        rows = scores + (noisy.double() - clean.double()[None]) / sigmas.view(shape) ** 2
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return rows.flatten(2).norm(dim=2).T
