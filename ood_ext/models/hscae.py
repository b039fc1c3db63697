"""HSCAE's self-conditioned autoencoder (docs/methods.md, "HSCAE").

A convolutional autoencoder with a small latent (6, 8 or 10 in the paper) whose every
convolution is conditioned on a class-probability vector p [B, K] (the frozen classifier's
softmax of the autoencoder's own input): p is projected to the layer's channel count (linear +
LeakyReLU) and added at every pixel of the layer's output. Encoder: two stages of `depth`
conditioned 3×3 convolutions (widths w and 2w), each followed by 2× average pooling (28 → 7),
then a linear map to the latent; the decoder mirrors it with 2× nearest upsampling and ends in a
sigmoid. Inputs and outputs: images in [0, 1], [B, C, H, W] with H, W divisible by 4.
"""

import torch
from torch import Tensor, nn


class ConditionedConv(nn.Module):
    """3×3 convolution + LeakyReLU, plus a per-channel offset projected from the condition p."""

    def __init__(self, c_in: int, c_out: int, classes: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.condition = nn.Sequential(nn.Linear(classes, c_out), nn.LeakyReLU(0.2))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor, p: Tensor) -> Tensor:
        return self.act(self.conv(x)) + self.condition(p)[:, :, None, None]


class _Stages(nn.Module):
    """Conditioned convolution stages with a resampling layer after (encoder) or before (decoder)."""

    def __init__(self, widths: list[tuple[int, int]], depth: int, classes: int, resample: nn.Module, first: bool):
        super().__init__()
        self.blocks = nn.ModuleList()
        for c_in, c_out in widths:
            self.blocks.append(nn.ModuleList([ConditionedConv(c_in if i == 0 else c_out, c_out, classes)
                                              for i in range(depth)]))
        self.resample, self.first = resample, first

    def forward(self, h: Tensor, p: Tensor) -> Tensor:
        for block in self.blocks:
            if self.first:
                h = self.resample(h)
            for layer in block:
                h = layer(h, p)
            if not self.first:
                h = self.resample(h)
        return h


class SelfConditionedAutoencoder(nn.Module):
    """x̂ = AE(x | p): see the module docstring. `model(x, p)` reconstructs; hierarchy levels are
    repeated reconstructions, each conditioned on the classifier's view of its own input (the
    detector, detectors.hscae, drives them)."""

    def __init__(self, in_channels: int = 1, size: int = 28, classes: int = 10, width: int = 16, latent: int = 8,
                 depth: int = 2):
        super().__init__()
        if size % 4:
            raise ValueError(f"image size must be divisible by 4, got {size}")
        self.config = dict(in_channels=in_channels, size=size, classes=classes, width=width, latent=latent,
                           depth=depth)
        w, small = width, size // 4
        self.encoder = _Stages([(in_channels, w), (w, 2 * w)], depth, classes, nn.AvgPool2d(2), first=False)
        self.to_latent = nn.Linear(2 * w * small * small, latent)
        self.from_latent = nn.Sequential(nn.Linear(latent, 2 * w * small * small), nn.LeakyReLU(0.2))
        self.decoder = _Stages([(2 * w, 2 * w), (2 * w, w)], depth, classes, nn.Upsample(scale_factor=2), first=True)
        self.output = nn.Conv2d(w, in_channels, 3, padding=1)
        self.shape = (2 * w, small, small)
        self.to(memory_format=torch.channels_last)  # see models.classifier: 1.7× here

    def encode(self, x: Tensor, p: Tensor) -> Tensor:
        """[B, C, H, W], p [B, K] → latent [B, latent]."""
        return self.to_latent(self.encoder(2 * x - 1, p).flatten(1))

    def decode(self, z: Tensor, p: Tensor) -> Tensor:
        """latent [B, latent], p [B, K] → images [B, C, H, W] in [0, 1]."""
        h = self.from_latent(z).view(len(z), *self.shape)
        return torch.sigmoid(self.output(self.decoder(h, p)))

    def forward(self, x: Tensor, p: Tensor) -> Tensor:
        return self.decode(self.encode(x, p), p)
