"""Training-time augmentation of image batches, as the papers' classifiers use it: a random crop of
the zero-padded image (a shift by up to `shift` pixels each way), a random rotation by up to
±`degrees`, and optionally a horizontal flip — drawn per image and applied as one affine resampling
of the batch (torch's global generator, which the Trainer seeds per epoch)."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Augmentation:
    """Random crop (shift in pixels), rotation (degrees) and horizontal flip; all zero: none."""

    shift: int = 0
    degrees: float = 0.0
    flip: bool = False

    def __post_init__(self):
        if self.shift < 0 or self.degrees < 0:
            raise ValueError(f"augmentation shift and degrees must be ≥ 0, got {self.shift}, {self.degrees}")

    @property
    def active(self) -> bool:
        return bool(self.shift or self.degrees or self.flip)

    def __call__(self, x: Tensor) -> Tensor:
        """Images [B, C, H, W] → augmented images of the same shape (the batch itself when inactive).

        Each image is shifted by an integer number of pixels in [−shift, shift] per axis (what a
        crop of the image padded by `shift` gives), rotated about its centre by an angle uniform
        in [−degrees, degrees] and mirrored with probability ½ when `flip`; pixels from outside
        the image are 0 (bilinear resampling)."""
        if not self.active:
            return x
        b, _, h, w = x.shape
        angle = (torch.rand(b) * 2 - 1) * math.radians(self.degrees)
        mirror = torch.where(torch.rand(b) < 0.5, -1.0, 1.0) if self.flip else torch.ones(b)
        # Shifts in pixels → affine_grid's normalised units (the image spans [−1, 1]).
        dx = torch.randint(-self.shift, self.shift + 1, (b,)) * (2.0 / w)
        dy = torch.randint(-self.shift, self.shift + 1, (b,)) * (2.0 / h)
        cos, sin = angle.cos(), angle.sin()
        theta = torch.stack([torch.stack([cos * mirror, -sin, -dx], 1), torch.stack([sin * mirror, cos, -dy], 1)], 1)
        grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


__all__ = ["Augmentation"]
