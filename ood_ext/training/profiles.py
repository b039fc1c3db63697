"""Training / evaluation profiles: `smoke` checks that everything runs (seconds), `quick` runs
the benchmark in minutes on a 2-core CPU, `full` follows the papers' scale for GPU users."""

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ClassifierSettings:
    """ResNet classifier training (Adam with a cosine schedule)."""

    width: int
    blocks: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float


@dataclass(frozen=True)
class Profile:
    """Data sizes (None = all) and per-model training settings."""

    name: str
    train_samples: Optional[int]
    test_samples: Optional[int]
    ood_samples: Optional[int]
    fit_samples: Optional[int]  # ID training images detectors are fitted on
    classifier: ClassifierSettings


PROFILES = {
    "smoke": Profile("smoke", train_samples=600, test_samples=300, ood_samples=200, fit_samples=300,
                     classifier=ClassifierSettings(width=8, blocks=1, epochs=1, batch_size=64, lr=3e-3,
                                                   weight_decay=5e-4)),
    "quick": Profile("quick", train_samples=12000, test_samples=2000, ood_samples=1000, fit_samples=5000,
                     classifier=ClassifierSettings(width=16, blocks=1, epochs=4, batch_size=128, lr=2e-3,
                                                   weight_decay=5e-4)),
    "full": Profile("full", train_samples=None, test_samples=None, ood_samples=None, fit_samples=None,
                    classifier=ClassifierSettings(width=64, blocks=2, epochs=30, batch_size=128, lr=1e-3,
                                                  weight_decay=5e-4)),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]
