"""VMDLS's network (docs/methods.md, "VMDLS"): a four-stage backbone g and a stochastic head
μ(g(x)), σ(g(x)) = exp(log σ(g(x))) whose sampled code f = μ + σ ⊙ ε is shaped by metric losses.

The backbone is a ResNet (BasicBlocks, the project's classifier blocks) or the plain CNN of the
seed's MNIST experiments (two 3×3 conv-BN-LeakyReLU layers per stage); stage widths w, 2w, 4w, 8w
with strides 1, 2, 2, 2. The feature ensemble's parts, each [N, ·]:

* ``t1``, ``t2``, ``t3``: the average-pooled outputs of the first three stages (w, 2w, 4w),
* ``g``: the average-pooled last stage (8w), the backbone's output,
* ``mu``: μ(g(x)) (latent).

``class_targets`` [C, latent] is the buffer of the training targets m(c) (the previous epoch's
class means of f); ``targets_epoch`` counts the epochs they summarise (0: not set yet).
"""

import torch
from torch import Tensor, nn

from .classifier import BasicBlock

PARTS = ("t1", "t2", "t3", "g", "mu")
BACKBONES = ("resnet", "cnn")


class ConvBlock(nn.Module):
    """Two 3×3 conv-BN-LeakyReLU(0.2) layers, the first with the stage's stride."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class VMDLSNet(nn.Module):
    """Backbone + stochastic head. ``forward(x)`` = μ(g(x)) [N, latent]."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, backbone: str = "resnet", width: int = 16,
                 latent: int = 32):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}")
        self.config = dict(in_channels=in_channels, num_classes=num_classes, backbone=backbone, width=width,
                           latent=latent)
        block = BasicBlock if backbone == "resnet" else ConvBlock
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        widths = (width, 2 * width, 4 * width, 8 * width)
        self.stages = nn.ModuleList(block(c_in, c_out, 1 if i == 0 else 2)
                                    for i, (c_in, c_out) in enumerate(zip((width,) + widths[:-1], widths)))
        self.mu = nn.Linear(widths[-1], latent)
        self.log_sigma = nn.Linear(widths[-1], latent)
        self.register_buffer("class_targets", torch.zeros(num_classes, latent))
        self.register_buffer("targets_epoch", torch.zeros((), dtype=torch.int64))
        self.num_classes, self.latent_dim = num_classes, latent
        self.part_dims = dict(zip(PARTS, (*widths, latent)))
        self.to(memory_format=torch.channels_last)  # see models.classifier: 1.3× here

    def parts(self, x: Tensor, names=PARTS) -> dict[str, Tensor]:
        """The named feature-ensemble parts of x [N, C, H, W] (plus ``log_sigma`` when asked for),
        running the backbone only as deep as they need."""
        depth = 4 if {"g", "mu", "log_sigma"} & set(names) else max(int(n[1]) for n in names)
        out, h = {}, self.stem(x)
        for i, stage in enumerate(self.stages[:depth]):
            h = stage(h)
            out[("t1", "t2", "t3", "g")[i]] = h.mean((2, 3))
        if "mu" in names:
            out["mu"] = self.mu(out["g"])
        if "log_sigma" in names:
            out["log_sigma"] = self.log_sigma(out["g"])
        return {name: out[name] for name in names}

    def feature_ensemble(self, x: Tensor, names=PARTS) -> Tensor:
        """t(x): the named parts concatenated, [N, Σ part dims]."""
        return torch.cat(list(self.parts(x, names).values()), dim=1)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, log σ), each [N, latent]."""
        p = self.parts(x, ("mu", "log_sigma"))
        return p["mu"], p["log_sigma"]

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)[0]

    @torch.no_grad()
    def nearest_target(self, x: Tensor) -> Tensor:
        """The class whose training target m(c) is nearest to μ(g(x)): [N] int64."""
        return torch.cdist(self(x), self.class_targets).argmin(1)


__all__ = ["BACKBONES", "PARTS", "ConvBlock", "VMDLSNet"]
