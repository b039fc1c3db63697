"""Shared fixtures and problem generators for the ood_ext tests."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck

import ood_ext  # noqa: F401  (registers torch.ops.ood_ext)

DTYPES = [torch.float32, torch.float64]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# Property tests take the function-scoped `device` fixture; it only sets where tensors go.
PROPERTY_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=DEVICES)
def device(request):
    """A test taking `device` runs once per device present (CPU always, CUDA when available):
    for its duration, tensors created without an explicit device land on that device."""
    with torch.device(request.param):
        yield torch.device(request.param)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


def tolerance(dtype: torch.dtype) -> dict:
    """assert_close tolerances for an op result in `dtype` against a float64 reference."""
    return dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=2e-5, atol=2e-4)


def random_spd(c: int, d: int, dtype=torch.float64) -> torch.Tensor:
    """[c, d, d] well-conditioned random covariances."""
    a = torch.randn(c, d, d, dtype=torch.float64) / d**0.5
    return (a @ a.transpose(1, 2) + 0.5 * torch.eye(d, dtype=torch.float64)).to(dtype)  # on the default device


def strided(t: torch.Tensor) -> torch.Tensor:
    """The same values as t in a non-contiguous tensor (every other column of a wider one)."""
    wide = torch.zeros(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype, device=t.device)
    wide[..., ::2] = t
    out = wide[..., ::2]
    assert not out.is_contiguous() or t.shape[-1] == 1
    return out


def digits_smoke_cache_name(kind: str = "classifier") -> str:
    """The model cache's file name for `kind` in a smoke benchmark on digits with no held-out
    class and seed 0 (what the CLI tests plant files at)."""
    from pathlib import Path

    from ood_ext.data.datasets import digits_split
    from ood_ext.eval.models import cache_path
    from ood_ext.methods import get_profile, kinds

    profile = get_profile("smoke")
    train = digits_split("train").subset(profile.sizes.train_samples, 0)
    return cache_path(kinds()[kind], train, profile, Path("."), 0).name
