"""How a method family declares itself: its model kinds and its named methods.

A family module builds one `Family` and registers it (``register(Family(...))``); the
benchmark, the CLI (`ood-ext list`), the profiles and the report read everything from the
registry, so adding a family costs its model, its trainer and one spec module:

    KIND = ModelKind("toy", build=lambda train, s: ToyModel(s.width), train=train_toy,
                     settings=PerProfile(smoke=ToySettings(4), quick=ToySettings(8), full=ToySettings(64)))
    register(Family("toy", "a toy family", kinds=(KIND,), methods=(
        Method("toy-distance", "distance to the mean image", ("toy",), lambda ctx: ToyDetector(ctx.model("toy"))),
    )))

Per-profile values (`PerProfile`) exist for every profile of `PROFILES`: smoke checks that
everything runs (seconds), quick runs the benchmark in minutes on a 2-core CPU, full follows
the papers' scale (a GPU).
"""

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Generic, Optional, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from ..data.images import ImageSet, to_tensor
from ..detectors.base import Detector

PROFILES = ("smoke", "quick", "full")
T = TypeVar("T")


@dataclass(frozen=True)
class PerProfile(Generic[T]):
    """One value per profile: ``values[profile_name]``."""

    smoke: T
    quick: T
    full: T

    def __getitem__(self, profile: str) -> T:
        if profile not in PROFILES:
            raise KeyError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
        return getattr(self, profile)

    def map(self, fn: Callable[[T], Any]) -> "PerProfile":
        """fn applied to every profile's value."""
        return PerProfile(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})


@dataclass(frozen=True)
class TrainJob:
    """What a model kind's `train` gets: a freshly built model to train in place, the ID data,
    the kind's settings for this profile, and where / how to train."""

    model: nn.Module
    train: ImageSet  # the experiment's ID training images
    test: ImageSet  # every ID test image (for the quality figures; test_subset draws from them)
    settings: Any
    profile: str  # the profile the settings are for
    inputs: Callable[[np.ndarray], Tensor]  # the kind's input transform
    device: torch.device
    checkpoint: Path  # resumable training state
    seed: int  # the training seed (the kind's seed offset included)
    data_seed: int  # seed of train_subset's draw
    progress: bool
    uses: dict = field(default_factory=dict)  # the trained models of the kinds this kind uses, by name

    def train_subset(self, n: Optional[int]) -> ImageSet:
        """n training images (all when None), the same for the same seed."""
        return self.train.subset(n, self.data_seed)

    def test_subset(self, n: Optional[int]) -> ImageSet:
        """n test images to measure the trained model on."""
        return self.test.subset(n, self.seed)


@dataclass(frozen=True)
class ModelKind:
    """A kind of trained model.

    Args:
        name: unique across families (the cache names files after it).
        build: (ID training set, settings) -> a new, untrained model.
        train: trains job.model in place; returns the figures the report shows (accuracy,
            bits/dim, ...) as a flat dict.
        settings: the training settings per profile.
        inputs: images [N, C, H, W] float32 in [0, 1] -> the model's input tensor.
        seed_offset: added to the run's seed (a second model of the same architecture).
        uses: kinds whose trained models `train` needs (job.uses), e.g. a classifier for FID;
            they are provided first.
    """

    name: str
    build: Callable[[ImageSet, Any], nn.Module]
    train: Callable[[TrainJob], dict]
    settings: PerProfile
    inputs: Callable[[np.ndarray], Tensor] = to_tensor
    seed_offset: int = 0
    uses: tuple[str, ...] = ()


@dataclass
class MethodContext:
    """What a method's detector factory gets: the trained models by kind, the profile's name, a
    memo for objects the detectors of one experiment share (e.g. a likelihood cache), and the
    run's replacements of per-profile method options (`option`)."""

    models: dict[str, nn.Module]
    profile: str
    shared: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # a protocol scale's replacements of PerProfile values

    def model(self, kind: str) -> nn.Module:
        return self.models[kind]

    def option(self, name: str, values: "PerProfile") -> Any:
        """The profile's value of a method option (`values[profile]`), unless the run's options
        replace it by name (a paper protocol's scale, e.g. Likelihood Regret's steps)."""
        return self.options[name] if name in self.options else values[self.profile]

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """make() once per key and experiment."""
        if key not in self.shared:
            self.shared[key] = make()
        return self.shared[key]


@dataclass(frozen=True)
class Method:
    """A named detection method.

    Args:
        name: unique across families (the CLI's --methods).
        summary: one line for `ood-ext list` and the report.
        models: the model kinds it needs; its detector is fed the first kind's inputs.
        detector: MethodContext -> an unfitted Detector (leave its class defaults alone).
        images_per_set: images scored per ID / OOD set, per profile (None: all of them).
        fit_images: ID training images it is fitted on, per profile (None: the profile's).
        fit_unseen: fitted on ID training images no model trained on, when the run has any (what
            it chooses at fit — thresholds, a step size — is then chosen on held-out ID data).
        default: part of the default `ood-ext benchmark` run.
    """

    name: str
    summary: str
    models: tuple[str, ...]
    detector: Callable[[MethodContext], Detector]
    images_per_set: Optional[PerProfile] = None
    fit_images: Optional[PerProfile] = None
    fit_unseen: bool = False
    default: bool = False


@dataclass(frozen=True)
class Family:
    """A method family: the model kinds it trains and the methods it offers."""

    name: str
    summary: str
    kinds: tuple[ModelKind, ...] = ()
    methods: tuple[Method, ...] = ()
