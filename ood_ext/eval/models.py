"""Train-or-load of the models the benchmark's methods need, cached on disk.

A model is cached under a name made of its kind, the ID data it was trained on, the profile and
the seed; training checkpoints every epoch next to it, so an interrupted run resumes.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from ..data.images import ImageSet, to_tensor
from ..models import NCSN, ConvVAE, Glow, ResNetClassifier
from ..training import (Profile, accuracy, denoising_loss, load_model, save_model, train_classifier, train_glow,
                        train_ncsn, train_vae)


@dataclass
class TrainedModel:
    """A trained network with what the report shows about it."""

    model: nn.Module
    info: dict


@dataclass(frozen=True)
class ModelKind:
    """One kind of model: how to feed it (`inputs`: [N, C, H, W] in [0, 1] → model input), build
    it for some ID data, and train it (`fit` returns the metadata shown in the report)."""

    name: str
    inputs: Callable[[np.ndarray], Tensor]
    build: Callable[[ImageSet, Profile], nn.Module]
    fit: Callable[..., dict]
    seed_offset: int = 0  # a different seed for a second model of the same architecture


def _padded(images: np.ndarray) -> Tensor:
    return to_tensor(images, pad_to=32)


def _plain(images: np.ndarray) -> Tensor:
    return to_tensor(images)


def _fit_classifier(model, train: ImageSet, test: ImageSet, profile: Profile, device, checkpoint: Path, seed: int,
                    progress: bool) -> dict:
    settings = profile.classifier
    train_classifier(model, _plain(train.images), torch.as_tensor(train.labels), settings, device, checkpoint, seed,
                     progress)
    return {"test_accuracy": accuracy(model, _plain(test.images), torch.as_tensor(test.labels)),
            "train_samples": len(train), "epochs": settings.epochs}


def _fit_vae(model, train, test, profile, device, checkpoint, seed, progress, perturbation: float = 0.0) -> dict:
    data = train.subset(profile.generative.train_samples, seed + 3)
    train_vae(model, _padded(data.images), profile.vae, device, checkpoint, seed, perturbation, progress)
    with torch.no_grad():
        x = _padded(test.subset(500, seed).images).to(device)
        bits = model.neg_elbo(x, sample=False).mean().item() / (math.log(2) * x[0].numel())
    meta = {"test_neg_elbo_bits_per_dim": bits, "train_samples": len(data), "epochs": profile.vae.epochs}
    return meta | ({"perturbation": perturbation} if perturbation else {})


def _fit_background_vae(model, train, test, profile, device, checkpoint, seed, progress) -> dict:
    return _fit_vae(model, train, test, profile, device, checkpoint, seed, progress,
                    profile.generative.background_perturbation)


def _fit_glow(model, train, test, profile, device, checkpoint, seed, progress) -> dict:
    data = train.subset(profile.glow.train_samples, seed + 3)
    train_glow(model, _padded(data.images), profile.glow, device, checkpoint, seed, progress)
    with torch.no_grad():
        bits = model.nll_bits(_padded(test.subset(500, seed).images).to(device)).mean().item()
    return {"test_bits_per_dim": bits, "train_samples": len(data), "epochs": profile.glow.epochs}


def _fit_score_network(model, train, test, profile, device, checkpoint, seed, progress, rotation=False) -> dict:
    data = train.subset(profile.ncsn.train_samples, seed + 3)
    train_ncsn(model, _plain(data.images), profile.ncsn, rotation, device, checkpoint, seed, progress)
    with torch.no_grad():
        x = _plain(test.subset(500, seed).images).to(device)
        torch.manual_seed(seed)
        level = torch.randint(0, model.num_levels, (len(x),), device=device)
        turns = torch.randint(0, 4, (len(x),), device=device) if rotation else None
        loss = denoising_loss(model, x, level, torch.randn_like(x), turns).mean().item()
    return {"test_dsm_loss": loss, "train_samples": len(data), "epochs": profile.ncsn.epochs}


def _fit_rotncsn(model, train, test, profile, device, checkpoint, seed, progress) -> dict:
    return _fit_score_network(model, train, test, profile, device, checkpoint, seed, progress, rotation=True)


def _vae_model(train: ImageSet, profile: Profile) -> nn.Module:
    return ConvVAE(train.images.shape[1], profile.vae.width, profile.vae.latent)


def _ncsn_model(train: ImageSet, profile: Profile) -> nn.Module:
    return NCSN(train.images.shape[1], profile.ncsn.width, profile.ncsn.levels)


KINDS: dict[str, ModelKind] = {
    "classifier": ModelKind("classifier", _plain, lambda train, p: ResNetClassifier(
        train.images.shape[1], len(train.classes), p.classifier.width, p.classifier.blocks), _fit_classifier),
    "vae": ModelKind("vae", _padded, _vae_model, _fit_vae),
    "vae-background": ModelKind("vae-background", _padded, _vae_model, _fit_background_vae, seed_offset=7),
    "glow": ModelKind("glow", _padded, lambda train, p: Glow(train.images.shape[1], 32, p.glow.levels, p.glow.steps,
                                                              p.glow.hidden), _fit_glow),
    "ncsn": ModelKind("ncsn", _plain, _ncsn_model, _fit_score_network),
    "rotncsn": ModelKind("rotncsn", _plain, _ncsn_model, _fit_rotncsn),
}


def provide(kind: str, train: ImageSet, test: ImageSet, profile: Profile, cache: Path, device, seed: int,
            progress: bool) -> TrainedModel:
    """The trained model of `kind` for this ID data: from the cache, or trained (resuming) and cached."""
    spec = KINDS[kind]
    path = Path(cache) / f"{kind}-{train.name}-{len(train)}-{profile.name}-seed{seed}.pt"
    seed += spec.seed_offset
    torch.manual_seed(seed)
    model = spec.build(train, profile)
    if path.exists():
        return TrainedModel(model.to(device).eval(), load_model(model, path))
    checkpoint = path.with_name(path.stem + "-checkpoint.pt")
    meta = spec.fit(model, train, test, profile, device, checkpoint, seed, progress)
    save_model(model, path, **meta)
    checkpoint.unlink(missing_ok=True)
    return TrainedModel(model.eval(), meta)
