"""The detection methods the benchmark knows, by name: which model each needs and how to build
its detector."""

from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..detectors import MSP, ODIN, Energy, Mahalanobis, ReAct
from ..detectors.base import Detector
from ..training import Profile


@dataclass(frozen=True)
class Method:
    name: str
    model: str  # a key of eval.models.KINDS
    make: Callable[[nn.Module, Profile, bool], Detector]
    summary: str


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("msp", "classifier", lambda m, p, pr: MSP(m, progress=pr), "maximum softmax probability"),
    Method("odin", "classifier", lambda m, p, pr: ODIN(m, 1000.0, 0.0014, progress=pr),
           "ODIN, T = 1000, ε = 0.0014"),
    Method("energy", "classifier", lambda m, p, pr: Energy(m, 1.0, progress=pr), "energy score, T = 1"),
    Method("react", "classifier", lambda m, p, pr: ReAct(m, 0.9, 1.0, progress=pr),
           "ReAct (90th percentile clip) + energy"),
    Method("mahalanobis", "classifier", lambda m, p, pr: Mahalanobis(m, 0.0, progress=pr),
           "Mahalanobis, tied covariance, penultimate features"),
    Method("mahalanobis-pre", "classifier", lambda m, p, pr: Mahalanobis(m, 0.001, progress=pr),
           "Mahalanobis with input preprocessing, ε = 0.001"),
]}

DEFAULT_METHODS = ["msp", "odin", "energy", "react", "mahalanobis"]
