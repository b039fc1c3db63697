"""Supervised training of classifiers (the classifier baselines, HSCAE's conditioner)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.augment import Augmentation
from ..data.images import loader
from .trainer import Trainer, one_cycle


@dataclass(frozen=True)
class ClassifierSettings:
    """ResNet classifier training: AdamW on a one-cycle schedule over every step (the learning rate
    warms up to `lr` over the first 15 %, then anneals on a cosine), on training images augmented
    by `augment` (none by default)."""

    width: int
    blocks: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    augment: Augmentation = Augmentation()


def train_classifier(model: nn.Module, images: Tensor, labels: Tensor, settings: ClassifierSettings,
                     device: str | torch.device = "cpu", checkpoint: Optional[Path] = None, seed: int = 0,
                     progress: bool = True) -> nn.Module:
    """Cross-entropy training of `model` on images [N, C, H, W] and labels [N]; returns it in eval
    mode. Resumes from `checkpoint` when it exists."""
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps = settings.epochs * -(-len(images) // settings.batch_size)
    scheduler = one_cycle(optimizer, settings.lr, steps)
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, checkpoint=checkpoint, seed=seed,
                      desc="classifier", progress=progress, step_schedulers={"scheduler": scheduler})

    def step(batch):
        x, y = settings.augment(batch[0].to(device)), batch[1].to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    trainer.run_on(images, labels, settings.epochs, settings.batch_size, step)
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy of a classifier (model mode restored)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for (x, y) in loader(images, labels, batch_size):
        correct += int((model(x.to(device)).argmax(1).cpu() == y).sum())
    model.train(was_training)
    return correct / len(labels)
