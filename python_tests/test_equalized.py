"""Equalized-learning-rate layers against plain torch layers, and the blur resampling against a
by-hand float64 reference (zero insertion / full-resolution blur, then subsampling)."""

import math

import torch
import torch.nn.functional as F

from ood_ext.models.equalized import BlurDown, BlurUp, EqualConv2d, EqualLinear


def _blur_reference(x: torch.Tensor) -> torch.Tensor:
    """Each channel convolved with the separable [1, 3, 3, 1]² / 64, zero padding (1 before, 2 after)."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=x.dtype) / 8
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 2, 1, 2))
    out = torch.zeros_like(x)
    for i in range(4):
        for j in range(4):
            out += k[i] * k[j] * padded[..., i : i + h, j : j + w]
    return out


def test_equal_linear_and_conv_are_he_scaled_plain_layers(device):
    torch.manual_seed(0)
    lin, conv = EqualLinear(20, 5), EqualConv2d(3, 4, 3)
    assert abs(float(lin.weight.detach().std()) - 1) < 0.2 and not lin.bias.any()
    x = torch.randn(7, 20, dtype=torch.float64)
    ref = F.linear(x, lin.weight.double() * math.sqrt(2 / 20), lin.bias.double())
    torch.testing.assert_close(lin.double()(x), ref)
    y = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    ref = F.conv2d(y, conv.weight.double() * math.sqrt(2 / 27), conv.bias.double(), padding=1)
    torch.testing.assert_close(conv.double()(y), ref)
    # The He constant keeps the activation scale of unit-variance inputs.
    with torch.no_grad():
        out = EqualConv2d(64, 64, 3)(torch.randn(8, 64, 16, 16))
    assert 1.5 < float(out[..., 1:-1, 1:-1].pow(2).mean()) < 2.5


def test_blur_down_is_the_blur_at_every_second_pixel(device):
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(BlurDown(3)(x), _blur_reference(x)[..., ::2, ::2])
    assert BlurDown(3)(x).shape == (2, 3, 4, 4)


def test_blur_up_is_zero_insertion_then_four_times_the_blur(device):
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    spread = torch.zeros(2, 3, 10, 10, dtype=torch.float64)
    spread[..., 1::2, 1::2] = x
    torch.testing.assert_close(BlurUp(3)(x), 4 * _blur_reference(spread))
    # A constant image stays constant away from the border (the gain is 4 for 1 pixel in 4).
    inner = BlurUp(1)(torch.ones(1, 1, 6, 6, dtype=torch.float64))[..., 2:-2, 2:-2]
    torch.testing.assert_close(inner, torch.ones_like(inner))
