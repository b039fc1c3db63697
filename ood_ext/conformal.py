"""Decisions with a promised false-alarm rate: split-conformal calibration of any detector.

    conformal = Conformal(detector).calibrate(id_loader)   # ID images the detector was not fitted on
    p = conformal.p_values(x)                               # [N] in (0, 1]
    flagged = conformal.is_ood(x, alpha=0.05)               # bool [N]
    chosen = conformal.select(x, fdr=0.1)                   # bool [N], Benjamini–Hochberg

With calibration scores s_1..s_n of n ID images and a test score s(x) (higher = more OOD),

    p(x) = (1 + #{i : s_i ≥ s(x)}) / (n + 1).

If the calibration images and a test ID image are exchangeable (drawn alike, none of them seen by
the fit), p(x) is super-uniform: P(p(x) ≤ α) ≤ α for every α, whatever the detector — so
`is_ood(x, α)` flags an ID image with probability at most α (exactly ⌊α(n + 1)⌋ / (n + 1) without
ties). Ties count as "at least as large", which can only raise p: conservative. `select` applies
Benjamini–Hochberg to a batch's p-values; conformal p-values are positively dependent (PRDS), so
the expected share of ID images among those flagged stays at most `fdr` (Bates et al., 2023).
`any_is_ood` combines several calibrated detectors at α / k each (Bonferroni), e.g. the HSCAE
OR ensemble's parts.
"""

from typing import Iterable, Sequence

import torch
from torch import Tensor

from . import distributed
from .data.batches import batch_inputs
from .loaded import check_structure


class Conformal:
    """Split-conformal p-values and decisions for `detector` (fitted, or fitted when calibrated
    later on separate data); see the module docstring."""

    def __init__(self, detector):
        self.detector = detector
        self.scores: Tensor = torch.empty(0, dtype=torch.float64)  # sorted calibration scores [n]

    @property
    def n(self) -> int:
        return len(self.scores)

    def calibrate(self, loader: Iterable) -> "Conformal":
        """Score the ID calibration images of `loader` (batches of x or (x, y); each rank its
        shard in a distributed run, gathered); returns self."""
        parts = [self.detector.score(batch_inputs(b)).detach().double().cpu() for b in loader]
        local = torch.cat(parts) if parts else torch.empty(0, dtype=torch.float64)
        scores = distributed.gather(local)
        if len(scores) == 0:
            raise ValueError("Conformal.calibrate: the loader yielded no calibration images")
        self.scores = torch.sort(scores).values
        return self

    def p_values(self, x: Tensor) -> Tensor:
        """p(x) [N] float64 in (0, 1] on x's device (higher = more ID-like)."""
        self._check_calibrated()
        return p_values(self.scores, self.detector.score(x).detach().double().cpu()).to(x.device)

    def is_ood(self, x: Tensor, alpha: float) -> Tensor:
        """bool [N]: p(x) ≤ alpha, so an exchangeable ID image is flagged with probability ≤ alpha."""
        return self.p_values(x) <= _level(alpha, "alpha")

    def select(self, x: Tensor, fdr: float) -> Tensor:
        """bool [N]: the images Benjamini–Hochberg flags at false-discovery rate `fdr` (the largest
        k with p_(k) ≤ k·fdr / N; the k smallest p-values flagged)."""
        return benjamini_hochberg(self.p_values(x), _level(fdr, "fdr"))

    def state_dict(self) -> dict:
        """The detector's fitted state and the sorted calibration scores."""
        self._check_calibrated()
        return {"type": "Conformal", "detector": self.detector.state_dict(), "scores": self.scores.clone()}

    def load_state_dict(self, saved: dict) -> "Conformal":
        """Restore a state_dict (the detector's state through its own validation); returns self."""
        check_structure(saved, "Conformal state")
        if not isinstance(saved, dict) or set(saved) != {"type", "detector", "scores"} or saved["type"] != "Conformal":
            raise ValueError("not a Conformal state: expected a dict with type 'Conformal', detector and scores")
        scores = saved["scores"]
        if (not torch.is_tensor(scores) or scores.dtype != torch.float64 or scores.dim() != 1 or len(scores) == 0
                or not torch.isfinite(scores).all() or not bool((scores[1:] >= scores[:-1]).all())):
            raise ValueError("Conformal state: scores must be a non-empty, sorted, finite float64 tensor [n]")
        self.detector.load_state_dict(saved["detector"])
        self.scores = scores.clone()
        return self

    def _check_calibrated(self) -> None:
        if self.n == 0:
            raise RuntimeError("Conformal: calibrate (or load_state_dict) before asking for p-values")


def p_values(calibration: Tensor, scores: Tensor) -> Tensor:
    """(1 + #{calibration ≥ s}) / (n + 1) for each of scores [N], from the sorted calibration
    scores [n] (float64 [N])."""
    at_least = len(calibration) - torch.searchsorted(calibration, scores.to(calibration.dtype), side="left")
    return (1 + at_least).double() / (len(calibration) + 1)


def benjamini_hochberg(p_values: Tensor, fdr: float) -> Tensor:
    """bool [N]: Benjamini–Hochberg's rejections of p-values [N] at level `fdr`."""
    if len(p_values) == 0:
        return torch.zeros(0, dtype=torch.bool, device=p_values.device)
    ordered, order = torch.sort(p_values)
    ranks = torch.arange(1, len(p_values) + 1, device=p_values.device, dtype=ordered.dtype)
    passing = torch.nonzero(ordered <= ranks * fdr / len(p_values))
    flagged = torch.zeros(len(p_values), dtype=torch.bool, device=p_values.device)
    if len(passing):
        flagged[order[: int(passing[-1]) + 1]] = True
    return flagged


def any_is_ood(parts: Sequence[Conformal], x: Tensor, alpha: float) -> Tensor:
    """bool [N]: OOD when any calibrated part flags x at alpha / len(parts) (Bonferroni), so the
    union still flags an exchangeable ID image with probability ≤ alpha."""
    share = _level(alpha, "alpha") / len(parts)
    return torch.stack([part.p_values(x) <= share for part in parts]).any(0)


def _level(value: float, name: str) -> float:
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return float(value)


__all__ = ["Conformal", "any_is_ood", "benjamini_hochberg", "p_values"]
