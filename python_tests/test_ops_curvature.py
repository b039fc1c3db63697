"""Curvature ops against brute force: per-sample gradients from an autograd loop over real
layers, rotated with the dense Kronecker basis (torch.kron); strategies, opcheck, bad inputs."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import DTYPES, PROPERTY_SETTINGS, strided, tolerance
from hypothesis import given, settings
from hypothesis import strategies as st

from ood_ext.ops import curvature_eigen_correction, curvature_quadratic_form
from ood_ext.ops import reference as ref

pytestmark = pytest.mark.ops  # the compiled operators (make cuda-check runs these again)


def orthogonal(d, dtype=torch.float64):
    return torch.linalg.qr(torch.randn(d, d, dtype=torch.float64))[0].to(dtype)


def random_problem(n, t, d_in, d_out, dtype):
    a = torch.randn(n, t, d_in, dtype=dtype)
    g = torch.randn(n, t, d_out, dtype=dtype)
    return a, g, orthogonal(d_in, dtype), orthogonal(d_out, dtype), torch.rand(d_out, d_in, dtype=dtype) + 0.1


def dense_quadratic_form(per_sample_grads, basis_a, basis_g, weight):
    """q_n = ‖(Q_G ⊗ Q_A)ᵀ vec(∇W_n)‖²_W with the dense Kronecker basis (row-major vec)."""
    basis = torch.kron(basis_g, basis_a)  # [Dout·Din, Dout·Din]
    rotated = per_sample_grads.flatten(1) @ basis
    return (rotated**2 * weight.flatten()).sum(1), (rotated**2).sum(0).view_as(weight)


def conv_per_sample_grads(x, weight, bias, grad_out, stride, padding):
    """Per-sample gradients of a Conv2d's [weight | bias] by an explicit autograd loop."""
    grads = []
    for n in range(x.shape[0]):
        w, b = weight.clone().requires_grad_(), bias.clone().requires_grad_()
        y = F.conv2d(x[n : n + 1], w, b, stride=stride, padding=padding)
        gw, gb = torch.autograd.grad(y, (w, b), grad_out[n : n + 1])
        grads.append(torch.cat([gw.flatten(1), gb[:, None]], 1))
    return torch.stack(grads)  # [N, Cout, Cin·k·k + 1]


@pytest.mark.parametrize("strategy", ["auto", "pairs", "chunked"])
def test_conv2d_matches_autograd_loop_and_dense_kronecker(strategy, device):
    n, c_in, c_out, k, stride, padding = 3, 2, 3, 3, 2, 1
    x = torch.randn(n, c_in, 7, 7, dtype=torch.float64)
    weight = torch.randn(c_out, c_in, k, k, dtype=torch.float64)
    bias = torch.randn(c_out, dtype=torch.float64)
    out_hw = F.conv2d(x, weight, bias, stride=stride, padding=padding).shape[-2:]
    grad_out = torch.randn(n, c_out, *out_hw, dtype=torch.float64)
    per_sample = conv_per_sample_grads(x, weight, bias, grad_out, stride, padding)

    # Layer inputs as unfold columns with a ones column for the bias: [N, T, Cin·k·k + 1].
    cols = F.unfold(x, k, padding=padding, stride=stride).transpose(1, 2)
    a = torch.cat([cols, torch.ones(*cols.shape[:2], 1, dtype=torch.float64)], 2)
    g = grad_out.flatten(2).transpose(1, 2)  # [N, T, Cout]
    basis_a, basis_g = orthogonal(a.shape[2]), orthogonal(c_out)
    w = torch.rand(c_out, a.shape[2], dtype=torch.float64)

    q_want, s_want = dense_quadratic_form(per_sample, basis_a, basis_g, w)
    torch.testing.assert_close(curvature_quadratic_form(a, g, w, basis_a, basis_g, strategy), q_want)
    torch.testing.assert_close(curvature_eigen_correction(a, g, basis_a, basis_g, strategy), s_want)


def test_linear_matches_autograd_loop(device):
    n, d_in, d_out = 5, 4, 3
    layer = torch.nn.Linear(d_in, d_out).double()
    x = torch.randn(n, d_in, dtype=torch.float64)
    grad_out = torch.randn(n, d_out, dtype=torch.float64)
    per_sample = []
    for i in range(n):
        layer.zero_grad()
        layer(x[i : i + 1]).backward(grad_out[i : i + 1])
        per_sample.append(torch.cat([layer.weight.grad, layer.bias.grad[:, None]], 1))
    per_sample = torch.stack(per_sample)
    a = torch.cat([x, torch.ones(n, 1, dtype=torch.float64)], 1)[:, None]
    basis_a, basis_g, w = orthogonal(d_in + 1), orthogonal(d_out), torch.rand(d_out, d_in + 1, dtype=torch.float64)
    q_want, s_want = dense_quadratic_form(per_sample, basis_a, basis_g, w)
    torch.testing.assert_close(curvature_quadratic_form(a, grad_out[:, None], w, basis_a, basis_g), q_want)
    torch.testing.assert_close(curvature_eigen_correction(a, grad_out[:, None], basis_a, basis_g), s_want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,t,d_in,d_out", [(1, 1, 1, 1), (17, 1, 33, 20), (9, 2, 10, 12), (6, 5, 8, 7),
                                             (4, 40, 12, 6), (70, 3, 5, 4)])
@pytest.mark.parametrize("strategy", ["auto", "pairs", "chunked"])
@pytest.mark.parametrize("bases", ["both", "none", "a_only", "g_only"])
def test_matches_float64_reference(dtype, n, t, d_in, d_out, strategy, bases, device):
    a, g, basis_a, basis_g, w = random_problem(n, t, d_in, d_out, dtype)
    basis_a = basis_a if bases in ("both", "a_only") else None
    basis_g = basis_g if bases in ("both", "g_only") else None
    q = curvature_quadratic_form(a, g, w, basis_a, basis_g, strategy)
    s = curvature_eigen_correction(a, g, basis_a, basis_g, strategy)
    tol = tolerance(dtype) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(q.double(), ref.curvature_quadratic_form(a, g, w, basis_a, basis_g), **tol)
    torch.testing.assert_close(s.double(), ref.curvature_eigen_correction(a, g, basis_a, basis_g), **tol)
    assert q.dtype == dtype and s.dtype == dtype


def test_non_contiguous_inputs(device):
    a, g, basis_a, basis_g, w = random_problem(6, 3, 5, 4, torch.float64)
    want = curvature_quadratic_form(a, g, w, basis_a, basis_g)
    got = curvature_quadratic_form(strided(a), g.transpose(0, 1).contiguous().transpose(0, 1),
                                   strided(w), basis_a.T.contiguous().T, basis_g)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("strategy", ["auto", "pairs", "chunked"])
def test_single_position_with_unfold_strides(strategy, device):
    """T = 1 as F.unfold(...).transpose(1, 2) lays it out: strides (Din, 1, 1), which do not chain."""
    a, g, basis_a, basis_g, w = random_problem(6, 1, 5, 4, torch.float64)
    unfolded = a.as_strided(a.shape, (5, 1, 1))
    torch.testing.assert_close(curvature_quadratic_form(unfolded, g, w, basis_a, basis_g, strategy),
                               ref.curvature_quadratic_form(a, g, w, basis_a, basis_g))
    torch.testing.assert_close(curvature_eigen_correction(unfolded, g, basis_a, basis_g, strategy),
                               ref.curvature_eigen_correction(a, g, basis_a, basis_g))


def test_large_batch_spans_many_chunks(device):
    a, g, basis_a, basis_g, w = random_problem(300, 30, 40, 32, torch.float64)
    torch.testing.assert_close(curvature_quadratic_form(a, g, w, basis_a, basis_g),
                               ref.curvature_quadratic_form(a, g, w, basis_a, basis_g))
    torch.testing.assert_close(curvature_eigen_correction(a, g, basis_a, basis_g),
                               ref.curvature_eigen_correction(a, g, basis_a, basis_g))


def test_opcheck(device):
    a, g, basis_a, basis_g, w = random_problem(4, 2, 3, 5, torch.float64)
    torch.library.opcheck(torch.ops.ood_ext.curvature_quadratic_form.default, (a, g, w, basis_a, basis_g, "auto"))
    torch.library.opcheck(torch.ops.ood_ext.curvature_eigen_correction.default, (a, g, basis_a, None, "chunked"))


def _args(**changes):
    args = dict(a=torch.randn(4, 2, 3, dtype=torch.float64), g=torch.randn(4, 2, 5, dtype=torch.float64),
                weight=torch.ones(5, 3, dtype=torch.float64), basis_a=None, basis_g=None, strategy="auto")
    args.update(changes)
    return args


def with_value(t, index, value):
    """A fresh tensor t (any layout) with one element set: the checks must find it wherever it
    lies in memory."""
    t[index] = value
    return t


F64 = dict(dtype=torch.float64)
BAD_INPUTS = [
    (lambda: _args(a=torch.randn(4, 3, dtype=torch.float64)), "a must have 3 dimensions"),
    (lambda: _args(g=torch.randn(3, 2, 5, dtype=torch.float64)), "g has shape .*must be 4"),
    (lambda: _args(g=torch.randn(4, 1, 5, dtype=torch.float64)), "g has shape .*must be 2"),
    (lambda: _args(a=torch.randn(0, 2, 3, dtype=torch.float64), g=torch.randn(0, 2, 5, dtype=torch.float64)), "empty"),
    (lambda: _args(weight=torch.ones(3, 5, dtype=torch.float64)), "weight has shape"),
    (lambda: _args(weight=-torch.ones(5, 3, dtype=torch.float64)), "non-negative"),
    (lambda: _args(weight=torch.ones(5, 3, dtype=torch.float32)), "dtype"),
    (lambda: _args(basis_a=torch.eye(4, dtype=torch.float64)), "basis_a has shape"),
    (lambda: _args(basis_g=torch.eye(5, dtype=torch.float64) * math.nan), "basis_g contains NaN"),
    (lambda: _args(basis_a=with_value(torch.eye(3, **F64).T, (2, 1), math.nan)), "basis_a contains NaN"),
    (lambda: _args(basis_a=with_value(torch.eye(6, **F64)[::2, ::2], (1, 2), math.inf)), "basis_a contains NaN"),
    (lambda: _args(weight=with_value(torch.ones(3, 5, **F64).T, (4, 0), -1.0)), "non-negative"),
    (lambda: _args(a=torch.full((4, 2, 3), math.inf, dtype=torch.float64)), "a contains NaN or infinite"),
    (lambda: _args(g=torch.randn(4, 2, 5, dtype=torch.float64).index_fill_(2, torch.tensor([1]), math.nan)),
     "g contains NaN or infinite"),
    (lambda: _args(a=torch.full((4, 2, 3), 1e30, dtype=torch.float64).float(),
                   g=torch.full((4, 2, 5), 1e30).float(), weight=torch.ones(5, 3)), "overflows"),
    (lambda: _args(strategy="fast"), "strategy must be"),
]


@pytest.mark.parametrize("make,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(make, message, device):
    with pytest.raises(RuntimeError, match=message):
        torch.ops.ood_ext.curvature_quadratic_form(**make())
    if not any(word in message for word in ("weight", "non-negative", "dtype")):  # the correction has no weight
        args = {k: v for k, v in make().items() if k != "weight"}
        with pytest.raises(RuntimeError, match=message):
            torch.ops.ood_ext.curvature_eigen_correction(**args)


@settings(max_examples=30, **PROPERTY_SETTINGS)
@given(n=st.integers(1, 12), t=st.integers(1, 12), d_in=st.integers(1, 12), d_out=st.integers(1, 12),
       alpha=st.floats(0.01, 100))
def test_properties(n, t, d_in, d_out, alpha, device):
    a, g, basis_a, basis_g, w = random_problem(n, t, d_in, d_out, torch.float64)
    q = {s: curvature_quadratic_form(a, g, w, basis_a, basis_g, s) for s in ("pairs", "chunked")}
    torch.testing.assert_close(q["pairs"], q["chunked"])
    assert (q["pairs"] >= 0).all()
    torch.testing.assert_close(curvature_quadratic_form(a, g, alpha * w, basis_a, basis_g), alpha * q["pairs"])
    # With unit weights the rotation is orthogonal: q = ‖M_n‖²_F whatever the bases.
    ones = torch.ones_like(w)
    torch.testing.assert_close(curvature_quadratic_form(a, g, ones, basis_a, basis_g),
                               curvature_quadratic_form(a, g, ones))
    # The eigenvalue correction is the sum of the squared rotated gradients, so Σ S = Σ_n q_n(1).
    s = curvature_eigen_correction(a, g, basis_a, basis_g)
    torch.testing.assert_close(s.sum(), curvature_quadratic_form(a, g, ones).sum())


@pytest.mark.parametrize("op", ["quadratic_form", "eigen_correction"])
def test_backward_is_refused_clearly(op, device):
    a, g, basis_a, basis_g, w = random_problem(3, 2, 4, 5, torch.float64)
    a.requires_grad_()
    out = curvature_quadratic_form(a, g, w, basis_a, basis_g) if op == "quadratic_form" else \
        curvature_eigen_correction(a, g, basis_a, basis_g)
    with pytest.raises(RuntimeError, match=f"curvature_{op} is not differentiable"):
        out.sum().backward()
