"""Paper protocols and `ood-ext reproduce SEED`: each paper's headline tables regenerated on our
offline data beside the paper's numbers (protocol.py declares one; runner.py runs it)."""

from .claims import BeatsOnEverySet, BestAboveWithin, Claim, MeanAtLeast, MeanReaches, OverallAtLeast
from .protocol import METRICS, SCALES, SMOKE_NOTE, PaperTable, Protocol, Scale, protocols, register

__all__ = ["METRICS", "SCALES", "SMOKE_NOTE", "BeatsOnEverySet", "BestAboveWithin", "Claim", "MeanAtLeast",
           "MeanReaches", "OverallAtLeast", "PaperTable", "Protocol", "Scale", "protocols", "register"]
