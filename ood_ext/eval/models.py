"""Train-or-load of the models the benchmark's methods need, cached on disk.

A model is cached under a name made of its kind, the ID data it was trained on, the profile and
the seed; training checkpoints every epoch next to it, so an interrupted run resumes.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import math

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
    """How to feed (`inputs`: [N, C, H, W] in [0, 1] → model input) and train one kind of model."""

    name: str
    inputs: Callable[[np.ndarray], Tensor]
    train: Callable[..., TrainedModel]


def _classifier(train: ImageSet, test: ImageSet, profile: Profile, path: Path, device, seed: int,
                progress: bool) -> TrainedModel:
    settings = profile.classifier
    torch.manual_seed(seed)
    model = ResNetClassifier(train.images.shape[1], len(train.classes), settings.width, settings.blocks)
    if path.exists():
        meta = load_model(model, path)
        return TrainedModel(model.to(device).eval(), meta)
    checkpoint = path.with_name(path.stem + "-checkpoint.pt")
    x, y = to_tensor(train.images), torch.as_tensor(train.labels)
    train_classifier(model, x, y, settings, device, checkpoint, seed, progress)
    meta = {"test_accuracy": accuracy(model, to_tensor(test.images), torch.as_tensor(test.labels)),
            "train_samples": len(train), "epochs": settings.epochs}
    save_model(model, path, **meta)
    checkpoint.unlink(missing_ok=True)
    return TrainedModel(model, meta)


def _vae(train: ImageSet, test: ImageSet, profile: Profile, path: Path, device, seed: int, progress: bool,
         perturbation: float = 0.0) -> TrainedModel:
    settings = profile.vae
    torch.manual_seed(seed)
    model = ConvVAE(train.images.shape[1], settings.width, settings.latent)
    if path.exists():
        return TrainedModel(model.to(device).eval(), load_model(model, path))
    data = train.subset(profile.generative.train_samples, seed + 3)
    checkpoint = path.with_name(path.stem + "-checkpoint.pt")
    train_vae(model, _vae_inputs(data.images), settings, device, checkpoint, seed, perturbation, progress)
    with torch.no_grad():
        x = _vae_inputs(test.subset(500, seed).images).to(device)
        bits = model.neg_elbo(x, sample=False).mean().item() / (math.log(2) * x[0].numel())
    meta = {"test_neg_elbo_bits_per_dim": bits, "train_samples": len(data), "epochs": settings.epochs}
    if perturbation:
        meta["perturbation"] = perturbation
    save_model(model, path, **meta)
    checkpoint.unlink(missing_ok=True)
    return TrainedModel(model, meta)


def _vae_inputs(images: np.ndarray) -> Tensor:
    return to_tensor(images, pad_to=32)


def _background_vae(train, test, profile, path, device, seed, progress) -> TrainedModel:
    return _vae(train, test, profile, path, device, seed + 7, progress, profile.generative.background_perturbation)


def _glow(train: ImageSet, test: ImageSet, profile: Profile, path: Path, device, seed: int,
          progress: bool) -> TrainedModel:
    settings = profile.glow
    torch.manual_seed(seed)
    model = Glow(train.images.shape[1], 32, settings.levels, settings.steps, settings.hidden)
    if path.exists():
        meta = load_model(model, path)
        return TrainedModel(model.to(device).eval(), meta)
    data = train.subset(settings.train_samples, seed + 3)
    checkpoint = path.with_name(path.stem + "-checkpoint.pt")
    train_glow(model, _vae_inputs(data.images), settings, device, checkpoint, seed, progress)
    with torch.no_grad():
        bits = model.nll_bits(_vae_inputs(test.subset(500, seed).images).to(device)).mean().item()
    meta = {"test_bits_per_dim": bits, "train_samples": len(data), "epochs": settings.epochs}
    save_model(model, path, **meta)
    checkpoint.unlink(missing_ok=True)
    return TrainedModel(model, meta)


def _score_network(train: ImageSet, test: ImageSet, profile: Profile, path: Path, device, seed: int,
                   progress: bool, rotation: bool = False) -> TrainedModel:
    settings = profile.ncsn
    torch.manual_seed(seed)
    model = NCSN(train.images.shape[1], settings.width, settings.levels)
    if path.exists():
        return TrainedModel(model.to(device).eval(), load_model(model, path))
    data = train.subset(settings.train_samples, seed + 3)
    checkpoint = path.with_name(path.stem + "-checkpoint.pt")
    train_ncsn(model, to_tensor(data.images), settings, rotation, device, checkpoint, seed, progress)
    with torch.no_grad():
        x = to_tensor(test.subset(500, seed).images).to(device)
        torch.manual_seed(seed)
        level = torch.randint(0, model.num_levels, (len(x),), device=device)
        turns = torch.randint(0, 4, (len(x),), device=device) if rotation else None
        loss = denoising_loss(model, x, level, torch.randn_like(x), turns).mean().item()
    meta = {"test_dsm_loss": loss, "train_samples": len(data), "epochs": settings.epochs}
    save_model(model, path, **meta)
    checkpoint.unlink(missing_ok=True)
    return TrainedModel(model, meta)


def _rotncsn(train, test, profile, path, device, seed, progress) -> TrainedModel:
    return _score_network(train, test, profile, path, device, seed, progress, rotation=True)


KINDS: dict[str, ModelKind] = {
    "classifier": ModelKind("classifier", lambda images: to_tensor(images), _classifier),
    "vae": ModelKind("vae", _vae_inputs, _vae),
    "vae-background": ModelKind("vae-background", _vae_inputs, _background_vae),
    "glow": ModelKind("glow", _vae_inputs, _glow),
    "ncsn": ModelKind("ncsn", lambda images: to_tensor(images), _score_network),
    "rotncsn": ModelKind("rotncsn", lambda images: to_tensor(images), _rotncsn),
}


def provide(kind: str, train: ImageSet, test: ImageSet, profile: Profile, cache: Path, device, seed: int,
            progress: bool) -> TrainedModel:
    """The trained model of `kind` for this ID data: from the cache, or trained (resuming) and cached."""
    path = Path(cache) / f"{kind}-{train.name}-{len(train)}-{profile.name}-seed{seed}.pt"
    return KINDS[kind].train(train, test, profile, path, device, seed, progress)
