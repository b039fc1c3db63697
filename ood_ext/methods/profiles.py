"""Benchmark profiles: the few global data sizes, and each registered model kind's settings.

`smoke` checks that everything runs (seconds), `quick` runs the benchmark in minutes on a
2-core CPU, `full` uses all the data and the papers' model sizes (for a GPU).
"""

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from . import registry
from .spec import PROFILES, PerProfile


@dataclass(frozen=True)
class Sizes:
    """Images per experiment (None = all)."""

    train_samples: Optional[int]  # ID training images the models and detectors draw from
    test_samples: Optional[int]  # ID test images
    ood_samples: Optional[int]  # images per OOD set
    fit_samples: Optional[int]  # ID training images a detector is fitted on (unless its method says)


SIZES = PerProfile(smoke=Sizes(600, 300, 200, 300), quick=Sizes(12000, 1000, 500, 3000),
                   full=Sizes(None, None, None, None))


@dataclass(frozen=True)
class Profile:
    """A profile: its name, its sizes, and the training settings of every model kind."""

    name: str
    sizes: Sizes
    models: Mapping[str, Any]

    def settings(self, kind: str) -> Any:
        return self.models[kind]


def get_profile(name: str) -> Profile:
    """The profile `name` over the model kinds registered now; ValueError for an unknown name."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return Profile(name, SIZES[name], {k: kind.settings[name] for k, kind in registry.kinds().items()})
