"""Kronecker-factored curvature of supported layers, fitted by streaming over a loader.

For each layer, from per-sample inputs a [N, T, Din] and output gradients g [N, T, Dout]:

* KFAC: A = E_n[Σ_t a aᵀ], G = E_n[(1/T) Σ_t g gᵀ] (Grosse & Martens' convolution factors),
  eigendecomposed in float64: F ≈ (Q_G ⊗ Q_A) diag(λ_G λ_Aᵀ) (Q_G ⊗ Q_A)ᵀ.
* EKFAC: the same bases with the eigenvalue correction S = E_n[(Q_Gᵀ ∇W_n Q_A)²] (George et al.).
* DIAG: no bases, F = E_n[∇W_n²] (the diagonal empirical Fisher).

Each gives a per-sample quadratic form q_n = Σ (Q_Gᵀ ∇W_n Q_A)² / (Λ + λ) through the fused op,
where Λ is λ_G λ_Aᵀ, S or F and λ the damping.
"""

from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

import torch
from torch import Tensor, nn

from ..ops import curvature_eigen_correction, curvature_quadratic_form
from .capture import LayerTerms, per_sample_terms

KINDS = ("ekfac", "kfac", "diag")


@dataclass
class LayerCurvature:
    """A fitted layer: bases (None for DIAG) and the eigenvalues Λ [Dout, Din] (before damping)."""

    kind: str
    eigenvalues: Tensor
    basis_a: Optional[Tensor] = None
    basis_g: Optional[Tensor] = None

    def weights(self, damping: float) -> Tensor:
        """1 / (Λ + λ): [Dout, Din]."""
        return 1.0 / (self.eigenvalues + damping)

    def quadratic_form(self, terms: LayerTerms, damping: float) -> Tensor:
        """q_n for a batch of per-sample terms: [B]."""
        cast = lambda t: None if t is None else t.to(terms.a.dtype)  # noqa: E731
        return curvature_quadratic_form(terms.a, terms.g, self.weights(damping).to(terms.a.dtype),
                                        cast(self.basis_a), cast(self.basis_g))

    def state(self) -> dict:
        return {"kind": self.kind, "eigenvalues": self.eigenvalues, "basis_a": self.basis_a, "basis_g": self.basis_g}


def _batches(loader: Iterable, limit: int):
    """Input batches from a loader (x or (x, ...)) until `limit` samples, the last one trimmed."""
    seen = 0
    for batch in loader:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        if seen >= limit:
            return
        x = x[: limit - seen]
        seen += len(x)
        yield x


def fit_curvature(model: nn.Module, loss_fn: Callable[[nn.Module, Tensor], Tensor], loader: Iterable,
                  layers: Sequence[nn.Module], kind: str = "ekfac", samples: int = 1000,
                  device: Optional[torch.device] = None) -> list[LayerCurvature]:
    """Fit one LayerCurvature per layer on (up to) `samples` inputs streamed from `loader`.

    KFAC and EKFAC read the data twice (factors, then the eigenvalue correction for EKFAC);
    DIAG once. Factors accumulate in float64. Returns them in the order of `layers`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    device = device or next(model.parameters()).device
    if kind == "diag":
        sums, count = _accumulate(model, loss_fn, loader, layers, samples, device,
                                  lambda t, acc: acc + curvature_eigen_correction(t.a, t.g).double())
        return [LayerCurvature("diag", (s / count)) for s in sums]

    def factors(t: LayerTerms, acc):
        a, g = t.a.double().flatten(0, 1), t.g.double().flatten(0, 1)
        positions = t.a.shape[1]
        return (acc[0] + a.T @ a, acc[1] + g.T @ g / positions)

    sums, count = _accumulate(model, loss_fn, loader, layers, samples, device, factors, pairs=True)
    fitted = []
    for a_sum, g_sum in sums:
        lam_a, q_a = torch.linalg.eigh(0.5 * (a_sum + a_sum.T) / count)
        lam_g, q_g = torch.linalg.eigh(0.5 * (g_sum + g_sum.T) / count)
        eigenvalues = (lam_g.clamp(min=0)[:, None] * lam_a.clamp(min=0)[None, :])
        fitted.append(LayerCurvature("kfac", eigenvalues, q_a, q_g))
    if kind == "kfac":
        return fitted

    bases = [(f.basis_a, f.basis_g) for f in fitted]

    def correction(t: LayerTerms, acc, index):
        q_a, q_g = bases[index]
        return acc + curvature_eigen_correction(t.a, t.g, q_a.to(t.a.dtype), q_g.to(t.a.dtype)).double()

    sums, count = _accumulate(model, loss_fn, loader, layers, samples, device, correction, indexed=True)
    return [LayerCurvature("ekfac", s / count, f.basis_a, f.basis_g) for s, f in zip(sums, fitted)]


def _accumulate(model, loss_fn, loader, layers, samples, device, update, pairs=False, indexed=False):
    sums = [(0.0, 0.0) if pairs else 0.0 for _ in layers]
    count = 0
    for x in _batches(loader, samples):
        _, terms = per_sample_terms(model, loss_fn, x.to(device), layers)
        for i, t in enumerate(terms):
            sums[i] = update(t, sums[i], i) if indexed else update(t, sums[i])
        count += len(x)
    if count == 0:
        raise ValueError("the loader yielded no samples to fit the curvature on")
    return sums, count
