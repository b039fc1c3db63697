"""Scoring ID test sets and OOD sets with a detector, and the metrics of the resulting pairs
(including the split-conformal decisions at CONFORMAL_ALPHA when the pair carries calibration
scores: the realised false-alarm rate on the ID test images and the recall of the OOD set)."""

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .. import distributed, metrics
from ..conformal import p_values
from ..data.images import loader
from ..detectors.base import Detector


@dataclass(frozen=True)
class OpenSet:
    """What open-set recognition adds to a detector that classifies: the threshold accepting 95 %
    of known training images, and the predicted and true classes of the ID test images."""

    threshold: float
    id_pred: np.ndarray
    id_true: np.ndarray
    classes: int


@dataclass
class ScoredSet:
    """One OOD set's scores next to the scores of the ID test set it is compared with."""

    name: str
    id_scores: np.ndarray
    ood_scores: np.ndarray
    threshold: Optional[float] = None  # the detector's own decision threshold (OOD above it), if it has one
    open_set: Optional[OpenSet] = None
    calibration: Optional[np.ndarray] = None  # sorted scores of ID images the detector was not fitted on


CONFORMAL_ALPHA = 0.05  # the false-alarm rate the report's conformal decisions promise


def _sharded(method, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """detector.score_loader / predict_loader over x; in a distributed run each rank takes its
    shard and the results are gathered back in order."""
    return distributed.gather(method(loader(distributed.shard(x), batch_size=batch_size))).numpy()


def score_sets(detector: Detector, id_test: torch.Tensor, ood: dict[str, torch.Tensor],
               batch_size: int = 256) -> tuple[list[ScoredSet], float]:
    """Scores of the ID test inputs and of every OOD input set (all [N, C, H, W] tensors);
    returns the scored pairs and the throughput in images per second."""
    start = time.perf_counter()
    id_scores = _sharded(detector.score_loader, id_test, batch_size)
    pairs = [ScoredSet(name, id_scores, _sharded(detector.score_loader, x, batch_size), detector.decision_threshold)
             for name, x in ood.items()]
    count = len(id_test) + sum(len(x) for x in ood.values())
    return pairs, count / (time.perf_counter() - start)


def known_scores(detector: Detector, known: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Scores [M] of known (ID training) inputs [M, C, H, W]: a conformal calibration set and the
    open-set threshold's reference when the detector was not fitted on them."""
    return _sharded(detector.score_loader, known, batch_size)


def open_set(detector: Detector, known: np.ndarray, id_test: torch.Tensor, id_labels: np.ndarray,
             classes: int, batch_size: int = 256) -> OpenSet:
    """The OpenSet of a detector that classifies: its threshold accepts 95 % of the known scores
    [M] (training images, ideally ones it was not fitted on); predictions of the ID test inputs
    [N, C, H, W] (labels [N])."""
    predicted = _sharded(detector.predict_loader, id_test, batch_size)
    return OpenSet(metrics.threshold_at_tpr(known, 0.95), predicted, np.asarray(id_labels), classes)


def set_metrics(s: ScoredSet) -> dict[str, float]:
    """metrics.summary of one pair, plus OOD recall (zero_acc) and ID acceptance (else_acc) at the
    detector's own threshold when it has one, and the open-set macro-F1 (osr_f1) over the known
    classes + unknown when the detector classifies."""
    values = metrics.summary(s.id_scores, s.ood_scores)
    if s.threshold is not None:
        values |= {"zero_acc": metrics.zero_acc(s.ood_scores, s.threshold),
                   "else_acc": metrics.else_acc(s.id_scores, s.threshold)}
    if s.open_set is not None:
        o = s.open_set
        values["osr_f1"] = metrics.open_set_f1(o.id_pred, o.id_true, s.id_scores, s.ood_scores, o.threshold, o.classes)
    if s.calibration is not None:
        calibration = torch.from_numpy(s.calibration)
        flagged = [(p_values(calibration, torch.from_numpy(np.asarray(v, dtype=np.float64))) <= CONFORMAL_ALPHA)
                   for v in (s.id_scores, s.ood_scores)]
        values |= {"conformal_false_alarms": float(flagged[0].double().mean()),
                   "conformal_recall": float(flagged[1].double().mean())}
    return values


def grid_metrics(scored: dict[str, list[ScoredSet]]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {OOD set: set_metrics(...)}}."""
    return {method: {s.name: set_metrics(s) for s in sets} for method, sets in scored.items()}
