"""Denoising score matching for the NCSN and its rotation-augmented variant (RotNCSN).

Loss per sample, level i ~ U{1..L}, x̃ = x + σ_i ε:
    NCSN:     ½ σ_i² ‖s_θ(x̃, i) + (x̃ − x)/σ_i²‖²
    RotNCSN:  ½ σ_i² ‖s_θ(r(x̃), i) + (x̃ − x)/σ_i²‖²,  r a random rotation by 0/90/180/270°
RotNCSN's convention (seed 004, eq. 4): the network sees the *rotated* noisy image but is asked
for the *original, unrotated* noise term — it must undo the rotation, which makes it
orientation- and shape-aware. Scoring (detectors.msma) uses the same convention.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor, nn

from .trainer import Trainer, one_cycle

SCHEDULES = ("constant", "one-cycle")


@dataclass(frozen=True)
class NCSNSettings:
    """Score network architecture and denoising-score-matching training on up to `train_samples`
    ID images (None: all) with Adam: at `lr` throughout (schedule 'constant', the paper's) or on
    the project's one cycle peaking at `lr` ('one-cycle'); rotation=True trains a RotNCSN."""

    width: int
    levels: int
    train_samples: Optional[int]
    epochs: int
    batch_size: int
    lr: float
    rotation: bool = False
    schedule: str = "one-cycle"

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")


ROTATIONS = (0, 1, 2, 3)  # multiples of 90° (counter-clockwise, torch.rot90 over H, W)


def rotate(x: Tensor, turns: Tensor) -> Tensor:
    """Each image x[b] rotated by turns[b] × 90° counter-clockwise: [B, C, H, W] (H = W)."""
    out = torch.empty_like(x)
    for k in ROTATIONS:
        chosen = turns == k
        if chosen.any():
            out[chosen] = torch.rot90(x[chosen], k, dims=(2, 3))
    return out


def denoising_loss(model: nn.Module, x: Tensor, level: Tensor, noise: Tensor,
                   turns: Optional[Tensor] = None) -> Tensor:
    """Per-sample DSM loss [B] for given levels [B], unit noise ε [B, C, H, W] and (RotNCSN)
    rotations [B]: ½ σ² ‖s(r(x + σε), i) + ε/σ‖², the target being the unrotated noise term."""
    sigma = model.sigmas[level].view(-1, 1, 1, 1)
    noisy = x + sigma * noise
    inputs = noisy if turns is None else rotate(noisy, turns)
    residual = model(inputs, level) + noise / sigma  # (x̃ − x)/σ² = ε/σ
    return 0.5 * (sigma**2 * residual**2).flatten(1).sum(1)


@torch.no_grad()
def dsm_loss_per_level(model: nn.Module, x: Tensor, rotation: bool = False, seed: int = 0) -> Tensor:
    """Mean DSM loss [L] of images x [B, C, H, W] at every noise level: the same noise draw for
    every level, and (rotation) a random rotation per image and level, all from `seed`; one
    forward pass of B inputs per level. ½ ‖ε‖² (= ½ C·H·W) is the loss of a network that outputs
    zero."""
    levels = len(model.sigmas)
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(x.shape, generator=g, dtype=x.dtype).to(x.device)
    turns = torch.randint(0, 4, (levels, len(x)), generator=g).to(x.device) if rotation else [None] * levels
    return torch.stack([denoising_loss(model, x, torch.full((len(x),), i, device=x.device), noise, turns[i]).mean()
                        for i in range(levels)])


def train_ncsn(model: nn.Module, images: Tensor, settings: NCSNSettings, device="cpu",
               checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> nn.Module:
    """Train a score network on images [N, C, H, W] in [0, 1] (a RotNCSN when
    settings.rotation); returns it in eval mode. Resumes from `checkpoint`."""
    rotation = settings.rotation
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    steps = settings.epochs * -(-len(images) // settings.batch_size)
    schedulers = {"scheduler": one_cycle(optimizer, settings.lr, steps)} if settings.schedule == "one-cycle" else {}
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, checkpoint=checkpoint, seed=seed,
                      desc="rotncsn" if rotation else "ncsn", progress=progress, step_schedulers=schedulers)

    def step(batch):
        x = batch[0].to(device)
        level = torch.randint(0, model.num_levels, (x.shape[0],), device=device)
        turns = torch.randint(0, 4, (x.shape[0],), device=device) if rotation else None
        loss = denoising_loss(model, x, level, torch.randn_like(x), turns).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"dsm": loss.detach()}

    trainer.run_on(images, None, settings.epochs, settings.batch_size, step)
    return model.eval()
