"""Training of the ConvVAE (−ELBO, Adam with step decay), optionally on perturbed inputs (the
background model of Likelihood Ratio)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor, nn

from .trainer import Trainer


@dataclass(frozen=True)
class VAESettings:
    """ConvVAE training (Adam, learning rate × gamma every `step` epochs; ROSE paper B.1) on up
    to `train_samples` ID images (None: all); perturbation > 0 trains the background model of
    Likelihood Ratio on inputs perturbed afresh every batch."""

    width: int
    latent: int
    epochs: int
    batch_size: int
    lr: float
    step: int
    gamma: float
    train_samples: Optional[int]
    perturbation: float = 0.0


def perturb(x: Tensor, rate: float) -> Tensor:
    """Each sub-pixel replaced, with probability `rate`, by a uniform 8-bit value (Ren et al.)."""
    mask = torch.rand_like(x) < rate
    noise = torch.randint(0, 256, x.shape, device=x.device).to(x.dtype) / 255.0
    return torch.where(mask, noise, x)


def train_vae(model: nn.Module, images: Tensor, settings: VAESettings, device="cpu",
              checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> nn.Module:
    """Minimise the mean −ELBO of images [N, C, 32, 32] in [0, 1] (perturbed when
    settings.perturbation > 0); returns the model in eval mode. Resumes from `checkpoint`."""
    perturbation = settings.perturbation
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, settings.step, settings.gamma)
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, {"scheduler": scheduler}, checkpoint, seed,
                      desc="vae" if perturbation == 0 else "background vae", progress=progress)

    def step(batch):
        x = batch[0].to(device)
        if perturbation > 0:
            x = perturb(x, perturbation)
        loss = model.neg_elbo(x).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"neg_elbo": loss.detach()}

    trainer.run_on(images, None, settings.epochs, settings.batch_size, step)
    return model.eval()
