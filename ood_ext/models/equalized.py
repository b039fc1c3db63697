"""Layers with the equalized learning rate (Karras et al., as AnoDLSGAN's authors' code uses them)
and the [1, 3, 3, 1] blur resampling of StyleGAN-type networks.

Equalized learning rate: a weight is stored as w ~ N(0, 1) and multiplied at run time by the He
constant c = sqrt(2 / fan_in); biases start at 0. Every layer then starts at the same activation
scale and, under Adam, every weight takes relative steps of the same size whatever its fan-in.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class EqualLinear(nn.Module):
    """[B, n_in] → [B, n_out]: x (c w)ᵀ + b."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.scale = math.sqrt(2.0 / n_in)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualConv2d(nn.Module):
    """[B, c_in, H, W] → [B, c_out, H, W]: a k × k convolution (odd k, 'same' padding) with c w."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = math.sqrt(2.0 / (c_in * kernel_size * kernel_size))
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def _blur_kernel(channels: int, gain: float) -> Tensor:
    """The separable [1, 3, 3, 1] kernel normalised to sum `gain`, one per channel: [C, 1, 4, 4]."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return (k * gain / k.sum()).expand(channels, 1, 4, 4).contiguous()


class BlurDown(nn.Module):
    """[B, C, H, W] → [B, C, H/2, W/2]: blur with [1, 3, 3, 1]², then keep every second pixel."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("kernel", _blur_kernel(channels, 1.0), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.kernel.to(x.dtype), stride=2, padding=1, groups=x.shape[1])


class BlurUp(nn.Module):
    """[B, C, H, W] → [B, C, 2H, 2W]: insert zeros between pixels, then blur with 4 · [1, 3, 3, 1]²
    (a transposed depthwise convolution)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("kernel", _blur_kernel(channels, 4.0), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.kernel.to(x.dtype), stride=2, padding=1, groups=x.shape[1])


__all__ = ["BlurDown", "BlurUp", "EqualConv2d", "EqualLinear"]
