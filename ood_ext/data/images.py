"""ImageSet: a named set of images in [0, 1] with optional labels, and its transforms."""

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


@dataclass(frozen=True)
class ImageSet:
    """Images [N, C, H, W] float32 in [0, 1], labels [N] int64 (or None), class names (or None)."""

    name: str
    images: np.ndarray
    labels: Optional[np.ndarray] = None
    classes: Optional[Sequence[str]] = None

    def __post_init__(self):
        if self.images.ndim != 4 or self.images.dtype != np.float32:
            raise ValueError(f"{self.name}: images must be float32 [N, C, H, W], got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{self.name}: {len(self.labels)} labels for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index: np.ndarray, name: Optional[str] = None) -> "ImageSet":
        """The images at `index` (any integer or boolean index)."""
        labels = None if self.labels is None else self.labels[index]
        return replace(self, name=name or self.name, images=self.images[index], labels=labels)

    def subset(self, n: Optional[int], seed: int) -> "ImageSet":
        """n images drawn without replacement, the same for the same seed (all when n is None or ≥ N)."""
        return self.split(n, seed)[0]

    def split(self, n: Optional[int], seed: int) -> tuple["ImageSet", "ImageSet"]:
        """(subset(n, seed), the images it left out)."""
        if n is None or n >= len(self):
            return self, self.take(np.zeros(0, dtype=np.int64))
        chosen = np.zeros(len(self), dtype=bool)
        chosen[np.random.default_rng(seed).choice(len(self), n, replace=False)] = True
        return self.take(chosen), self.take(~chosen)

    def with_images(self, images: np.ndarray, name: str, keep_labels: bool = True) -> "ImageSet":
        """A derived set (e.g. corrupted) of the same length."""
        return ImageSet(name, np.ascontiguousarray(images, dtype=np.float32),
                        self.labels if keep_labels else None, self.classes if keep_labels else None)

    def to_uint8(self) -> np.ndarray:
        """[N, C, H, W] uint8 (rounded), e.g. for PNG / JPEG 2000 encoders."""
        return np.clip(np.rint(self.images * 255.0), 0, 255).astype(np.uint8)


def from_uint8(name: str, images: np.ndarray, labels=None, classes=None) -> ImageSet:
    """ImageSet from uint8 images [N, H, W] (grayscale) or [N, H, W, 3] / [N, 3, H, W] (colour)."""
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    labels = None if labels is None else np.asarray(labels, dtype=np.int64)
    return ImageSet(name, images.astype(np.float32) / 255.0, labels, classes)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear (antialiased) resize of [N, C, H, W] to [N, C, size, size], clipped to [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    out = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out.clamp_(0, 1).numpy()


def to_grayscale(images: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of [N, 3, H, W] → [N, 1, H, W]; grayscale input is returned as is."""
    if images.shape[1] == 1:
        return images
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)[None, :, None, None]
    return (images * weights).sum(1, keepdims=True, dtype=np.float32)


def to_tensor(images: np.ndarray, pad_to: Optional[int] = None, value_range: tuple = (0.0, 1.0)) -> torch.Tensor:
    """Model input: optionally zero-pad to pad_to × pad_to, and map [0, 1] to value_range."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    if pad_to is not None:
        dh, dw = pad_to - x.shape[2], pad_to - x.shape[3]
        if dh < 0 or dw < 0:
            raise ValueError(f"cannot pad {tuple(x.shape[2:])} images to {pad_to}")
        x = F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
    low, high = value_range
    return x * (high - low) + low


def loader(images: torch.Tensor, labels: Optional[np.ndarray] = None, batch_size: int = 256, shuffle: bool = False,
           seed: int = 0) -> DataLoader:
    """A DataLoader of (x,) or (x, y) batches; shuffling is seeded."""
    tensors = [images] if labels is None else [images, torch.as_tensor(labels)]
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle, generator=generator)
