"""VMDLS training (docs/methods.md, "VMDLS"): metric losses on the sampled code f = μ + σ ⊙ ε of
class-balanced batches, plus a KL term pulling each code distribution N(μ, σ²) towards its class
target N(m(y), s² I), m(c) being the previous epoch's class mean of f.

The schedule is the authors' public code's (docs/methods.md says where it differs from the
paper's text): the KL term is a mean per code element with weight 0.1 and target standard
deviation 0.1, off for the first half of the run; the distancing margin grows from 0.15 to its
final value over the first third of the steps; every batch holds every class. AdamW on a one-cycle
schedule (as the project's classifier) replaces their SGD with step decay: it converges in the
few epochs a CPU run affords."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .. import distributed
from ..data.augment import Augmentation
from ..data.sampler import class_balanced_batches
from ..models.vmdls import VMDLSNet
from .trainer import Trainer, one_cycle

LOSSES = ("triplet", "distancing", "kl")


@dataclass(frozen=True)
class VMDLSSettings:
    """Architecture, class-balanced batches (`classes_per_batch` classes, None: every class, ×
    `per_class` images), losses, and AdamW on a one-cycle schedule (peak `lr`, warm-up over the
    first 15 % of the steps) on up to `train_samples` ID images (None: all), augmented by `augment`.

    `losses` is a subset of LOSSES (the seed's loss ablation). The distancing margin grows linearly
    from `margin_start` to `distance_margin` (None: the latent size d) over the first
    `margin_ramp` of the steps; the KL term (weight `kl_weight`, a mean over code elements, target
    variance `target_variance`) is on from epoch round(`kl_start` · epochs), at least the second
    (the first has no previous epoch's means)."""

    backbone: str
    width: int
    latent: int
    epochs: int
    per_class: int
    train_samples: Optional[int]
    classes_per_batch: Optional[int] = None
    losses: tuple[str, ...] = LOSSES
    triplet_margin: float = 0.1
    distance_margin: Optional[float] = None
    margin_start: float = 0.15
    margin_ramp: float = 1 / 3
    kl_weight: float = 0.1
    kl_start: float = 0.5
    target_variance: float = 0.01
    lr: float = 2e-3
    weight_decay: float = 5e-4
    augment: Augmentation = Augmentation()


def _triplets(f: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Squared distances [B, B] between codes, and the positive [B, B] and negative [B, B] masks:
    (a, p) of one class with a ≠ p, (a, n) of different classes."""
    distances = (f[:, None, :] - f[None, :, :]).pow(2).sum(-1)
    same = y[:, None] == y[None, :]
    positive = same & ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    return distances, positive, ~same


def triplet_loss(f: Tensor, y: Tensor, margin: float = 0.1) -> Tensor:
    """mean over every in-batch triplet (a, p, n) of max(0, M_t + ‖f_a − f_p‖² − ‖f_a − f_n‖²);
    f [B, d], y [B]; 0 when the batch holds no triplet."""
    distances, positive, negative = _triplets(f, y)
    mask = positive[:, :, None] & negative[:, None, :]
    if not mask.any():
        return f.sum() * 0
    terms = (margin + distances[:, :, None] - distances[:, None, :]).clamp(min=0)
    return terms[mask].mean()


def distancing_loss(f: Tensor, y: Tensor, margin: float) -> Tensor:
    """mean over every in-batch triplet (a, p, n) of max(0, M_d − ‖f_a − f_n‖²), computed per
    (a, n) pair weighted by the number of positives of a; 0 when the batch holds no triplet."""
    distances, positive, negative = _triplets(f, y)
    weights = positive.sum(1, keepdim=True).to(f.dtype) * negative.to(f.dtype)  # triplets per (a, n)
    if not weights.any():
        return f.sum() * 0
    return ((margin - distances).clamp(min=0) * weights).sum() / weights.sum()


def class_kl(mu: Tensor, log_sigma: Tensor, targets: Tensor, variance: float = 0.01) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(m, s² I)) per code element, log(s / σ_j) + (σ_j² + (μ_j − m_j)²) / (2 s²)
    − ½, averaged over the batch and the d elements (the expectation of the authors' Monte-Carlo
    estimate); mu, log_sigma, targets [B, d]."""
    kl = 0.5 * np.log(variance) - log_sigma + ((2 * log_sigma).exp() + (mu - targets).pow(2)) / (2 * variance) - 0.5
    return kl.mean()


def margin_at(settings: VMDLSSettings, progress: float) -> float:
    """The distancing margin after a fraction `progress` ∈ [0, 1] of the steps."""
    final = settings.distance_margin if settings.distance_margin is not None else float(settings.latent)
    ramp = min(1.0, progress / settings.margin_ramp) if settings.margin_ramp > 0 else 1.0
    return settings.margin_start + (final - settings.margin_start) * ramp


def train_vmdls(model: VMDLSNet, images: Tensor, labels: np.ndarray, settings: VMDLSSettings, device="cpu",
                checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> VMDLSNet:
    """Train on images [N, C, H, W] with labels [N] in 0..C−1; returns the model in eval mode with
    `class_targets` = the last epoch's class means of f. Resumes from `checkpoint`."""
    unknown = set(settings.losses) - set(LOSSES)
    if unknown or not settings.losses:
        raise ValueError(f"losses must be a non-empty subset of {LOSSES}, got {settings.losses}")
    model.to(device)
    classes = min(settings.classes_per_batch or model.num_classes, model.num_classes)
    steps_per_epoch = -(-len(images) // (classes * settings.per_class))
    total = settings.epochs * steps_per_epoch
    kl_from = max(1, round(settings.kl_start * settings.epochs))
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = one_cycle(optimizer, settings.lr, total)
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, checkpoint=checkpoint, seed=seed, desc="vmdls",
                      progress=progress, step_schedulers={"scheduler": scheduler})
    sums = torch.zeros_like(model.class_targets, dtype=torch.float64)
    counts = torch.zeros(model.num_classes, dtype=torch.float64, device=sums.device)
    at = {"epoch": 0, "step": 0}  # where the run is (set per epoch: resuming restarts at an epoch)

    def step(batch):
        x, y = settings.augment(batch[0].to(device)), batch[1].to(device)
        mu, log_sigma = model.encode(x)
        f = mu + log_sigma.exp() * torch.randn_like(mu)
        losses = {}
        if "triplet" in settings.losses:
            losses["triplet"] = triplet_loss(f, y, settings.triplet_margin)
        if "distancing" in settings.losses:
            margin = margin_at(settings, (at["epoch"] * steps_per_epoch + at["step"]) / total)
            losses["distancing"] = distancing_loss(f, y, margin)
        if "kl" in settings.losses and at["epoch"] >= kl_from:
            losses["kl"] = settings.kl_weight * class_kl(mu, log_sigma, model.class_targets[y],
                                                         settings.target_variance)
        loss = sum(losses.values()) if losses else f.sum() * 0
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums.index_add_(0, y, f.detach().double())
        counts.index_add_(0, y, torch.ones_like(y, dtype=torch.float64))
        at["step"] += 1
        return {"loss": loss.detach(), **{k: v.detach() for k, v in losses.items()}}

    def end_of_epoch(epoch: int) -> None:
        totals, seen_counts = distributed.all_reduce_sum(sums, counts)  # every rank's codes
        seen = seen_counts > 0
        model.class_targets[seen] = (totals[seen] / seen_counts[seen, None]).to(model.class_targets.dtype)
        model.targets_epoch.fill_(epoch + 1)
        sums.zero_()
        counts.zero_()

    def batches(epoch: int):
        at.update(epoch=epoch, step=0)
        return class_balanced_batches(images, labels, classes, settings.per_class, seed * 1000 + epoch)

    trainer.run(settings.epochs, batches, step, end_of_epoch)
    return model.eval()


__all__ = ["LOSSES", "VMDLSSettings", "class_kl", "distancing_loss", "margin_at", "train_vmdls", "triplet_loss"]
