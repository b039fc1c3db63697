"""VMDLS training (docs/methods.md, "VMDLS"): metric losses on the sampled code f = μ + σ ⊙ ε of
class-balanced batches, plus a KL term pulling each code distribution N(μ, σ²) towards its class
target N(m(y), s² I), m(c) being the previous epoch's class mean of f."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .. import distributed
from ..data.sampler import class_balanced_batches
from ..models.vmdls import VMDLSNet
from .trainer import Trainer

LOSSES = ("triplet", "distancing", "kl")


@dataclass(frozen=True)
class VMDLSSettings:
    """Architecture, class-balanced batches (classes_per_batch, at most the number of classes, ×
    per_class), losses and AdamW
    (cosine schedule) on up to `train_samples` ID images (None: all).

    `losses` is a subset of LOSSES (the seed's loss ablation); `distance_margin` None means the
    latent size d."""

    backbone: str
    width: int
    latent: int
    epochs: int
    classes_per_batch: int
    per_class: int
    train_samples: Optional[int]
    losses: tuple[str, ...] = LOSSES
    triplet_margin: float = 0.1
    distance_margin: Optional[float] = None
    target_variance: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 5e-4


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


def class_kl(mu: Tensor, log_sigma: Tensor, targets: Tensor, variance: float = 0.1) -> Tensor:
    """mean over the batch of KL(N(μ, diag σ²) ‖ N(m, s² I)) =
    Σ_j [log(s / σ_j) + (σ_j² + (μ_j − m_j)²) / (2 s²) − ½]; mu, log_sigma, targets [B, d]."""
    kl = 0.5 * np.log(variance) - log_sigma + ((2 * log_sigma).exp() + (mu - targets).pow(2)) / (2 * variance) - 0.5
    return kl.sum(1).mean()


def train_vmdls(model: VMDLSNet, images: Tensor, labels: np.ndarray, settings: VMDLSSettings, device="cpu",
                checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> VMDLSNet:
    """Train on images [N, C, H, W] with labels [N] in 0..C−1; returns the model in eval mode with
    `class_targets` = the last epoch's class means of f. Resumes from `checkpoint`.

    The KL term starts at the second epoch: the first has no previous epoch's means."""
    unknown = set(settings.losses) - set(LOSSES)
    if unknown or not settings.losses:
        raise ValueError(f"losses must be a non-empty subset of {LOSSES}, got {settings.losses}")
    model.to(device)
    margin = settings.distance_margin if settings.distance_margin is not None else float(settings.latent)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, {"scheduler": scheduler}, checkpoint, seed,
                      desc="vmdls", progress=progress)
    sums = torch.zeros_like(model.class_targets, dtype=torch.float64)
    counts = torch.zeros(model.num_classes, dtype=torch.float64, device=sums.device)

    def step(batch):
        x, y = batch[0].to(device), batch[1].to(device)
        mu, log_sigma = model.encode(x)
        f = mu + log_sigma.exp() * torch.randn_like(mu)
        losses = {}
        if "triplet" in settings.losses:
            losses["triplet"] = triplet_loss(f, y, settings.triplet_margin)
        if "distancing" in settings.losses:
            losses["distancing"] = distancing_loss(f, y, margin)
        if "kl" in settings.losses and int(model.targets_epoch) > 0:
            losses["kl"] = class_kl(mu, log_sigma, model.class_targets[y], settings.target_variance)
        loss = sum(losses.values()) if losses else f.sum() * 0
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums.index_add_(0, y, f.detach().double())
        counts.index_add_(0, y, torch.ones_like(y, dtype=torch.float64))
        return {"loss": loss.detach(), **{k: v.detach() for k, v in losses.items()}}

    def end_of_epoch(epoch: int) -> None:
        totals, seen_counts = distributed.all_reduce_sum(sums, counts)  # every rank's codes
        seen = seen_counts > 0
        model.class_targets[seen] = (totals[seen] / seen_counts[seen, None]).to(model.class_targets.dtype)
        model.targets_epoch.fill_(epoch + 1)
        sums.zero_()
        counts.zero_()

    classes_per_batch = min(settings.classes_per_batch, model.num_classes)
    trainer.run(settings.epochs, lambda epoch: class_balanced_batches(images, labels, classes_per_batch,
                                                                      settings.per_class, seed * 1000 + epoch),
                step, end_of_epoch)
    return model.eval()


__all__ = ["LOSSES", "VMDLSSettings", "class_kl", "distancing_loss", "train_vmdls", "triplet_loss"]
