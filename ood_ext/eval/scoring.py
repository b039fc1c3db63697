"""Scoring ID test sets and OOD sets with a detector, and the metrics of the resulting pairs."""

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .. import metrics
from ..data.images import loader
from ..detectors.base import Detector


@dataclass
class ScoredSet:
    """One OOD set's scores next to the scores of the ID test set it is compared with."""

    name: str
    id_scores: np.ndarray
    ood_scores: np.ndarray
    threshold: Optional[float] = None  # the detector's own decision threshold (OOD above it), if it has one


def score_sets(detector: Detector, id_test: torch.Tensor, ood: dict[str, torch.Tensor],
               batch_size: int = 256) -> tuple[list[ScoredSet], float]:
    """Scores of the ID test inputs and of every OOD input set (all [N, C, H, W] tensors);
    returns the scored pairs and the throughput in images per second."""
    start = time.perf_counter()
    id_scores = detector.score_loader(loader(id_test, batch_size=batch_size)).numpy()
    pairs = [ScoredSet(name, id_scores, detector.score_loader(loader(x, batch_size=batch_size)).numpy(),
                       detector.decision_threshold) for name, x in ood.items()]
    count = len(id_test) + sum(len(x) for x in ood.values())
    return pairs, count / (time.perf_counter() - start)


def set_metrics(s: ScoredSet) -> dict[str, float]:
    """metrics.summary of one pair, plus OOD recall (zero_acc) and ID acceptance (else_acc) at the
    detector's own threshold when it has one."""
    values = metrics.summary(s.id_scores, s.ood_scores)
    if s.threshold is not None:
        values |= {"zero_acc": metrics.zero_acc(s.ood_scores, s.threshold),
                   "else_acc": metrics.else_acc(s.id_scores, s.threshold)}
    return values


def grid_metrics(scored: dict[str, list[ScoredSet]]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {OOD set: set_metrics(...)}}."""
    return {method: {s.name: set_metrics(s) for s in sets} for method, sets in scored.items()}
