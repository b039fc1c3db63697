"""A noise-conditional score network (NCSN, Song & Ermon) in the RefineNet style: residual
blocks and RefineNet fusion blocks whose normalisations are conditional instance norms (one
set of γ, β, α per noise level), at a configurable width.

s_θ(x, i) = net(x, i) / σ_i: the network predicts the negated unit noise, so the denoising
target of level i, −(x̃ − x)/σ_i², has the same scale at every level (as in NCSN v2).
Inputs are images in [0, 1], [B, C, H, W] with H, W divisible by 4.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def geometric_sigmas(levels: int = 10, sigma_max: float = 1.0, sigma_min: float = 0.01) -> Tensor:
    """σ_i = exp(linspace(log σ_max, log σ_min, L)), largest first."""
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), levels))


class CondInstanceNorm(nn.Module):
    """Conditional instance norm++: γ_i (x − μ)/σ + β_i + α_i (μ − mean_c μ)/std_c μ, per channel."""

    def __init__(self, channels: int, levels: int):
        super().__init__()
        self.gamma = nn.Embedding(levels, channels)
        self.beta = nn.Embedding(levels, channels)
        self.alpha = nn.Embedding(levels, channels)
        nn.init.normal_(self.gamma.weight, 1.0, 0.02)
        nn.init.zeros_(self.beta.weight)
        nn.init.normal_(self.alpha.weight, 1.0, 0.02)

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        # Written as (x − μ) · γ/σ + shift in three passes over x: torch.var over (H, W) of a
        # channels-last tensor cost a third of the network's time (width 8: 1.7× the images/s).
        mu = x.mean((2, 3), keepdim=True)
        centred = x - mu
        var = centred.square().mean((2, 3), keepdim=True)
        means = mu.mean(1, keepdim=True)
        spread = (mu.var(1, keepdim=True, unbiased=False) + 1e-5).sqrt()
        shape = (x.shape[0], x.shape[1], 1, 1)
        g, b, a = (e(level).view(shape) for e in (self.gamma, self.beta, self.alpha))
        return torch.addcmul(b + a * (mu - means) / spread, centred, g * torch.rsqrt(var + 1e-5))


class CondResBlock(nn.Module):
    """norm → ELU → conv → norm → ELU → conv, plus a (projected) shortcut; optional 2× downsampling
    or dilation."""

    def __init__(self, c_in: int, c_out: int, levels: int, downsample: bool = False, dilation: int = 1):
        super().__init__()
        self.norm1, self.norm2 = CondInstanceNorm(c_in, levels), CondInstanceNorm(c_out, levels)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=dilation, dilation=dilation)
        self.downsample = downsample
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or downsample) else None

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        h = self.conv1(F.elu(self.norm1(x, level)))
        h = self.conv2(F.elu(self.norm2(h, level)))
        skip = x if self.shortcut is None else self.shortcut(x)
        if self.downsample:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
        return h + skip


class CondRefineBlock(nn.Module):
    """RefineNet fusion: a residual conv unit per input, multi-resolution fusion (convolve,
    upsample to the largest input, sum), chained residual pooling, and an output unit."""

    def __init__(self, in_channels: list[int], channels: int, levels: int):
        super().__init__()
        self.adapt = nn.ModuleList(CondResBlock(c, channels, levels) for c in in_channels)
        self.fuse = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in in_channels)
        self.pool_norms = nn.ModuleList(CondInstanceNorm(channels, levels) for _ in range(2))
        self.pool_convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))
        self.out = CondResBlock(channels, channels, levels)

    def forward(self, inputs: list[Tensor], level: Tensor) -> Tensor:
        size = max(x.shape[-1] for x in inputs)
        h = 0
        for x, adapt, fuse in zip(inputs, self.adapt, self.fuse):
            y = fuse(adapt(x, level))
            h = h + (F.interpolate(y, size=(size, size), mode="bilinear", align_corners=False)
                     if y.shape[-1] != size else y)
        path = F.elu(h)
        for norm, conv in zip(self.pool_norms, self.pool_convs):
            path = conv(F.avg_pool2d(norm(path, level), 5, stride=1, padding=2))
            h = h + path
        return self.out(h, level)


class NCSN(nn.Module):
    """The score network s_θ(x, i) over `levels` noise levels σ (a buffer, largest first)."""

    def __init__(self, in_channels: int = 1, width: int = 32, levels: int = 10, sigma_max: float = 1.0,
                 sigma_min: float = 0.01):
        super().__init__()
        self.config = dict(in_channels=in_channels, width=width, levels=levels, sigma_max=sigma_max,
                           sigma_min=sigma_min)
        self.register_buffer("sigmas", geometric_sigmas(levels, sigma_max, sigma_min))
        w = width
        self.begin = nn.Conv2d(in_channels, w, 3, padding=1)
        self.stage1 = nn.ModuleList([CondResBlock(w, w, levels), CondResBlock(w, w, levels)])
        self.stage2 = nn.ModuleList([CondResBlock(w, 2 * w, levels, downsample=True),
                                     CondResBlock(2 * w, 2 * w, levels)])
        self.stage3 = nn.ModuleList([CondResBlock(2 * w, 2 * w, levels, downsample=True),
                                     CondResBlock(2 * w, 2 * w, levels, dilation=2)])
        self.refine3 = CondRefineBlock([2 * w], 2 * w, levels)
        self.refine2 = CondRefineBlock([2 * w, 2 * w], 2 * w, levels)
        self.refine1 = CondRefineBlock([w, 2 * w], w, levels)
        self.end_norm = CondInstanceNorm(w, levels)
        self.end = nn.Conv2d(w, in_channels, 3, padding=1)
        self.to(memory_format=torch.channels_last)  # see models.classifier: 1.2× here

    @property
    def num_levels(self) -> int:
        return len(self.sigmas)

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        """Scores [B, C, H, W] of inputs x (in [0, 1]) at noise-level indices `level` [B] (long)."""
        h = self.begin(2 * x - 1)
        for block in self.stage1:
            h = block(h, level)
        h1 = h
        for block in self.stage2:
            h = block(h, level)
        h2 = h
        for block in self.stage3:
            h = block(h, level)
        h = self.refine3([h], level)
        h = self.refine2([h2, h], level)
        h = self.refine1([h1, h], level)
        out = self.end(F.elu(self.end_norm(h, level)))
        return out / self.sigmas[level].view(-1, 1, 1, 1)

    def scores_all_levels(self, x: Tensor) -> Tensor:
        """s_θ(x, i) for every level: [L, B, C, H, W] (batched over the L·B inputs, in_chunks)."""
        levels = torch.arange(self.num_levels, device=x.device).repeat_interleave(x.shape[0])
        return in_chunks(self, x.repeat(self.num_levels, 1, 1, 1), levels).view(self.num_levels, *x.shape)


# Inputs per forward pass when a score network evaluates many: one pass over thousands of inputs
# thrashes the CPU caches (quick NCSN, width 12, 2 cores, inference: 173 inputs/s in one pass of
# 2,560, 247 in passes of 1,024, 363 in passes of 256 or 64).
EVAL_CHUNK = 256


def in_chunks(model: nn.Module, x: Tensor, level: Tensor, size: int = EVAL_CHUNK) -> Tensor:
    """model(x, level) for inputs x [B, ...] and levels [B], `size` inputs per forward pass."""
    return torch.cat([model(a, b) for a, b in zip(x.split(size), level.split(size))])
