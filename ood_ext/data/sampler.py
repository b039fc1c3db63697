"""Class-balanced batches for metric learning: each batch holds `per_class` examples of each of
`classes_per_batch` classes drawn at random (docs/methods.md, "VMDLS")."""

from typing import Iterator

import numpy as np
import torch
from torch import Tensor


def class_balanced_indices(labels: np.ndarray, classes_per_batch: int, per_class: int, seed: int) -> list[np.ndarray]:
    """One epoch of batches of indices into labels [N]: ceil(N / (B_C · B_N)) batches, each of B_C
    distinct classes chosen uniformly and B_N distinct examples of each (drawn with replacement
    only from a class smaller than B_N). The same seed gives the same batches."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if classes_per_batch < 2 or per_class < 2:
        raise ValueError(f"class-balanced batches need ≥ 2 classes × ≥ 2 examples (triplets need a positive and a "
                         f"negative), got {classes_per_batch} × {per_class}")
    if classes_per_batch > len(classes):
        raise ValueError(f"{classes_per_batch} classes per batch but the labels hold {len(classes)} classes")
    members = {c: np.flatnonzero(labels == c) for c in classes}
    rng = np.random.default_rng(seed)
    batches = -(-len(labels) // (classes_per_batch * per_class))
    out = []
    for _ in range(batches):
        chosen = rng.choice(classes, classes_per_batch, replace=False)
        out.append(np.concatenate([rng.choice(members[c], per_class, replace=len(members[c]) < per_class)
                                   for c in chosen]))
    return out


def class_balanced_batches(images: Tensor, labels: np.ndarray, classes_per_batch: int, per_class: int,
                           seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    """(x [B_C·B_N, ...], y [B_C·B_N]) batches of one epoch of class_balanced_indices."""
    targets = torch.as_tensor(np.asarray(labels))
    for index in class_balanced_indices(labels, classes_per_batch, per_class, seed):
        index = torch.from_numpy(index)
        yield images[index], targets[index]


__all__ = ["class_balanced_batches", "class_balanced_indices"]
