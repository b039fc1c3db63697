"""Per-class means and scatter matrices of labelled features, as sums reduced over processes.

Two passes over the features held in memory: class sums and counts (all-reduced) give the
means; then the centred scatter Σ (f − μ_y)(f − μ_y)ᵀ per class (all-reduced). Without a
process group the reductions are the identity; with one, each rank passes its shard and every
rank gets the statistics of all the data (ood_ext.distributed).
"""

import torch
from torch import Tensor

from .. import distributed


def check_labels(features: Tensor, labels: Tensor) -> int:
    """The number of classes, max label + 1 over every rank; ValueError for labels that are not
    one integer class index per feature row."""
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.dim() != 1:
        raise ValueError(f"labels must be a 1-D tensor of integer class indices, got {labels.dtype} "
                         f"{list(labels.shape)}")
    if len(labels) != len(features):
        raise ValueError(f"{len(labels)} labels for {len(features)} feature vectors")
    if len(labels) and labels.min() < 0:
        raise ValueError(f"labels must be class indices 0..C−1, got {int(labels.min())}")
    return int(distributed.maximum(float(labels.max()) if len(labels) else -1.0)) + 1


def class_scatter(features: Tensor, labels: Tensor, classes: int, tied: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """(counts [C], means [C, D], scatters [C, D, D]) of features [N, D] with labels [N] in
    0..C−1, summed over every rank, in float64 (symmetric scatters); tied: the one pooled
    scatter Σ_c scatter_c [D, D] instead (a single product)."""
    features = features.double()
    local_counts = torch.bincount(labels, minlength=classes)
    sums = torch.zeros(classes, features.shape[1], dtype=torch.float64).index_add_(0, labels, features)
    counts, sums = distributed.all_reduce_sum(local_counts, sums)
    means = sums / counts.clamp(min=1)[:, None]
    centred = features - means[labels]
    if tied:
        scatters = centred.T @ centred
    else:
        order = torch.argsort(labels, stable=True)  # each class's rows contiguous: one copy, C products
        scatters = torch.stack([rows.T @ rows for rows in centred[order].split(local_counts.tolist())])
    (scatters,) = distributed.all_reduce_sum(scatters)
    return counts, means, 0.5 * (scatters + scatters.transpose(-2, -1))


__all__ = ["check_labels", "class_scatter"]
