"""multiscale_score_norms: float64 reference, numpy, accuracy, opcheck, bad inputs."""

import math

import numpy as np
import pytest
import torch
from conftest import DTYPES, tolerance

from ood_ext.ops import multiscale_score_norms
from ood_ext.ops import reference as ref

pytestmark = pytest.mark.ops  # the compiled operators (make cuda-check runs these again)


def problem(levels, n, shape, dtype):
    sigmas = torch.logspace(0, -2, levels, dtype=torch.float64)
    clean = torch.rand(n, *shape, dtype=torch.float64)
    view = (levels, 1) + (1,) * len(shape)
    noisy = clean[None] + sigmas.view(view) * torch.randn(levels, n, *shape, dtype=torch.float64)
    scores = -(noisy - clean[None]) / sigmas.view(view) ** 2 + torch.randn(levels, n, *shape, dtype=torch.float64)
    return [t.to(dtype) for t in (scores, sigmas, noisy, clean)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("levels,n,shape", [(1, 1, (1,)), (10, 7, (1, 28, 28)), (3, 33, (3, 8, 8)), (4, 5, (1000,))])
@pytest.mark.parametrize("mode", ["weighted", "residual"])
def test_matches_float64_reference(dtype, levels, n, shape, mode, device):
    scores, sigmas, noisy, clean = problem(levels, n, shape, dtype)
    extra = dict(noisy=noisy, clean=clean) if mode == "residual" else {}
    got = multiscale_score_norms(scores, sigmas, mode, **extra)
    want = ref.multiscale_score_norms(scores, sigmas, mode, **extra)
    assert got.shape == (n, levels) and got.dtype == dtype
    torch.testing.assert_close(got.double(), want, **tolerance(dtype))


def test_matches_numpy(device):
    scores, sigmas, noisy, clean = problem(4, 6, (2, 5, 5), torch.float64)
    s, sig, xt, x = (t.cpu().numpy() for t in (scores, sigmas, noisy, clean))
    weighted = np.linalg.norm((sig[:, None, None, None, None] * s).reshape(4, 6, -1), axis=2).T
    residual = np.linalg.norm((s + (xt - x[None]) / sig[:, None, None, None, None] ** 2).reshape(4, 6, -1), axis=2).T
    np.testing.assert_allclose(multiscale_score_norms(scores, sigmas).cpu().numpy(), weighted, rtol=1e-12)
    np.testing.assert_allclose(multiscale_score_norms(scores, sigmas, "residual", noisy, clean).cpu().numpy(), residual,
                               rtol=1e-12)


def test_float32_accumulation_does_not_drift_with_row_length(device):
    # 4M equal terms: a plain float32 running sum would be off by ~1e-2 relative; blocks keep it exact-ish.
    scores = torch.full((1, 1, 4_000_000), 0.1, dtype=torch.float32)
    got = multiscale_score_norms(scores, torch.ones(1))
    want = ref.multiscale_score_norms(scores, torch.ones(1))
    assert abs(got.item() / want.item() - 1) < 1e-6


def test_non_contiguous_inputs(device):
    scores, sigmas, noisy, clean = problem(3, 4, (6, 6), torch.float64)
    want = multiscale_score_norms(scores, sigmas, "residual", noisy, clean)
    got = multiscale_score_norms(scores.transpose(2, 3), sigmas, "residual", noisy.transpose(2, 3), clean.transpose(1, 2))
    torch.testing.assert_close(got, want)


def test_opcheck(device):
    scores, sigmas, noisy, clean = problem(3, 4, (5,), torch.float64)
    torch.library.opcheck(torch.ops.ood_ext.multiscale_score_norms.default, (scores, sigmas, "weighted", None, None))
    torch.library.opcheck(torch.ops.ood_ext.multiscale_score_norms.default, (scores, sigmas, "residual", noisy, clean))


def _args(**changes):
    scores, sigmas, noisy, clean = problem(3, 4, (5,), torch.float64)
    args = dict(scores=scores, sigmas=sigmas, mode="residual", noisy=noisy, clean=clean)
    args.update(changes)
    return args


BAD_INPUTS = [
    (lambda: _args(mode="l1"), "mode must be"),
    (lambda: _args(scores=torch.ones(3, dtype=torch.float64)), "at least 2 dimensions"),
    (lambda: _args(sigmas=torch.ones(2, dtype=torch.float64)), "sigmas has shape"),
    (lambda: _args(sigmas=-torch.ones(3, dtype=torch.float64)), "sigmas must be positive"),
    (lambda: _args(noisy=None), "needs both noisy"),
    (lambda: _args(mode="weighted"), "takes no noisy"),
    (lambda: _args(clean=torch.ones(4, 6, dtype=torch.float64)), "clean must be"),
    (lambda: _args(noisy=torch.ones(3, 4, 5, dtype=torch.float32)), "dtype"),
    (lambda: _args(scores=torch.ones(3, 0, 5, dtype=torch.float64)), "empty"),
    (lambda: _args(clean=torch.full((4, 5), math.nan, dtype=torch.float64)), "NaN or infinite"),
]


@pytest.mark.parametrize("make,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(make, message, device):
    with pytest.raises(RuntimeError, match=message):
        torch.ops.ood_ext.multiscale_score_norms(**make())


@pytest.mark.parametrize("mode", ["weighted", "residual"])
def test_gradients_first_and_second_order(mode, device):
    scores, _, noisy, clean = problem(3, 4, (5,), torch.float64)
    sigmas = torch.tensor([1.0, 0.6, 0.3], dtype=torch.float64)  # finite differences cannot follow 1/σ³ at 0.01
    inputs = [t.requires_grad_() for t in (scores, sigmas, noisy, clean)][: 2 if mode == "weighted" else 4]

    def fn(*args):
        return multiscale_score_norms(args[0], args[1], mode, *args[2:])

    assert torch.autograd.gradcheck(fn, inputs)
    assert torch.autograd.gradgradcheck(fn, inputs)
    multiscale_score_norms(scores, sigmas).sum().backward()
    assert scores.grad is not None and sigmas.grad is not None, "the gradient reaches the inputs"
