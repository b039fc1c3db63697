"""The MNIST-C corruptions used as OOD sets (Mu & Gilmer, 2019), re-implemented from their
published definitions for [0, 1] grayscale images.

Each corruption maps one image [H, W] (float, in [0, 1]) and a numpy Generator to a corrupted
image in [0, 1], quantised to 8 bits as the MNIST-C files are. Defaults are the severities
MNIST-C was generated with; `apply` runs one over an ImageSet with a seed per image.
"""

from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from .images import ImageSet


def _quantise(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0) / 255.0


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(x, sigma, mode="nearest", truncate=4.0)


def shot_noise(x, rng, severity: int = 5):
    """Poisson photon noise: Poisson(x·c) / c, c = 60, 25, 12, 5, 3 for severity 1..5."""
    c = (60, 25, 12, 5, 3)[severity - 1]
    return _quantise(rng.poisson(x * c) / c)


def impulse_noise(x, rng, severity: int = 4):
    """Salt-and-pepper: a fraction (.03, .06, .09, .17, .27) of pixels set to 0 or 1 (even odds)."""
    amount = (0.03, 0.06, 0.09, 0.17, 0.27)[severity - 1]
    out = x.copy()
    hit = rng.random(x.shape) < amount
    out[hit] = (rng.random(int(hit.sum())) < 0.5).astype(x.dtype)
    return _quantise(out)


def glass_blur(x, rng, severity: int = 1):
    """Gaussian blur, random local pixel swaps within ±δ, blur again (σ, δ, passes per severity)."""
    sigma, delta, passes = ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2))[severity - 1]
    out = np.floor(_blur(x, sigma) * 255.0) / 255.0  # the 8-bit intermediate of the definition
    h, w = out.shape
    for _ in range(passes):
        for r in range(h - delta, delta, -1):
            for c in range(w - delta, delta, -1):
                if rng.random() < 0.5:
                    dr, dc = rng.integers(-delta, delta, size=2)
                    out[r, c], out[r + dr, c + dc] = out[r + dr, c + dc], out[r, c]
    return _quantise(_blur(out, sigma))


def motion_blur(x, rng, severity: int = 1):
    """One-sided Gaussian streak along a random angle in [−45°, 45°] (radius, σ per severity),
    as ImageMagick's motion blur: out(p) = Σ_i k_i x(p − i·u), k_i ∝ exp(−i²/2σ²), i ≤ 2·radius."""
    radius, sigma = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))[severity - 1]
    angle = np.deg2rad(rng.uniform(-45, 45))
    taps = np.arange(2 * radius + 1)
    weights = np.exp(-(taps**2) / (2.0 * sigma**2))
    weights /= weights.sum()
    rows, cols = np.mgrid[0 : x.shape[0], 0 : x.shape[1]].astype(np.float64)
    out = np.zeros_like(x)
    for i, weight in zip(taps, weights):
        coords = [rows - i * np.sin(angle), cols - i * np.cos(angle)]
        out += weight * map_coordinates(x, coords, order=1, mode="nearest")
    return _quantise(out)


def plasma_fractal(rng, size: int = 256, decay: float = 3.0) -> np.ndarray:
    """A [size, size] diamond-square height map in [0, 1] (size a power of two)."""
    if size & (size - 1):
        raise ValueError("plasma_fractal size must be a power of two")
    grid = np.zeros((size, size))
    step, wibble = size, 100.0

    def jitter(values):
        return values / 4 + wibble * rng.uniform(-wibble, wibble, values.shape)

    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        square = corners + np.roll(corners, -1, axis=0)
        square = square + np.roll(square, -1, axis=1)
        grid[half:size:step, half:size:step] = jitter(square)
        centres = grid[half:size:step, half:size:step]
        corners = grid[0:size:step, 0:size:step]
        across = centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        grid[0:size:step, half:size:step] = jitter(across)
        down = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        grid[half:size:step, 0:size:step] = jitter(down)
        step //= 2
        wibble /= decay
    grid -= grid.min()
    return grid / grid.max()


def fog(x, rng, severity: int = 5):
    """Add a plasma fractal of strength s, rescale by max/(max + s) (s, decay per severity)."""
    strength, decay = ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))[severity - 1]
    peak = x.max()
    fractal = plasma_fractal(rng, 256, decay)[: x.shape[0], : x.shape[1]]
    return _quantise((x + strength * fractal) * peak / (peak + strength))


def spatter(x, rng, severity: int = 4):
    """Mud spatter: thresholded blurred noise blobs painted in grey 63/255."""
    loc, scale, sigma, threshold, mask_sigma, _ = ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0),
                                                   (0.65, 0.3, 2, 0.68, 0.5, 0), (0.65, 0.3, 1, 0.65, 1.5, 1),
                                                   (0.67, 0.4, 1, 0.65, 1.5, 1))[severity - 1]
    liquid = _blur(rng.normal(loc, scale, x.shape), sigma)
    mask = _blur((liquid > threshold).astype(np.float64), mask_sigma)
    mask[mask < 0.8] = 0.0
    return _quantise(x * (1 - mask) + 63.0 / 255.0 * mask)


def stripe(x, rng=None):
    """Invert the outer quarters: columns [0, W/4) and [3W/4, W)."""
    out = x.copy()
    quarter = x.shape[1] // 4
    out[:, :quarter] = 1 - out[:, :quarter]
    out[:, x.shape[1] - quarter :] = 1 - out[:, x.shape[1] - quarter :]
    return _quantise(out)


def line_mask(shape, c0, r0, c1, r1) -> np.ndarray:
    """Intensity of an anti-aliased line from (column c0, row r0) to (c1, r1): 1 + log(1 − d/2.3)
    at vertical distance d < 2.3 from the line, clipped to [0, 1], and 0 outside columns [c0, c1]."""
    if c1 == c0:
        return np.zeros(shape)
    rows, cols = np.arange(shape[0])[:, None], np.arange(shape[1])[None, :]
    slope = (r1 - r0) / (c1 - c0)
    dist = np.clip(np.abs(rows - (slope * (cols - c0) + r0)), 0, 2.3 - 1e-10)
    mask = np.clip(np.log(1 - dist / 2.3) + 1, 0, 1)
    mask[:, : int(np.floor(c0))] = 0
    mask[:, int(np.ceil(c1)) :] = 0
    return mask


def dotted_line(x, rng):
    """A line across the image between random rows, with alternate 2-column dashes removed."""
    r0, r1 = rng.integers(0, x.shape[0] - 1, size=2)
    mask = line_mask(x.shape, 0, r0, x.shape[1] - 1, r1)
    for start in range(0, x.shape[1], 4):
        mask[:, start : start + 2] = 0
    return _quantise(x + mask)


def zigzag(x, rng):
    """A zigzag of tooth length 2 and height 2 along a random, gently sloped line (columns 2–25)."""
    a = b = 2.0
    c0, c1 = 2, 25
    r0 = int(rng.integers(0, x.shape[0] - 1))
    r1 = r0 + int(rng.integers(-5, 5))
    theta = np.arctan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / np.cos(theta)
    points = [(0.0, 0.0)]
    for i in range(int((length - a) // (2 * a)) + 1):
        points.append(((2 * i + 1) * a, (-1) ** i * b))
    full = 2 * a * (length // (2 * a))
    if length != full:
        points.append((length, points[-1][1] / (2 * (length - full))))
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cs, rs = rotation @ np.array(points).T
    cs, rs = cs + c0, rs + r0
    out = x.copy()
    for i in range(1, len(cs)):
        out = np.clip(out + line_mask(x.shape, cs[i - 1], rs[i - 1], cs[i], rs[i]), 0, 1)
    return _quantise(out)


CORRUPTIONS: dict[str, Callable] = {
    "shot_noise": shot_noise,
    "impulse_noise": impulse_noise,
    "glass_blur": glass_blur,
    "motion_blur": motion_blur,
    "stripe": stripe,
    "fog": fog,
    "spatter": spatter,
    "dotted_line": dotted_line,
    "zigzag": zigzag,
}


def apply(name: str, data: ImageSet, seed: int = 0) -> ImageSet:
    """The corruption `name` applied to every image of a grayscale set (image i uses seed (seed, i)),
    named `<set>-c-<name>`; labels are kept, so image i pairs with its clean original."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; choose from {', '.join(CORRUPTIONS)}")
    if data.images.shape[1] != 1:
        raise ValueError(f"MNIST-C corruptions take grayscale images, {data.name} has {data.images.shape[1]} channels")
    fn = CORRUPTIONS[name]
    images = data.images[:, 0].astype(np.float64)
    out = np.stack([fn(image, np.random.default_rng([seed, i])) for i, image in enumerate(images)])
    return data.with_images(out[:, None].astype(np.float32), f"{data.name}-c-{name}")
