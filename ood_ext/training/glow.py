"""Training of Glow: NLL in bits per dimension, Adamax with a linear learning-rate warm-up and
gradient-norm clipping (flows are touchy early on)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor, nn

from .trainer import Trainer


@dataclass(frozen=True)
class GlowSettings:
    """Glow architecture and training (Adamax with a linear warm-up; ROSE paper B.2) on up to
    `train_samples` ID images (None: all)."""

    levels: int
    steps: int
    hidden: int
    train_samples: Optional[int]
    epochs: int
    batch_size: int
    lr: float
    warmup_steps: int


def train_glow(model: nn.Module, images: Tensor, settings: GlowSettings, device="cpu",
               checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> nn.Module:
    """Minimise the mean NLL (bits/dim) of images [N, C, H, W] in [0, 1]; returns the model in eval
    mode. ActNorm layers initialise from the first batch. Resumes from `checkpoint`."""
    model.to(device)
    optimizer = torch.optim.Adamax(model.parameters(), lr=settings.lr)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: min(1.0, (it + 1) / settings.warmup_steps))
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, {}, checkpoint, seed, desc="glow",
                      progress=progress, step_schedulers={"warmup": warmup})

    def step(batch):
        loss = model.nll_bits(batch[0].to(device)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()
        return {"bits_per_dim": loss.detach()}

    trainer.run_on(images, None, settings.epochs, settings.batch_size, step)
    return model.eval()
