"""Benchmark profiles: the few global data sizes, and each registered model kind's settings.

`smoke` checks that everything runs (seconds), `quick` runs the benchmark in minutes on a
2-core CPU, `full` uses all the data and the papers' model sizes (for a GPU).
"""

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from . import registry
from .spec import PROFILES, PerProfile


@dataclass(frozen=True)
class Sizes:
    """Images per experiment (None = all)."""

    train_samples: Optional[int]  # ID training images the models and detectors draw from
    test_samples: Optional[int]  # ID test images the detectors score (trainers measure on all of them)
    ood_samples: Optional[int]  # images per OOD set
    fit_samples: Optional[int]  # ID training images a detector is fitted on (unless its method says)


SIZES = PerProfile(smoke=Sizes(600, 300, 200, 300), quick=Sizes(12000, 1000, 500, 3000),
                   full=Sizes(None, None, None, None))


@dataclass(frozen=True)
class Profile:
    """A profile: its name (which of each PerProfile's values apply), its sizes, and the training
    settings of every model kind. A paper protocol's scale (ood_ext.reproduce) is a profile too:
    one of PROFILES with its own sizes, some kinds' settings replaced, images scored per set for
    some methods (`images_per_set`), method options (`options`, read by the method specs through
    MethodContext.option), and its own `label` in the model cache."""

    name: str
    sizes: Sizes
    models: Mapping[str, Any]
    label: str = ""  # the cache's name for this profile's models (default: name)
    images_per_set: Mapping[str, Optional[int]] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def settings(self, kind: str) -> Any:
        return self.models[kind]

    @property
    def cache_label(self) -> str:
        return self.label or self.name


def get_profile(name: str) -> Profile:
    """The profile `name` over the model kinds registered now; ValueError for an unknown name."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return Profile(name, SIZES[name], {k: kind.settings[name] for k, kind in registry.kinds().items()})
