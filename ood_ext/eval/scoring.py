"""Scoring ID test sets and OOD sets with a detector, and the metrics of the resulting pairs."""

import time
from dataclasses import dataclass

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


def score_sets(detector: Detector, id_test: torch.Tensor, ood: dict[str, torch.Tensor],
               batch_size: int = 256) -> tuple[list[ScoredSet], float]:
    """Scores of the ID test inputs and of every OOD input set (all [N, C, H, W] tensors);
    returns the scored pairs and the throughput in images per second."""
    start = time.perf_counter()
    id_scores = detector.score_loader(loader(id_test, batch_size=batch_size)).numpy()
    pairs = [ScoredSet(name, id_scores, detector.score_loader(loader(x, batch_size=batch_size)).numpy())
             for name, x in ood.items()]
    count = len(id_test) + sum(len(x) for x in ood.values())
    return pairs, count / (time.perf_counter() - start)


def grid_metrics(scored: dict[str, list[ScoredSet]]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {OOD set: metrics.summary(...)}}."""
    return {method: {s.name: metrics.summary(s.id_scores, s.ood_scores) for s in sets}
            for method, sets in scored.items()}
