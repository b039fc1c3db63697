"""Kronecker-factored curvature of supported layers, fitted by streaming over ID inputs.

One strategy object per kind of Fisher approximation (docs/methods.md, "ROSE"). For each layer,
from per-sample inputs a [N, T, Din] and output gradients g [N, T, Dout]:

* KFAC: A = E_n[Σ_t a aᵀ], G = E_n[(1/T) Σ_t g gᵀ] (Grosse & Martens' convolution factors),
  eigendecomposed in float64: F ≈ (Q_G ⊗ Q_A) diag(λ_G λ_Aᵀ) (Q_G ⊗ Q_A)ᵀ.
* EKFAC: the KFAC bases with the eigenvalue correction S = E_n[(Q_Gᵀ ∇W_n Q_A)²] (George et al.);
  two passes over the terms, one over the model when the terms fit in memory.
* DIAG: no bases, F = E_n[∇W_n²] (the diagonal empirical Fisher).

Each gives a per-sample quadratic form q_n = Σ (Q_Gᵀ ∇W_n Q_A)² / (Λ + λ) through the fused op,
where Λ is λ_G λ_Aᵀ, S or F and λ the damping. A strategy only says which per-layer sums it
needs; `TermSums` streams the data and adds them up (in float64) — in a distributed run over
every rank's batches, all-reduced (ood_ext.distributed), with rank 0's eigenbases broadcast.
"""

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

import torch
from torch import Tensor, nn

from .. import distributed
from ..data.batches import inputs_up_to
from ..ops import curvature_eigen_correction, curvature_quadratic_form
from .capture import LayerTerms, per_sample_terms


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


class TermSums:
    """Per-layer sums of a statistic of the per-sample terms over a fixed set of input batches.

    The first pass keeps the captured terms in memory while they fit in `cache_bytes`; later
    passes (EKFAC's correction) then reuse them instead of running the model again.

    Args:
        model, loss_fn: the model and its per-sample loss (model, x [B, ...]) -> [B].
        batches: the input batches (read once per call of `sum`); in a distributed run, this
            rank's share (at least one sample on every rank).
        layers: the layers whose terms are captured.
        device: where the batches are moved before the forward pass.
        cache_bytes: memory the captured terms may take to be reused (0: recompute every pass).
    """

    def __init__(self, model: nn.Module, loss_fn: Callable[[nn.Module, Tensor], Tensor], batches: Sequence[Tensor],
                 layers: Sequence[nn.Module], device: torch.device, cache_bytes: int = 1 << 30):
        self.model, self.loss_fn, self.batches, self.layers, self.device = model, loss_fn, batches, layers, device
        local = sum(len(x) for x in batches)
        self.count = distributed.total_count(local)
        if self.count == 0:
            raise ValueError("the loader yielded no samples to fit the curvature on")
        if local == 0:
            raise ValueError(f"rank {distributed.rank()} has none of the {self.count} curvature samples: fit on at "
                             f"least one sample per process ({distributed.world_size()})")
        self._cache: Optional[list] = [] if cache_bytes > 0 else None
        self._cache_left, self._cached = cache_bytes, False

    def _terms(self) -> Iterator[list[LayerTerms]]:
        """Each batch's per-layer terms: captured, or from the cache of a complete earlier pass."""
        if self._cached:
            yield from self._cache
            return
        for x in self.batches:
            loss, terms = per_sample_terms(self.model, self.loss_fn, x.to(self.device), self.layers)
            if not torch.isfinite(loss).all():
                raise ValueError(f"the per-sample loss is NaN or infinite for {int((~torch.isfinite(loss)).sum())} of "
                                 f"{len(loss)} fit inputs: no curvature can be fitted")
            if self._cache is not None:
                size = sum(t.a.numel() * t.a.element_size() + t.g.numel() * t.g.element_size() for t in terms)
                self._cache_left -= size
                if self._cache_left >= 0:
                    self._cache.append(terms)
                else:
                    self._cache = None  # too large: later passes run the model again
            yield terms
        self._cached = self._cache is not None

    def sum(self, statistic: Callable[[int, LayerTerms], tuple[Tensor, ...]]) -> list[tuple[Tensor, ...]]:
        """One pass over the batches: per layer, the sums over batches (and ranks) of
        statistic(layer index, that layer's terms of the batch), a tuple of float64 tensors."""
        totals: list = [None] * len(self.layers)
        for terms in self._terms():
            for i, t in enumerate(terms):
                values = statistic(i, t)
                totals[i] = values if totals[i] is None else tuple(s + v for s, v in zip(totals[i], values))
        return [distributed.all_reduce_sum(*layer) for layer in totals]


class FisherKind:
    """A Fisher approximation: `fit` turns the streamed per-sample terms into LayerCurvatures."""

    name: str

    def fit(self, data: TermSums) -> list[LayerCurvature]:
        raise NotImplementedError


class DiagonalFisher(FisherKind):
    """F = E_n[∇W_n²], no bases: one pass."""

    name = "diag"

    def fit(self, data: TermSums) -> list[LayerCurvature]:
        sums = data.sum(lambda i, t: (curvature_eigen_correction(t.a, t.g).double(),))
        return [LayerCurvature(self.name, s / data.count) for (s,) in sums]


class KFAC(FisherKind):
    """Eigenbases of the two Kronecker factors, eigenvalues λ_G λ_Aᵀ: one pass."""

    name = "kfac"

    def fit(self, data: TermSums) -> list[LayerCurvature]:
        sums = data.sum(lambda i, t: (_gram(t.a), _gram(t.g) / t.g.shape[1]))
        fitted = []
        for a_sum, g_sum in sums:
            lam_a, q_a = (distributed.broadcast(t) for t in torch.linalg.eigh(0.5 * (a_sum + a_sum.T) / data.count))
            lam_g, q_g = (distributed.broadcast(t) for t in torch.linalg.eigh(0.5 * (g_sum + g_sum.T) / data.count))
            eigenvalues = lam_g.clamp(min=0)[:, None] * lam_a.clamp(min=0)[None, :]
            fitted.append(LayerCurvature(self.name, eigenvalues, q_a, q_g))
        return fitted


class EKFAC(KFAC):
    """KFAC's bases with the eigenvalue correction S = E_n[(Q_Gᵀ ∇W_n Q_A)²]: two passes over the
    terms (the second from TermSums' cache when they fit in it)."""

    name = "ekfac"

    def fit(self, data: TermSums) -> list[LayerCurvature]:
        bases = super().fit(data)

        def correction(i: int, t: LayerTerms) -> tuple[Tensor]:
            b = bases[i]
            return (curvature_eigen_correction(t.a, t.g, b.basis_a.to(t.a.dtype), b.basis_g.to(t.a.dtype)).double(),)

        sums = data.sum(correction)
        return [LayerCurvature(self.name, s / data.count, b.basis_a, b.basis_g) for (s,), b in zip(sums, bases)]


def _gram(v: Tensor) -> Tensor:
    """Σ over samples and positions of v vᵀ, in float64: v [N, T, D] → [D, D]."""
    rows = v.double().flatten(0, 1)
    return rows.T @ rows


FISHER_KINDS: dict[str, FisherKind] = {kind.name: kind for kind in (EKFAC(), KFAC(), DiagonalFisher())}
KINDS = tuple(FISHER_KINDS)


def fit_curvature(model: nn.Module, loss_fn: Callable[[nn.Module, Tensor], Tensor], loader: Iterable,
                  layers: Sequence[nn.Module], kind: str = "ekfac", samples: int = 1000,
                  device: Optional[torch.device] = None, cache_bytes: int = 1 << 30) -> list[LayerCurvature]:
    """Fit one LayerCurvature per layer (in the order of `layers`) on the first `samples` inputs
    of `loader` (batches of x or (x, ...)), with the Fisher approximation `kind`. EKFAC's second
    pass reuses the first pass's captured terms when they fit in `cache_bytes`."""
    if kind not in FISHER_KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    device = device or next(model.parameters()).device
    batches = list(inputs_up_to(loader, samples))
    return FISHER_KINDS[kind].fit(TermSums(model, loss_fn, batches, layers, device, cache_bytes))
