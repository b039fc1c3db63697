"""HSCAE and its ensemble with ODIN (docs/methods.md, "HSCAE").

* HSCAE: reconstruct h times, x̂_h = AE(x̂_{h−1} | p(x̂_{h−1})), x̂_0 = x, p the frozen
  classifier's softmax (T = 1) of the level's input; score the distance between x and x̂_h:
  "mse" mean((x − x̂_h)²), "softmax" ‖softmax(f(x)/2) − softmax(f(x̂_h)/2)‖₂, or "ssim" 1 − SSIM.
* OrEnsemble: OOD when any part says so, each part with its own threshold chosen on
  in-distribution data only (the fit loader, which also fits the parts not fitted yet): the
  pair of thresholds that accepts a target fraction of that data jointly with the most even
  split of the rejections between the parts.
  Its score, max_i (s_i − τ_i) / sd_i, is positive exactly when the OR rule says OOD, so it ranks
  for AUROC and thresholds at 0.
Higher = more OOD.
"""

from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .. import distributed
from ..data.batches import batch_inputs
from ..metrics import ssim
from ..models.interfaces import Classifier, require
from ..training.hscae import class_probabilities
from .base import Detector, eval_mode, expect

METRICS = ("mse", "softmax", "ssim")


class HSCAE(Detector):
    """The level-`level` reconstruction distance of a self-conditioned autoencoder.

    Args:
        autoencoder: model(x, p) -> x̂ (models.hscae.SelfConditionedAutoencoder).
        classifier: the frozen classifier it is conditioned on (Classifier interface).
        level: hierarchy level h ≥ 1 (how many times the autoencoder is applied).
        metric: 'mse', 'softmax' or 'ssim'.
        temperature: of the softmax distance (2 in the paper).
    """

    def __init__(self, autoencoder: nn.Module, classifier: nn.Module, level: int = 1, metric: str = "mse",
                 temperature: float = 2.0, progress: bool = True):
        require(classifier, Classifier, "HSCAE")
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if level < 1:
            raise ValueError(f"level must be at least 1, got {level}")
        super().__init__(autoencoder, progress)
        self.classifier, self.level, self.metric, self.temperature = classifier, int(level), metric, float(temperature)

    def config(self) -> dict:
        return {"level": self.level, "metric": self.metric, "temperature": self.temperature}

    def _fit(self, loader) -> None:
        pass

    def _models(self) -> tuple[nn.Module, ...]:
        return (self.model, self.classifier)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, level: int) -> Tensor:
        """x̂_level of images x [B, C, H, W] (both networks in eval mode meanwhile, their own
        modes restored afterwards)."""
        with eval_mode(*self._models()):
            for _ in range(level):
                x = self.model(x, class_probabilities(self.classifier, x))
        return x

    @torch.no_grad()
    def _score(self, x: Tensor) -> Tensor:
        recon = self.reconstruct(x, self.level)
        if self.metric == "mse":
            return (x - recon).pow(2).flatten(1).mean(1)
        if self.metric == "softmax":
            probs = [class_probabilities(self.classifier, v, self.temperature) for v in (x, recon)]
            return (probs[0] - probs[1]).norm(dim=1)
        return (1 - ssim(x, recon)).to(x.dtype)


class OrEnsemble(Detector):
    """OOD when any of `parts` (fitted or stateless detectors) says so; see the module docstring.

    Args:
        parts: the detectors, each scoring the same inputs.
        acceptance: the fraction of the fit (ID) data the joint rule must accept.
    """

    fitted_attributes = ("thresholds", "scales")
    decision_threshold = 0.0

    def __init__(self, parts: Sequence[Detector], acceptance: float = 0.95, progress: bool = True):
        if len(parts) != 2:
            raise ValueError(f"OrEnsemble combines two detectors, got {len(parts)}")
        if not 0.0 < acceptance < 1.0:
            raise ValueError(f"acceptance must be in (0, 1), got {acceptance}")
        super().__init__(None, progress)
        self.parts, self.acceptance = list(parts), float(acceptance)
        for part in self.parts:  # the ensemble shows the progress
            part.progress = False
        self.needs_input_grad = any(p.needs_input_grad for p in self.parts)

    def config(self) -> dict:
        return {"parts": [type(p).__name__ for p in self.parts], "acceptance": self.acceptance}

    def _models(self) -> tuple[nn.Module, ...]:
        return tuple(dict.fromkeys(m for p in self.parts for m in p._models()))

    def _parts(self) -> tuple[Detector, ...]:
        return tuple(self.parts)

    def part_scores(self, x: Tensor) -> Tensor:
        """[B, 2] scores of the parts."""
        return torch.stack([p.score(x).double() for p in self.parts], 1)

    def _fit(self, loader) -> None:
        batches = list(loader)
        for part in self.parts:  # a part not fitted yet (e.g. ODIN choosing its ε) fits on the same ID data
            if not part.fitted:
                part.fit(batches)
        scores = distributed.gather(self._concat([self.part_scores(batch_inputs(b)).cpu() for b in batches])).numpy()
        self.thresholds = torch.tensor(choose_thresholds(scores[:, 0], scores[:, 1], self.acceptance),
                                       dtype=torch.float64)
        self.scales = torch.tensor(scores.std(0), dtype=torch.float64).clamp(min=1e-12)

    def _check_state(self, state: dict) -> None:
        expect("OrEnsemble", "thresholds", state["thresholds"], (2,))
        expect("OrEnsemble", "scales", state["scales"], (2,))

    def _score(self, x: Tensor) -> Tensor:
        s = self.part_scores(x)
        return ((s - self.thresholds.to(s.device)) / self.scales.to(s.device)).max(1).values.to(x.dtype)


def choose_thresholds(a: np.ndarray, b: np.ndarray, acceptance: float) -> tuple[float, float]:
    """(τ_a, τ_b) such that the rule "ID iff a ≤ τ_a and b ≤ τ_b" accepts at least `acceptance`
    of the samples, with the rejections split between a and b as evenly as possible: τ_a runs
    over a's quantiles from `acceptance` to 1; τ_b is then the loosest value that keeps the joint
    acceptance (the smallest b reaching it among the samples a accepts)."""
    n = len(a)
    need = int(np.ceil(acceptance * n))
    best, best_gap = None, np.inf
    for q in np.linspace(acceptance, 1.0, 201):
        tau_a = float(np.quantile(a, q))
        kept = np.sort(b[a <= tau_a])
        if len(kept) < need:
            continue
        tau_b = float(kept[need - 1])
        rejected_a, rejected_b = n - len(kept), len(kept) - int((kept <= tau_b).sum())
        gap = abs(rejected_a - rejected_b)
        if gap < best_gap:
            best, best_gap = (tau_a, tau_b), gap
    return best
