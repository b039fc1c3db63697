"""diag_gaussian_log_prob: float64 reference, scipy, sklearn, gradients, opcheck, bad inputs."""

import math

import numpy as np
import pytest
import torch
from conftest import DTYPES, PROPERTY_SETTINGS, strided, tolerance
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from ood_ext.ops import diag_gaussian_log_prob
from ood_ext.ops import reference as ref

pytestmark = pytest.mark.ops  # the compiled operators (make cuda-check runs these again)


def problem(n, c, d, dtype):
    mean = torch.randn(c, d, dtype=torch.float64) * 3
    var = torch.rand(c, d, dtype=torch.float64) + 0.1
    x = mean[torch.randint(c, (n,))] + torch.randn(n, d, dtype=torch.float64)
    log_weights = torch.log_softmax(torch.randn(c, dtype=torch.float64), 0)
    return [t.to(dtype) for t in (x, mean, var, log_weights)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,c,d", [(1, 1, 1), (9, 3, 5), (257, 1, 256), (100, 7, 33)])
@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_matches_float64_reference(dtype, n, c, d, reduce, device):
    x, mean, var, log_weights = problem(n, c, d, dtype)
    got = diag_gaussian_log_prob(x, mean, var, log_weights, reduce)
    want = ref.diag_gaussian_log_prob(x, mean, var, log_weights, reduce)
    if reduce == "max":
        torch.testing.assert_close(got.values.double(), want.values, **tolerance(dtype))
        assert torch.equal(got.indices, want.indices)
    else:
        torch.testing.assert_close(got.double(), want, **tolerance(dtype))


def test_non_contiguous_inputs(device):
    x, mean, var, log_weights = problem(30, 4, 6, torch.float64)
    want = diag_gaussian_log_prob(x, mean, var, log_weights)
    torch.testing.assert_close(diag_gaussian_log_prob(strided(x), strided(mean), strided(var), log_weights), want)
    torch.testing.assert_close(diag_gaussian_log_prob(x.T.contiguous().T, mean, var, log_weights), want)


def test_matches_scipy_logpdf(device):
    x, mean, var, _ = problem(25, 2, 4, torch.float64)
    got = diag_gaussian_log_prob(x, mean, var)
    for c in range(2):
        want = multivariate_normal(mean[c].cpu().numpy(), np.diag(var[c].cpu().numpy())).logpdf(x.cpu().numpy())
        np.testing.assert_allclose(got[:, c].cpu().numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_sklearn_diagonal_mixture(dtype, device):
    rng = np.random.default_rng(1)
    data = np.concatenate([rng.normal(size=(150, 5)) * 0.5 + 2, rng.normal(size=(150, 5)) * 2])
    gmm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(data)
    args = [torch.tensor(v, dtype=dtype) for v in (data, gmm.means_, gmm.covariances_, np.log(gmm.weights_))]
    got = diag_gaussian_log_prob(*args, reduce="logsumexp")
    torch.testing.assert_close(got.double(), torch.tensor(gmm.score_samples(data)), **tolerance(dtype))


@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_gradcheck(reduce, device):
    x, mean, var, log_weights = problem(5, 3, 4, torch.float64)
    inputs = tuple(t.requires_grad_() for t in (x, mean, var, log_weights))

    def fn(*args):
        out = diag_gaussian_log_prob(*args, reduce=reduce)
        return out.values if reduce == "max" else out

    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("reduce", ["none", "logsumexp"])
def test_opcheck(reduce, device):
    x, mean, var, log_weights = problem(8, 3, 5, torch.float64)
    torch.library.opcheck(torch.ops.ood_ext.diag_gaussian_log_prob.default,
                          (x.requires_grad_(), mean.requires_grad_(), var.requires_grad_(), log_weights, reduce))
    out, argmax = torch.ops.ood_ext.diag_gaussian_log_prob(x.detach(), mean.detach(), var.detach(), log_weights, reduce)
    grad = torch.randn_like(out)
    torch.library.opcheck(torch.ops.ood_ext.diag_gaussian_log_prob_backward.default,
                          (grad, x.detach(), mean.detach(), var.detach(), log_weights, reduce, out, argmax))


BAD_INPUTS = [
    (lambda: dict(var=-torch.ones(2, 3, dtype=torch.float64)), "var must be positive"),
    (lambda: dict(var=torch.zeros(2, 3, dtype=torch.float64)), "var must be positive"),
    (lambda: dict(var=torch.ones(2, 4, dtype=torch.float64)), "var has shape"),
    (lambda: dict(var=torch.full((2, 3), math.nan, dtype=torch.float64)), "var contains NaN"),
    (lambda: dict(x=torch.empty(0, 3, dtype=torch.float64)), "empty batch"),
    (lambda: dict(x=torch.ones(4, 3, dtype=torch.float32)), "dtype"),
    (lambda: dict(x=torch.tensor([[1.0, math.inf, 0.0]] * 4, dtype=torch.float64)), "x contains NaN or infinite"),
    (lambda: dict(reduce="sum"), "reduce must be"),
]


@pytest.mark.parametrize("change,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(change, message, device):
    change = change()
    args = dict(x=torch.zeros(4, 3, dtype=torch.float64), mean=torch.zeros(2, 3, dtype=torch.float64),
                var=torch.ones(2, 3, dtype=torch.float64), reduce="none")
    args.update(change)
    with pytest.raises(RuntimeError, match=message):
        torch.ops.ood_ext.diag_gaussian_log_prob(**args)


@settings(max_examples=30, **PROPERTY_SETTINGS)
@given(n=st.integers(1, 30), d=st.integers(1, 40), scale=st.floats(0.1, 10))
def test_scaling_property(n, d, scale, device):
    # Scaling x, μ by s and v by s² shifts every log-density by −D log s.
    x, mean, var, _ = problem(n, 2, d, torch.float64)
    base = diag_gaussian_log_prob(x, mean, var)
    scaled = diag_gaussian_log_prob(x * scale, mean * scale, var * scale**2)
    torch.testing.assert_close(scaled, base - d * math.log(scale), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_second_derivatives_are_exact(reduce, device):
    x, mean, var, log_weights = problem(4, 3, 3, torch.float64)
    inputs = tuple(t.requires_grad_() for t in (x, mean, var, log_weights))

    def fn(*args):
        out = diag_gaussian_log_prob(*args, reduce=reduce)
        return out.values if reduce == "max" else out

    assert torch.autograd.gradgradcheck(fn, inputs)
    # The Hessian in x of Σ_c log N(x; μ_c, diag v_c) is −Σ_c diag(1 / v_c).
    hessian = torch.autograd.functional.hessian(lambda v: diag_gaussian_log_prob(v, mean, var).sum(), x[:1].detach())
    torch.testing.assert_close(hessian.reshape(3, 3), -torch.diag((1 / var).sum(0)).detach())
