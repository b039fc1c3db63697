"""Glow (Kingma & Dhariwal): a multi-scale flow of ActNorm → invertible 1×1 convolution (LU) →
affine coupling steps, with NLL in bits per dimension.

Sized for Fashion-MNIST as in the ROSE paper: 1×32×32 inputs, 2 levels of 16 steps, coupling
networks of 3 convolutions with 200 hidden channels (`levels`, `steps`, `hidden` configurable).
Inputs are images in [0, 1]; they are dequantised with uniform noise in training and at the bin
centres in eval mode, so the eval-mode likelihood is deterministic.

Every flow layer maps (x, logdet [B]) to (y, logdet + its log-determinant). ActNorm and the 1×1
convolution expose `curvature_terms`, so ROSE can measure their per-sample gradients (DIAG).
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG_2PI = math.log(2 * math.pi)


class ActNorm(nn.Module):
    """y = (x + bias) · exp(log_scale) per channel, initialised from the first batch."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialised", torch.tensor(False))

    @torch.no_grad()
    def _initialise(self, x: Tensor) -> None:
        mean = x.mean((0, 2, 3), keepdim=True)
        std = x.std((0, 2, 3), keepdim=True)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialised.fill_(True)

    def forward(self, x: Tensor, logdet: Tensor) -> tuple[Tensor, Tensor]:
        if not bool(self.initialised):
            self._initialise(x)
        pixels = x.shape[2] * x.shape[3]
        return (x + self.bias) * self.log_scale.exp(), logdet + pixels * self.log_scale.sum()

    def reverse(self, y: Tensor) -> Tensor:
        return y * (-self.log_scale).exp() - self.bias

    def curvature_terms(self, args: tuple, outputs: tuple, grads: tuple):
        """Per-sample gradient of [log_scale | bias] as Kronecker terms (Dout = C, Din = 2):
        ∂/∂log_scale_c = Σ_t g_tc y_tc + HW·∂L/∂logdet, ∂/∂bias_c = Σ_t g_tc exp(log_scale_c)."""
        x, (y, _), (grad_y, grad_logdet) = args[0], outputs, grads
        b, c = x.shape[:2]
        t = x.shape[2] * x.shape[3]
        g = grad_y.flatten(2).transpose(1, 2)  # [B, T, C]
        y_t = y.flatten(2).transpose(1, 2)
        scale = self.log_scale.exp().view(1, 1, c)
        g_terms = torch.cat([g * y_t, g * scale, (grad_logdet * t)[:, None, None].expand(b, 1, c)], 1)
        a = x.new_zeros(b, 2 * t + 1, 2)
        a[:, :t, 0] = 1
        a[:, t : 2 * t, 1] = 1
        a[:, 2 * t, 0] = 1
        return a, g_terms


class InvConv1x1(nn.Module):
    """y = W x per pixel with W = P L (U + diag(sign · exp(log_s))) (LU-decomposed, P fixed)."""

    def __init__(self, channels: int):
        super().__init__()
        q = torch.linalg.qr(torch.randn(channels, channels))[0]
        p, lower, upper = torch.linalg.lu(q)
        s = upper.diagonal()
        self.register_buffer("permutation", p)
        self.register_buffer("sign_s", s.sign())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(s.abs().log())

    def weight_matrix(self) -> Tensor:
        """W [C, C]."""
        eye = torch.eye(len(self.log_s), device=self.log_s.device, dtype=self.log_s.dtype)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.permutation @ lower @ upper

    def forward(self, x: Tensor, logdet: Tensor) -> tuple[Tensor, Tensor]:
        w = self.weight_matrix()
        pixels = x.shape[2] * x.shape[3]
        return F.conv2d(x, w[:, :, None, None]), logdet + pixels * self.log_s.sum()

    def reverse(self, y: Tensor) -> Tensor:
        return F.conv2d(y, torch.linalg.inv(self.weight_matrix())[:, :, None, None])

    def curvature_terms(self, args: tuple, outputs: tuple, grads: tuple):
        """Per-sample gradient wrt the effective matrix W as Kronecker terms:
        ∇W_n = Σ_t g_t x_tᵀ + ∂L/∂logdet_n · HW · W⁻ᵀ, the second term as C extra positions
        (position i: a = e_i, g = column i of the matrix)."""
        x, (grad_y, grad_logdet) = args[0], grads
        b, c = x.shape[:2]
        pixels = x.shape[2] * x.shape[3]
        a = torch.cat([x.flatten(2).transpose(1, 2), torch.eye(c, dtype=x.dtype, device=x.device).expand(b, c, c)], 1)
        inverse = torch.linalg.inv(self.weight_matrix().detach())  # rows of W⁻¹ = columns of W⁻ᵀ
        extra = (grad_logdet * pixels)[:, None, None] * inverse[None]
        return a, torch.cat([grad_y.flatten(2).transpose(1, 2), extra], 1)


class ZeroConv2d(nn.Module):
    """3×3 convolution initialised at zero with a learned per-channel output scale."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv.weight.data.zero_()
        self.conv.bias.data.zero_()
        self.log_scale = nn.Parameter(torch.zeros(1, c_out, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) * (3 * self.log_scale).exp()


class AffineCoupling(nn.Module):
    """The second half of the channels is shifted and scaled by a network of the first half:
    y_b = (x_b + t(x_a)) · sigmoid(s(x_a) + 2)."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels // 2, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(), ZeroConv2d(hidden, 2 * (channels - channels // 2)))

    def _shift_scale(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        h = self.net(x_a)
        return h[:, 0::2], torch.sigmoid(h[:, 1::2] + 2.0)

    def forward(self, x: Tensor, logdet: Tensor) -> tuple[Tensor, Tensor]:
        x_a, x_b = x.chunk(2, 1)
        shift, scale = self._shift_scale(x_a)
        return torch.cat([x_a, (x_b + shift) * scale], 1), logdet + scale.log().flatten(1).sum(1)

    def reverse(self, y: Tensor) -> Tensor:
        y_a, y_b = y.chunk(2, 1)
        shift, scale = self._shift_scale(y_a)
        return torch.cat([y_a, y_b / scale - shift], 1)


def squeeze(x: Tensor) -> Tensor:
    """[B, C, H, W] → [B, 4C, H/2, W/2]."""
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x: Tensor) -> Tensor:
    b, c, h, w = x.shape
    return x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)


def gaussian_log_density(z: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """Σ log N(z; mean, exp(log_std)²) per sample: [B]."""
    return (-0.5 * (LOG_2PI + 2 * log_std + (z - mean) ** 2 * (-2 * log_std).exp())).flatten(1).sum(1)


class Glow(nn.Module):
    def __init__(self, in_channels: int = 1, size: int = 32, levels: int = 2, steps: int = 16, hidden: int = 200):
        super().__init__()
        self.config = dict(in_channels=in_channels, size=size, levels=levels, steps=steps, hidden=hidden)
        self.levels = nn.ModuleList()
        self.priors = nn.ModuleList()
        c = in_channels
        for level in range(levels):
            c *= 4
            flow = nn.ModuleList()
            for _ in range(steps):
                flow.extend([ActNorm(c), InvConv1x1(c), AffineCoupling(c, hidden)])
            self.levels.append(flow)
            last = level == levels - 1
            # The prior of the factored-out half (or of everything at the top) from the kept half.
            self.priors.append(ZeroConv2d(c if last else c // 2, 2 * (c if last else c // 2)))
            if not last:
                c //= 2
        self.dims = in_channels * size * size

    def _preprocess(self, x: Tensor) -> Tensor:
        noise = torch.rand_like(x) if self.training else torch.full_like(x, 0.5)
        return (torch.floor(x * 255) + noise) / 256 - 0.5

    def log_likelihood(self, x: Tensor, samples: int = 1) -> Tensor:
        """The exact log p(x) of the 8-bit image (discrete likelihood, nats): [B]. `samples` is
        ignored (it is the Monte Carlo budget of approximate models, see models.interfaces)."""
        h = self._preprocess(x)
        logdet = h.new_zeros(h.shape[0])
        log_prior = h.new_zeros(h.shape[0])
        for index, (flow, prior) in enumerate(zip(self.levels, self.priors)):
            h = squeeze(h)
            for layer in flow:
                h, logdet = layer(h, logdet)
            if index < len(self.levels) - 1:
                kept, out = h.chunk(2, 1)
                params = prior(kept)
                log_prior = log_prior + gaussian_log_density(out, params[:, 0::2], params[:, 1::2])
                h = kept
            else:
                params = prior(torch.zeros_like(h))
                log_prior = log_prior + gaussian_log_density(h, params[:, 0::2], params[:, 1::2])
        return log_prior + logdet - self.dims * math.log(256)

    def nll_bits(self, x: Tensor) -> Tensor:
        """Negative log-likelihood in bits per dimension: [B]."""
        return -self.log_likelihood(x) / (self.dims * math.log(2))

    def curvature_layers(self) -> list[nn.Module]:
        """The invertible 1×1 convolutions (where the ROSE paper measures Glow's curvature)."""
        return [m for m in self.modules() if isinstance(m, InvConv1x1)]

    def forward(self, x: Tensor) -> Tensor:
        return self.nll_bits(x)
