"""Training of HSCAE's self-conditioned autoencoder: mean squared reconstruction error, the
condition being the frozen classifier's softmax (T = 1) of the input (docs/methods.md, "HSCAE")."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor, nn

from ..data.augment import Augmentation
from .trainer import Trainer


@dataclass(frozen=True)
class HSCAESettings:
    """Architecture (width, latent, conditioned convolutions per stage) and Adam training on up to
    `train_samples` ID images (None: all), augmented by `augment` (input and target alike)."""

    width: int
    latent: int
    depth: int
    epochs: int
    batch_size: int
    train_samples: Optional[int]
    lr: float = 1e-3
    augment: Augmentation = Augmentation()


@torch.no_grad()
def class_probabilities(classifier: nn.Module, x: Tensor, temperature: float = 1.0) -> Tensor:
    """softmax(f(x) / T) of a frozen classifier: [B, K]."""
    return torch.softmax(classifier(x) / temperature, dim=1)


def train_hscae(model: nn.Module, classifier: nn.Module, images: Tensor, settings: HSCAESettings, device="cpu",
                checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> nn.Module:
    """Minimise mean((AE(x | p(x)) − x)²) over images [N, C, H, W] in [0, 1] with the classifier
    frozen (eval mode, no gradient); returns the autoencoder in eval mode. Resumes from `checkpoint`."""
    model.to(device)
    classifier.eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, {}, checkpoint, seed, desc="hscae",
                      progress=progress)

    def step(batch):
        x = settings.augment(batch[0].to(device))
        loss = (model(x, class_probabilities(classifier, x)) - x).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"mse": loss.detach()}

    trainer.run_on(images, None, settings.epochs, settings.batch_size, step)
    return model.eval()
