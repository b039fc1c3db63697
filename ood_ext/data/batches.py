"""Reading loader batches: a batch is a tensor x, or a tuple / list (x, y, ...)."""

from typing import Iterable, Iterator, Optional

import torch
from torch import Tensor


def batch_inputs(batch) -> Tensor:
    """The input tensor of a loader batch: a tensor, or the first item of a tuple / list."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def batch_labels(batch) -> Optional[Tensor]:
    """The labels of a loader batch, if it has any."""
    return batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None


def inputs_up_to(loader: Iterable, limit: Optional[int] = None) -> Iterator[Tensor]:
    """The input tensors of a loader's batches until `limit` samples (None: all of them), the
    last batch trimmed; stops reading the loader once the limit is reached."""
    seen = 0
    for batch in loader:
        if limit is not None and seen >= limit:
            return
        x = batch_inputs(batch)
        if limit is not None:
            x = x[: limit - seen]
        seen += len(x)
        yield x


def collect_inputs(loader: Iterable, limit: Optional[int] = None) -> Tensor:
    """inputs_up_to(loader, limit) concatenated: [n, ...]; ValueError if the loader is empty."""
    parts = list(inputs_up_to(loader, limit))
    if not parts or sum(len(p) for p in parts) == 0:
        raise ValueError("the loader yielded no samples")
    return torch.cat(parts)
