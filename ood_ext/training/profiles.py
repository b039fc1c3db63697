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
class GlowSettings:
    """Glow training (Adamax with a linear warm-up; ROSE paper B.2)."""

    levels: int
    steps: int
    hidden: int
    train_samples: Optional[int]
    epochs: int
    batch_size: int
    lr: float
    warmup_steps: int


@dataclass(frozen=True)
class NCSNSettings:
    """Score network (NCSN / RotNCSN) training with denoising score matching (Adam)."""

    width: int
    levels: int
    train_samples: Optional[int]
    epochs: int
    batch_size: int
    lr: float
    samples_per_set: Optional[int]  # images scored per ID / OOD set (40 network passes each for f_rot)
    fit_samples: Optional[int]  # ID training images whose normality vectors fit the density model


@dataclass(frozen=True)
class GenerativeSettings:
    """Evaluation settings of the generative-model methods (ROSE and the likelihood baselines)."""

    train_samples: Optional[int]  # ID images the VAEs train on
    iwae_samples: int  # K of the IWAE log-likelihood
    regret_steps: int  # Likelihood Regret's per-sample encoder steps
    samples_per_set: Optional[int]  # images scored per ID / OOD set by these methods
    regret_samples_per_set: Optional[int]  # the same for Likelihood Regret
    fisher_samples: int  # ROSE: ID samples for the curvature ...
    norm_samples: int  # ... and for the per-layer normalisation
    background_perturbation: float  # Likelihood Ratio: μ of the background model's inputs


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
    glow: GlowSettings
    ncsn: NCSNSettings
    generative: GenerativeSettings


PROFILES = {
    "smoke": Profile("smoke", train_samples=600, test_samples=300, ood_samples=200, fit_samples=300,
                     classifier=ClassifierSettings(width=8, blocks=1, epochs=1, batch_size=64, lr=3e-3,
                                                   weight_decay=5e-4),
                     vae=VAESettings(width=8, latent=16, epochs=1, batch_size=64, lr=1e-3, step=30, gamma=0.5),
                     glow=GlowSettings(levels=2, steps=2, hidden=16, train_samples=300, epochs=1, batch_size=32,
                                       lr=5e-4, warmup_steps=5),
                     ncsn=NCSNSettings(width=4, levels=10, train_samples=300, epochs=1, batch_size=32, lr=1e-3,
                                       samples_per_set=50, fit_samples=100),
                     generative=GenerativeSettings(train_samples=600, iwae_samples=2, regret_steps=2,
                                                   samples_per_set=100, regret_samples_per_set=20, fisher_samples=100,
                                                   norm_samples=100, background_perturbation=0.3)),
    "quick": Profile("quick", train_samples=12000, test_samples=2000, ood_samples=1000, fit_samples=5000,
                     classifier=ClassifierSettings(width=16, blocks=1, epochs=4, batch_size=128, lr=2e-3,
                                                   weight_decay=5e-4),
                     vae=VAESettings(width=32, latent=100, epochs=3, batch_size=64, lr=1e-3, step=30, gamma=0.5),
                     glow=GlowSettings(levels=2, steps=8, hidden=64, train_samples=3000, epochs=2, batch_size=64,
                                       lr=5e-4, warmup_steps=50),
                     ncsn=NCSNSettings(width=16, levels=10, train_samples=3000, epochs=3, batch_size=64, lr=1e-3,
                                       samples_per_set=50, fit_samples=500),
                     generative=GenerativeSettings(train_samples=3000, iwae_samples=5, regret_steps=5,
                                                   samples_per_set=200, regret_samples_per_set=15, fisher_samples=1000,
                                                   norm_samples=500, background_perturbation=0.3)),
    "full": Profile("full", train_samples=None, test_samples=None, ood_samples=None, fit_samples=None,
                    classifier=ClassifierSettings(width=64, blocks=2, epochs=30, batch_size=128, lr=1e-3,
                                                  weight_decay=5e-4),
                    vae=VAESettings(width=32, latent=100, epochs=100, batch_size=64, lr=1e-3, step=30, gamma=0.5),
                    glow=GlowSettings(levels=2, steps=16, hidden=200, train_samples=None, epochs=50, batch_size=64,
                                      lr=5e-4, warmup_steps=1000),
                    ncsn=NCSNSettings(width=64, levels=10, train_samples=None, epochs=100, batch_size=128, lr=1e-3,
                                      samples_per_set=None, fit_samples=None),
                    generative=GenerativeSettings(train_samples=None, iwae_samples=20, regret_steps=100,
                                                  samples_per_set=5000, regret_samples_per_set=None, fisher_samples=1000,
                                                  norm_samples=1000, background_perturbation=0.3)),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]
