"""Builders of OOD sets from in-distribution images or from scratch.

Every builder returns a new ImageSet of images in [0, 1] and is deterministic in its seed.
"""

from typing import Sequence

import numpy as np

from .images import ImageSet


def interpolate(ood: ImageSet, clean: ImageSet, k: float, paired: bool, seed: int = 0) -> ImageSet:
    """Near-OOD images k·x_ood + (1 − k)·x_id.

    With paired=True image i of `ood` mixes with image i of `clean` (a corruption with its own
    clean original); otherwise each OOD image mixes with an ID image drawn by seed.
    """
    if not 0.0 <= k <= 1.0:
        raise ValueError(f"k must be in [0, 1], got {k}")
    if ood.images.shape[1:] != clean.images.shape[1:]:
        raise ValueError(f"cannot mix {ood.name} {ood.images.shape[1:]} with {clean.name} {clean.images.shape[1:]}")
    if paired:
        if len(ood) != len(clean):
            raise ValueError(f"paired mixing needs equal sizes, got {len(ood)} and {len(clean)}")
        partners = clean.images
    else:
        partners = clean.images[np.random.default_rng(seed).integers(len(clean), size=len(ood))]
    return ood.with_images(k * ood.images + (1 - k) * partners, f"near-{ood.name}-k{k:g}", keep_labels=False)


def rotate(data: ImageSet, degrees: int) -> ImageSet:
    """Every image rotated counter-clockwise by 90, 180 or 270 degrees."""
    if degrees not in (90, 180, 270):
        raise ValueError(f"degrees must be 90, 180 or 270, got {degrees}")
    images = np.rot90(data.images, k=degrees // 90, axes=(2, 3))
    return data.with_images(images, f"{data.name}-rot{degrees}", keep_labels=False)


def patch_shuffle(data: ImageSet, grid: int = 4, seed: int = 0) -> ImageSet:
    """Each image cut into grid × grid patches (sides rounded down; leftover border kept) and the
    patches permuted at random, a different permutation per image."""
    n, c, h, w = data.images.shape
    ph, pw = h // grid, w // grid
    rng = np.random.default_rng(seed)
    out = data.images.copy()
    core = out[:, :, : ph * grid, : pw * grid].reshape(n, c, grid, ph, grid, pw).transpose(0, 2, 4, 1, 3, 5)
    core = core.reshape(n, grid * grid, c, ph, pw)
    for i in range(n):
        core[i] = core[i][rng.permutation(grid * grid)]
    out[:, :, : ph * grid, : pw * grid] = (
        core.reshape(n, grid, grid, c, ph, pw).transpose(0, 3, 1, 4, 2, 5).reshape(n, c, ph * grid, pw * grid)
    )
    return data.with_images(out, f"{data.name}-shuffle{grid}x{grid}", keep_labels=False)


def brightness(data: ImageSet, factor: float) -> ImageSet:
    """Pixel intensities scaled by factor and clipped to [0, 1]."""
    if factor < 0:
        raise ValueError(f"factor must be non-negative, got {factor}")
    return data.with_images(np.clip(data.images * factor, 0, 1), f"{data.name}-bright{factor:g}", keep_labels=False)


def uniform_noise(n: int, shape: tuple, seed: int = 0) -> ImageSet:
    """n images of independent U(0, 1) pixels, shape [C, H, W]."""
    images = np.random.default_rng(seed).random((n, *shape), dtype=np.float32)
    return ImageSet("uniform-noise", images)


def constant(n: int, shape: tuple, seed: int = 0) -> ImageSet:
    """n images, each one constant intensity drawn from U(0, 1), shape [C, H, W]."""
    values = np.random.default_rng(seed).random(n, dtype=np.float32)
    return ImageSet("constant", np.broadcast_to(values[:, None, None, None], (n, *shape)).copy())


def held_out_classes(train: ImageSet, test: ImageSet, held_out: Sequence[int]) -> tuple[ImageSet, ImageSet, ImageSet]:
    """(ID train, ID test, OOD test) for leaving classes out (one class: leave-one-class-out; several:
    open-set recognition with the rest known): ID labels are re-indexed 0..K−1 in class order."""
    if train.labels is None or test.labels is None:
        raise ValueError("held-out-class splits need labelled data")
    classes = int(max(train.labels.max(), test.labels.max())) + 1
    held_out = sorted(set(int(c) for c in held_out))
    if not held_out or not all(0 <= c < classes for c in held_out):
        raise ValueError(f"held-out classes must be classes in [0, {classes}), got {held_out}")
    if len(held_out) > classes - 2:
        raise ValueError(f"holding out {len(held_out)} of {classes} classes leaves fewer than 2 known classes")
    names = list(train.classes) if train.classes else [str(c) for c in range(classes)]
    kept = [c for c in range(classes) if c not in held_out]
    remap = np.full(classes, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))

    def split(data: ImageSet, keep: bool, name: str) -> ImageSet:
        index = np.flatnonzero(np.isin(data.labels, held_out, invert=keep))
        part = data.take(index, name)
        if keep:
            return ImageSet(name, part.images, remap[part.labels], [names[c] for c in kept])
        return ImageSet(name, part.images, None, None)

    tag = f"{train.name}-without-{'+'.join(map(str, held_out))}"
    ood_name = f"{test.name}-class-{'+'.join(names[c] for c in held_out)}"
    return split(train, True, tag), split(test, True, tag), split(test, False, ood_name)
