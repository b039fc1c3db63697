"""Train-or-load of the models the benchmark's methods need, cached on disk.

A model is cached under a name made of its kind, the ID data it was trained on, the profile, a
digest of its training settings and input transform, and the seed; training checkpoints every epoch next to it, so an
interrupted run resumes. Under a
process group every rank trains (data-parallel, see training.trainer) and rank 0 writes.
"""

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from .. import distributed
from ..data.images import ImageSet
from ..methods import ModelKind, Profile, TrainJob
from ..training import load_model, save_model
from . import seeds


@dataclass
class TrainedModel:
    """A trained network with what the report shows about it."""

    model: nn.Module
    info: dict  # the trainer's figures (accuracy, bits/dim, FID, ...) and train_seconds
    cached: bool = False  # loaded from the cache rather than trained in this run


def _transform(inputs) -> str:
    """A process-independent description of an input transform (a function or a partial of one)."""
    func = getattr(inputs, "func", inputs)
    bound = (getattr(inputs, "args", ()), sorted(getattr(inputs, "keywords", {}).items()))
    return f"{func.__module__}.{func.__qualname__}{bound}"


def cache_path(kind: ModelKind, train: ImageSet, profile: Profile, cache: Path, seed: int) -> Path:
    """Where the trained model of `kind` for this ID data, profile, training settings, input
    transform and seed is cached (a digest of the settings and the transform in the name: changing
    either never loads a stale model)."""
    described = repr(profile.settings(kind.name)) + _transform(kind.inputs)
    digest = hashlib.blake2b(described.encode(), digest_size=4).hexdigest()
    return Path(cache) / f"{kind.name}-{train.name}-{len(train)}-{profile.cache_label}-{digest}-seed{seed}.pt"


def provide(kind: ModelKind, train: ImageSet, test: ImageSet, profile: Profile, cache: Path, device: torch.device,
            seed: int, progress: bool, uses: Optional[dict] = None) -> TrainedModel:
    """The trained model of `kind` for this ID data: from the cache, or trained (resuming) and
    cached. `uses` holds the trained models of the kinds it uses (kind.uses)."""
    path = cache_path(kind, train, profile, cache, seed)
    seed += kind.seed_offset
    torch.manual_seed(seed)
    settings = profile.settings(kind.name)
    model = kind.build(train, settings)
    distributed.barrier()  # every rank sees the cache as rank 0 left it
    if path.exists():
        return TrainedModel(model.to(device).eval(), load_model(model, path), cached=True)
    checkpoint = path.with_name(path.stem + "-checkpoint.pt")
    job = TrainJob(model, train, test, settings, profile.name, kind.inputs, device, checkpoint, seed,
                   seed + seeds.TRAIN_SUBSET, progress, dict(uses or {}))
    started = time.perf_counter()
    meta = kind.train(job)
    meta["train_seconds"] = round(time.perf_counter() - started, 1)
    if distributed.is_main():
        save_model(model, path, **meta)
        checkpoint.unlink(missing_ok=True)
    return TrainedModel(model.eval(), meta)
