"""The dynamic latent scale GAN (DLSGAN) of AnoDLSGAN, its InfoGAN variant, and the plain
autoencoder built from the same encoder and decoder (docs/methods.md, "AnoDLSGAN").

Encoder E (also the discriminator): 3×3 convolutions with LeakyReLU at widths w, 2w | 2w, 4w |
4w, 4w | 8w with a 2× average-pool downsampling between the groups (32 → 4 pixels), flattened,
then two linear heads: the adversarial logit and the latent code ẑ ∈ ℝᵈ. Decoder G: the mirror
image (linear to 8w × 4 × 4, convolutions with 2× nearest upsampling), with no activation on the
output. Inputs are images in [0, 1], [B, C, 32, 32]; the networks see them in [−1, 1] (as the
paper), and generated images are returned in [0, 1]. (The paper's equalized learning rate is not
used: plain initialisation, Adam.)
"""

from typing import Optional

import torch
from torch import Tensor, nn


def _conv(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.2))


class Encoder(nn.Module):
    """[B, C, 32, 32] in [0, 1] → (adversarial logit [B], latent code [B, latent])."""

    def __init__(self, in_channels: int, width: int, latent: int):
        super().__init__()
        w = width
        self.trunk = nn.Sequential(
            _conv(in_channels, w), _conv(w, 2 * w), nn.AvgPool2d(2),
            _conv(2 * w, 2 * w), _conv(2 * w, 4 * w), nn.AvgPool2d(2),
            _conv(4 * w, 4 * w), _conv(4 * w, 4 * w), nn.AvgPool2d(2),
            _conv(4 * w, 8 * w), nn.Flatten(),
        )
        self.adversarial = nn.Linear(8 * w * 16, 1)
        self.latent = nn.Linear(8 * w * 16, latent)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(2 * x - 1)
        return self.adversarial(h).squeeze(1), self.latent(h)


class Decoder(nn.Module):
    """[B, latent] → images [B, C, 32, 32] in [0, 1] (the generator)."""

    def __init__(self, in_channels: int, width: int, latent: int):
        super().__init__()
        w = width
        self.project = nn.Sequential(nn.Linear(latent, 8 * w * 16), nn.LeakyReLU(0.2))
        self.body = nn.Sequential(
            _conv(8 * w, 4 * w), nn.Upsample(scale_factor=2),
            _conv(4 * w, 4 * w), _conv(4 * w, 4 * w), nn.Upsample(scale_factor=2),
            _conv(4 * w, 2 * w), _conv(2 * w, 2 * w), nn.Upsample(scale_factor=2),
            _conv(2 * w, w), nn.Conv2d(w, in_channels, 3, padding=1),
        )
        self.width = w

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(len(z), 8 * self.width, 4, 4)
        return (self.body(h) + 1) / 2


class DLSGAN(nn.Module):
    """Encoder / discriminator, generator and the traced latent variance v.

    v [latent] is the exponential moving average (β) of the uncentred second moment of the
    encoder's code of generated images; the dynamic latent scale s = sqrt(d · v / Σ v) (so that
    Σ s² = d) multiplies the generator's input. dynamic_scale=False gives InfoGAN (s ≡ 1); v is
    traced all the same (it is the variance the latent-likelihood score uses).
    """

    def __init__(self, in_channels: int = 1, width: int = 128, latent: int = 256, dynamic_scale: bool = True,
                 beta: float = 0.999):
        super().__init__()
        self.config = dict(in_channels=in_channels, width=width, latent=latent, dynamic_scale=dynamic_scale, beta=beta)
        self.encoder = Encoder(in_channels, width, latent)
        self.generator = Decoder(in_channels, width, latent)
        self.register_buffer("latent_variance", torch.ones(latent))
        self.dynamic_scale, self.beta, self.latent_dim = dynamic_scale, beta, latent
        self.to(memory_format=torch.channels_last)  # see models.classifier: 1.5× here

    def latent_scale(self) -> Tensor:
        """s [latent]: sqrt(d · v / Σ v) (a constant: no gradient), or ones for InfoGAN."""
        v = self.latent_variance
        if not self.dynamic_scale:
            return torch.ones_like(v)
        return (self.latent_dim * v / v.sum()).sqrt().detach()

    @torch.no_grad()
    def trace_latent(self, code: Tensor) -> None:
        """v ← β v + (1 − β) mean_batch(ẑ²) for codes ẑ [B, latent] of generated images."""
        second_moment = code.detach().pow(2).mean(0).to(self.latent_variance)
        self.latent_variance.mul_(self.beta).add_((1 - self.beta) * second_moment)

    def generate(self, z: Tensor, scale: Optional[Tensor] = None) -> Tensor:
        """G(z ⊙ s): images [B, C, 32, 32] in [0, 1] from prior draws z [B, latent]."""
        return self.generator(z * (self.latent_scale() if scale is None else scale))

    def encode_latent(self, x: Tensor) -> Tensor:
        """The latent code ẑ = E(x): [B, latent]."""
        return self.encoder(x)[1]

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(E(x) ⊙ s): [B, C, 32, 32] in [0, 1]."""
        return self.generate(self.encode_latent(x))


class Autoencoder(nn.Module):
    """The same encoder and decoder trained as a plain autoencoder (the seed's "Reconstruction"
    baseline); the encoder's adversarial head is unused."""

    def __init__(self, in_channels: int = 1, width: int = 128, latent: int = 256):
        super().__init__()
        self.config = dict(in_channels=in_channels, width=width, latent=latent)
        self.encoder = Encoder(in_channels, width, latent)
        self.decoder = Decoder(in_channels, width, latent)
        self.to(memory_format=torch.channels_last)  # see models.classifier: 1.3× here

    def reconstruct(self, x: Tensor) -> Tensor:
        """D(E(x)): [B, C, 32, 32] in [0, 1]."""
        return self.decoder(self.encoder(x)[1])

    def forward(self, x: Tensor) -> Tensor:
        return self.reconstruct(x)


__all__ = ["Autoencoder", "DLSGAN", "Decoder", "Encoder"]
