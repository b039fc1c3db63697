"""Argument checks the fake (meta) kernels share with the C++ ones."""

from typing import Optional

import torch
from torch import Tensor


def check_same_device_and_dtype(op: str, **tensors: Optional[Tensor]) -> None:
    """Raise if the given tensors (None ignored) do not share one device and one dtype."""
    given = [(name, t) for name, t in tensors.items() if t is not None]
    first_name, first = given[0]
    for name, t in given[1:]:
        torch._check(
            t.device == first.device,
            lambda: f"{op}: {name} is on {t.device} but {first_name} is on {first.device}; "
            "all tensors must be on one device",
        )
        torch._check(
            t.dtype == first.dtype,
            lambda: f"{op}: {name} has dtype {t.dtype} but {first_name} has dtype {first.dtype}",
        )
