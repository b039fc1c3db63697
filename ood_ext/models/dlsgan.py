"""The dynamic latent scale GAN (DLSGAN) of AnoDLSGAN, its InfoGAN variant, and the plain
autoencoder built from the same encoder and decoder (docs/methods.md, "AnoDLSGAN").

The layout of the authors' code, every layer with the equalized learning rate (models.equalized)
and LeakyReLU(0.2). Encoder E (also the discriminator): a 1×1 convolution to w channels, then three
groups [3×3 conv, 3×3 conv doubling the channels, blur-downsample] (32 → 4 pixels, 8w channels),
flattened, and two linear heads: the adversarial logit and the latent code ẑ ∈ ℝᵈ. Decoder G:
linear to 8w × 4 × 4, three groups [blur-upsample, 3×3 conv halving the channels, 3×3 conv], a 1×1
convolution to the image channels, no output activation. Inputs are images in [0, 1],
[B, C, 32, 32]; the networks work in [−1, 1] (as the paper), generated images are returned in [0, 1].
"""

from typing import Optional

import torch
from torch import Tensor, nn

from .equalized import BlurDown, BlurUp, EqualConv2d, EqualLinear


def _conv(c_in: int, c_out: int, kernel_size: int = 3) -> nn.Module:
    return nn.Sequential(EqualConv2d(c_in, c_out, kernel_size), nn.LeakyReLU(0.2))


class Encoder(nn.Module):
    """[B, C, 32, 32] in [0, 1] → (adversarial logit [B], latent code [B, latent])."""

    def __init__(self, in_channels: int, width: int, latent: int):
        super().__init__()
        layers = [_conv(in_channels, width, 1)]
        for c in (width, 2 * width, 4 * width):
            layers += [_conv(c, c), _conv(c, 2 * c), BlurDown(2 * c)]
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.adversarial = EqualLinear(8 * width * 16, 1)
        self.latent = EqualLinear(8 * width * 16, latent)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(2 * x - 1)
        return self.adversarial(h).squeeze(1), self.latent(h)


class Decoder(nn.Module):
    """[B, latent] → images [B, C, 32, 32] in [0, 1] (the generator)."""

    def __init__(self, in_channels: int, width: int, latent: int):
        super().__init__()
        self.project = nn.Sequential(EqualLinear(latent, 8 * width * 16), nn.LeakyReLU(0.2))
        layers = []
        for c in (8 * width, 4 * width, 2 * width):
            layers += [BlurUp(c), _conv(c, c // 2), _conv(c // 2, c // 2)]
        self.body = nn.Sequential(*layers, EqualConv2d(width, in_channels, 1))
        self.width = width

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(len(z), 8 * self.width, 4, 4)
        return (self.body(h) + 1) / 2


class DLSGAN(nn.Module):
    """Encoder / discriminator, generator and the traced latent variance v.

    v [latent] is the exponential moving average of the uncentred second moment of the encoder's
    code of generated images (its rate β is the trainer's); the dynamic latent scale s = sqrt(d · v / Σ v) (so that
    Σ s² = d) multiplies the generator's input. dynamic_scale=False gives InfoGAN (s ≡ 1); v is
    traced all the same (it is the variance the latent-likelihood score uses).
    """

    def __init__(self, in_channels: int = 1, width: int = 128, latent: int = 256, dynamic_scale: bool = True):
        super().__init__()
        self.config = dict(in_channels=in_channels, width=width, latent=latent, dynamic_scale=dynamic_scale)
        self.encoder = Encoder(in_channels, width, latent)
        self.generator = Decoder(in_channels, width, latent)
        self.register_buffer("latent_variance", torch.ones(latent))
        self.dynamic_scale, self.latent_dim = dynamic_scale, latent
        self.to(memory_format=torch.channels_last)  # see models.classifier: 1.17× per training step at width 8

    def latent_scale(self) -> Tensor:
        """s [latent]: sqrt(d · v / Σ v) (a constant: no gradient), or ones for InfoGAN."""
        v = self.latent_variance
        if not self.dynamic_scale:
            return torch.ones_like(v)
        return (self.latent_dim * v / v.sum()).sqrt().detach()

    @torch.no_grad()
    def trace_latent(self, code: Tensor, beta: float) -> None:
        """v ← β v + (1 − β) mean_batch(ẑ²) for codes ẑ [B, latent] of generated images."""
        second_moment = code.detach().pow(2).mean(0).to(self.latent_variance)
        self.latent_variance.mul_(beta).add_((1 - beta) * second_moment)

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
        self.to(memory_format=torch.channels_last)  # see models.classifier

    def reconstruct(self, x: Tensor) -> Tensor:
        """D(E(x)): [B, C, 32, 32] in [0, 1]."""
        return self.decoder(self.encoder(x)[1])

    def forward(self, x: Tensor) -> Tensor:
        return self.reconstruct(x)


__all__ = ["Autoencoder", "DLSGAN", "Decoder", "Encoder"]
