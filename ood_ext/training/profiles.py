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
class VAESettings:
    """ConvVAE training (Adam, learning rate × gamma every `step` epochs; ROSE paper B.1)."""

    width: int
    latent: int
    epochs: int
    batch_size: int
    lr: float
    step: int
    gamma: float


@dataclass(frozen=True)
class Profile:
    """Data sizes (None = all) and per-model training settings."""

    name: str
    train_samples: Optional[int]
    test_samples: Optional[int]
    ood_samples: Optional[int]
    fit_samples: Optional[int]  # ID training images detectors are fitted on
    classifier: ClassifierSettings
    vae: VAESettings


PROFILES = {
    "smoke": Profile("smoke", train_samples=600, test_samples=300, ood_samples=200, fit_samples=300,
                     classifier=ClassifierSettings(width=8, blocks=1, epochs=1, batch_size=64, lr=3e-3,
                                                   weight_decay=5e-4),
                     vae=VAESettings(width=8, latent=16, epochs=1, batch_size=64, lr=1e-3, step=30, gamma=0.5)),
    "quick": Profile("quick", train_samples=12000, test_samples=2000, ood_samples=1000, fit_samples=5000,
                     classifier=ClassifierSettings(width=16, blocks=1, epochs=4, batch_size=128, lr=2e-3,
                                                   weight_decay=5e-4),
                     vae=VAESettings(width=32, latent=100, epochs=5, batch_size=64, lr=1e-3, step=30, gamma=0.5)),
    "full": Profile("full", train_samples=None, test_samples=None, ood_samples=None, fit_samples=None,
                    classifier=ClassifierSettings(width=64, blocks=2, epochs=30, batch_size=128, lr=1e-3,
                                                  weight_decay=5e-4),
                    vae=VAESettings(width=32, latent=100, epochs=100, batch_size=64, lr=1e-3, step=30, gamma=0.5)),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]
