"""gaussian_log_prob: float64 reference, scipy, sklearn, gradients, opcheck, bad inputs."""

import math

import numpy as np
import pytest
import torch
from conftest import DTYPES, PROPERTY_SETTINGS, random_spd, strided, tolerance
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from ood_ext.ops import gaussian_log_prob, precision_cholesky
from ood_ext.ops import reference as ref

pytestmark = pytest.mark.ops  # the compiled operators (make cuda-check runs these again)


def problem(n, c, d, dtype, offset=0.0):
    cov = random_spd(c, d)
    mean = torch.randn(c, d, dtype=torch.float64) + offset
    x = mean[torch.randint(c, (n,))] + torch.randn(n, d, dtype=torch.float64)
    prec_chol = precision_cholesky(cov)
    log_weights = torch.log_softmax(torch.randn(c, dtype=torch.float64), 0)
    return [t.to(dtype) for t in (x, mean, prec_chol, log_weights)] + [cov]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,c,d", [(1, 1, 1), (7, 3, 5), (300, 4, 47), (129, 10, 64), (70, 2, 150)])
@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_matches_float64_reference(dtype, n, c, d, reduce, device):
    x, mean, prec_chol, log_weights, _ = problem(n, c, d, dtype)
    got = gaussian_log_prob(x, mean, prec_chol, log_weights, reduce)
    want = ref.gaussian_log_prob(x, mean, prec_chol, log_weights, reduce)
    if reduce == "max":
        torch.testing.assert_close(got.values.double(), want.values, **tolerance(dtype))
        assert torch.equal(got.indices, want.indices)
    else:
        torch.testing.assert_close(got.double(), want, **tolerance(dtype))
    assert (got.values if reduce == "max" else got).dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_inputs(dtype, device):
    x, mean, prec_chol, log_weights, _ = problem(50, 3, 9, dtype)
    want = gaussian_log_prob(x, mean, prec_chol, log_weights)
    got = gaussian_log_prob(strided(x), strided(mean), prec_chol.transpose(1, 2).contiguous().transpose(1, 2),
                            strided(log_weights[None])[0])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12 if dtype == torch.float64 else 1e-4)


def test_matches_scipy_logpdf(device):
    x, mean, prec_chol, _, cov = problem(40, 3, 6, torch.float64)
    got = gaussian_log_prob(x, mean, prec_chol)
    for c in range(3):
        want = multivariate_normal(mean[c].cpu().numpy(), cov[c].cpu().numpy()).logpdf(x.cpu().numpy())
        np.testing.assert_allclose(got[:, c].cpu().numpy(), want, rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_sklearn_gaussian_mixture(dtype, device):
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(size=(200, 8)) * 2 + 5, rng.normal(size=(200, 8)) - 3])
    gmm = GaussianMixture(4, covariance_type="full", random_state=0).fit(data)
    args = [torch.tensor(v, dtype=dtype) for v in (data, gmm.means_, gmm.precisions_cholesky_, np.log(gmm.weights_))]
    got = gaussian_log_prob(*args, reduce="logsumexp")
    want = torch.tensor(gmm.score_samples(data))
    torch.testing.assert_close(got.double(), want, **tolerance(dtype))


def test_float32_stays_accurate_far_from_the_origin(device):
    # Classes far from the origin and from each other: the shared shift must keep float32 close.
    x, mean, prec_chol, _, _ = problem(200, 5, 32, torch.float64, offset=1e3)
    mean = mean + torch.linspace(-50, 50, 5, dtype=torch.float64)[:, None]
    x = mean[torch.arange(200) % 5] + torch.randn(200, 32, dtype=torch.float64)
    want = ref.gaussian_log_prob(x, mean, prec_chol)
    got = gaussian_log_prob(x.float(), mean.float(), prec_chol.float()).double()
    want32 = ref.gaussian_log_prob(x.float(), mean.float(), prec_chol.float())  # same rounded inputs
    own = torch.arange(200) % 5
    torch.testing.assert_close(got[torch.arange(200), own], want32[torch.arange(200), own], rtol=1e-4, atol=1e-2)
    assert (got - want).abs().max() / want.abs().max() < 1e-3


@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_gradcheck(reduce, device):
    x, mean, prec_chol, log_weights, _ = problem(6, 3, 4, torch.float64)
    x.requires_grad_(), mean.requires_grad_(), log_weights.requires_grad_()

    def fn(x, mean, log_weights):
        out = gaussian_log_prob(x, mean, prec_chol, log_weights, reduce)
        return out.values if reduce == "max" else out

    assert torch.autograd.gradcheck(fn, (x, mean, log_weights))


def test_gradient_matches_reference_autograd(device):
    x, mean, prec_chol, log_weights, _ = problem(64, 4, 20, torch.float64)
    grads = []
    for fn in (gaussian_log_prob, ref.gaussian_log_prob):
        xs, ms = x.clone().requires_grad_(), mean.clone().requires_grad_()
        fn(xs, ms, prec_chol, log_weights, "logsumexp").sum().backward()
        grads.append((xs.grad, ms.grad))
    torch.testing.assert_close(grads[0], grads[1])


def test_not_differentiable_wrt_prec_chol(device):
    x, mean, prec_chol, _, _ = problem(5, 2, 3, torch.float64)
    out = gaussian_log_prob(x, mean, prec_chol.requires_grad_())
    with pytest.raises(RuntimeError, match="not prec_chol"):
        out.sum().backward()


@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_opcheck(reduce, device):
    x, mean, prec_chol, log_weights, _ = problem(9, 3, 5, torch.float64)
    torch.library.opcheck(torch.ops.ood_ext.gaussian_log_prob.default,
                          (x.requires_grad_(), mean.requires_grad_(), prec_chol, log_weights, reduce))
    grad = torch.randn(9, 3) if reduce == "none" else torch.randn(9)
    out, argmax = torch.ops.ood_ext.gaussian_log_prob(x.detach(), mean.detach(), prec_chol, log_weights, reduce)
    torch.library.opcheck(torch.ops.ood_ext.gaussian_log_prob_backward.default,
                          (grad.double(), x.detach(), mean.detach(), prec_chol, log_weights, reduce, out, argmax))


def test_precision_cholesky_matches_sklearn_convention(device):
    cov = random_spd(3, 7)
    u = precision_cholesky(cov)
    assert torch.equal(u, torch.triu(u))
    torch.testing.assert_close(u @ u.transpose(1, 2), torch.linalg.inv(cov))
    with pytest.raises(ValueError, match="not positive definite"):
        precision_cholesky(-cov)


def _valid():
    x, mean, prec_chol, log_weights, _ = problem(4, 2, 3, torch.float64)
    return dict(x=x, mean=mean, prec_chol=prec_chol, log_weights=log_weights, reduce="none")


def _with(**changes):
    args = _valid()
    args.update(changes)
    return args


BAD_INPUTS = [
    (lambda: _with(x=torch.randn(4, 3, 1, dtype=torch.float64)), "x must have 2 dimensions"),
    (lambda: _with(x=torch.randn(0, 3, dtype=torch.float64)), "empty batch"),
    (lambda: _with(x=torch.randn(4, 3, dtype=torch.float16)), "float32 or float64"),
    (lambda: _with(x=torch.randn(4, 3, dtype=torch.float32)), "mean has dtype float64 but x has dtype float32"),
    (lambda: _with(mean=torch.randn(2, 5, dtype=torch.float64)), "mean has shape .*must be 3"),
    (lambda: _with(prec_chol=torch.eye(3, dtype=torch.float64).expand(3, 3, 3)), "prec_chol has shape"),
    (lambda: _with(prec_chol=torch.ones(2, 3, 3, dtype=torch.float64)), "upper triangular"),
    (lambda: _with(prec_chol=-torch.eye(3, dtype=torch.float64).repeat(2, 1, 1)), "diagonal of prec_chol must be positive"),
    (lambda: _with(log_weights=torch.zeros(3, dtype=torch.float64)), "log_weights has shape"),
    (lambda: _with(x=torch.full((4, 3), math.nan, dtype=torch.float64)), "x contains NaN or infinite"),
    (lambda: _with(mean=torch.full((2, 3), math.inf, dtype=torch.float64)), "mean contains NaN or infinite"),
    (lambda: _with(prec_chol=torch.eye(3, dtype=torch.float64).repeat(2, 1, 1) * math.inf), "prec_chol contains"),
    (lambda: _with(reduce="mean"), "reduce must be"),
    (lambda: _with(mean=torch.randn(2, 3, dtype=torch.float64, device="meta")), "mean is on meta but x is on (cpu|cuda)"),
]


@pytest.mark.parametrize("make,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(make, message, device):
    with pytest.raises(RuntimeError, match=message):
        torch.ops.ood_ext.gaussian_log_prob(**make())


@settings(max_examples=40, **PROPERTY_SETTINGS)
@given(n=st.integers(1, 40), c=st.integers(1, 6), d=st.integers(1, 70), shift=st.floats(-100, 100))
def test_properties(n, c, d, shift, device):
    x, mean, prec_chol, log_weights, _ = problem(n, c, d, torch.float64)
    full = gaussian_log_prob(x, mean, prec_chol, log_weights)
    best = gaussian_log_prob(x, mean, prec_chol, log_weights, "max")
    total = gaussian_log_prob(x, mean, prec_chol, log_weights, "logsumexp")
    assert torch.equal(best.values, full.max(1).values)
    assert torch.equal(full[torch.arange(n), best.indices], best.values)
    assert (total >= best.values - 1e-12).all() and (total <= best.values + math.log(c) + 1e-9).all()
    # Translating x and all means together leaves every log-density unchanged.
    moved = gaussian_log_prob(x + shift, mean + shift, prec_chol, log_weights)
    torch.testing.assert_close(moved, full, rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("reduce", ["none", "max", "logsumexp"])
def test_second_derivatives_are_exact(reduce, device):
    x, mean, prec_chol, log_weights, _ = problem(5, 3, 4, torch.float64)

    def fn(x, mean, log_weights):
        out = gaussian_log_prob(x, mean, prec_chol, log_weights, reduce)
        return out.values if reduce == "max" else out

    assert torch.autograd.gradgradcheck(fn, (x.requires_grad_(), mean.requires_grad_(), log_weights.requires_grad_()))
    # The Hessian of log N(x; μ, Σ) in x is −Σ⁻¹ = −U Uᵀ.
    hessian = torch.autograd.functional.hessian(lambda v: gaussian_log_prob(v, mean[:1], prec_chol[:1]).sum(),
                                                x[:1].detach())
    torch.testing.assert_close(hessian.reshape(4, 4), -(prec_chol[0] @ prec_chol[0].T))


def test_every_class_at_minus_infinity_reduces_like_torch(device):
    x = torch.full((3, 4), 1e200, dtype=torch.float64)  # finite, but the squared distances overflow
    mean, prec_chol = torch.zeros(2, 4, dtype=torch.float64), torch.eye(4, dtype=torch.float64).repeat(2, 1, 1)
    want = ref.gaussian_log_prob(x, mean, prec_chol)
    best = gaussian_log_prob(x, mean, prec_chol, reduce="max")
    assert torch.equal(best.indices, want.max(1).indices) and (best.indices == 0).all(), "a valid class, as torch"
    assert (best.values == -math.inf).all()
    assert (gaussian_log_prob(x, mean, prec_chol, reduce="logsumexp") == -math.inf).all()


def test_only_the_upper_triangle_of_the_factor_is_read(device):
    x, mean, prec_chol, _, cov = problem(20, 2, 6, torch.float64)
    round_off = prec_chol + torch.tril(torch.full_like(prec_chol, 1e-18), -1)  # as inv(cholesky(Σ))ᵀ leaves
    assert torch.equal(gaussian_log_prob(x, mean, round_off), gaussian_log_prob(x, mean, prec_chol))
    numpy_factor = torch.tensor(np.linalg.inv(np.linalg.cholesky(cov[0].cpu().numpy())).T)[None]
    torch.testing.assert_close(gaussian_log_prob(x[:, :], mean[:1], numpy_factor.to(x.device)),
                               gaussian_log_prob(x, mean[:1], prec_chol[:1]))
    with pytest.raises(RuntimeError, match="entry of magnitude .* below the diagonal.*transpose a lower factor"):
        gaussian_log_prob(x, mean, prec_chol.transpose(1, 2).contiguous())


def test_precision_cholesky_refuses_an_asymmetric_covariance(device):
    cov = random_spd(1, 5)[0]
    skewed = cov + torch.triu(torch.ones_like(cov), 1) * 0.1
    with pytest.raises(ValueError, match="not symmetric .*symmetrise it"):
        precision_cholesky(skewed)
    jitter = cov + torch.triu(torch.full_like(cov, 1e-15), 1)  # round-off is accepted
    torch.testing.assert_close(precision_cholesky(jitter), precision_cholesky(cov))
