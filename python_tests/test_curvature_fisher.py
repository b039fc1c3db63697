"""Fisher machinery: per-sample capture equals an autograd loop, EKFAC with full eigenbasis
equals the dense computation, and fitting details."""

import pytest
import torch
from torch import nn

from ood_ext.curvature import check_supported, fit_curvature, per_sample_gradients, per_sample_terms


def loop_gradients(model, loss_fn, x, layer):
    """[B, Dout, Din(+1)] per-sample gradients of `layer` by one backward per sample."""
    grads = []
    for n in range(len(x)):
        model.zero_grad()
        loss_fn(model, x[n : n + 1]).sum().backward()
        g = layer.weight.grad.flatten(1)
        if layer.bias is not None:
            g = torch.cat([g, layer.bias.grad[:, None]], 1)
        grads.append(g.clone())
    model.zero_grad()
    return torch.stack(grads)


def loss_fn(model, x):
    out = model(x)
    return (out**2).sum(1) + out.sum(1)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_conv_capture_equals_autograd_loop(bias, stride, padding, dilation, device):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, stride=stride, padding=padding, dilation=dilation, bias=bias)
    model = nn.Sequential(conv, nn.Tanh(), nn.Flatten(), nn.LazyLinear(2)).double()
    x = torch.randn(5, 3, 9, 9, dtype=torch.float64)
    model(x)  # materialise the lazy layer
    _, (terms,) = per_sample_terms(model, loss_fn, x, [conv])
    torch.testing.assert_close(per_sample_gradients(terms), loop_gradients(model, loss_fn, x, conv))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_capture_equals_autograd_loop(bias, device):
    torch.manual_seed(1)
    linear = nn.Linear(6, 4, bias=bias)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), linear).double()
    x = torch.randn(7, 5, dtype=torch.float64)
    losses, (terms,) = per_sample_terms(model, loss_fn, x, [linear])
    torch.testing.assert_close(per_sample_gradients(terms), loop_gradients(model, loss_fn, x, linear))
    torch.testing.assert_close(losses, loss_fn(model, x).detach())
    assert all(p.grad is None for p in model.parameters()), "capture must not touch .grad"


def test_frozen_layers_are_captured(device):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    for p in model.parameters():
        p.requires_grad_(False)
    _, terms = per_sample_terms(model, loss_fn, torch.randn(3, 4, dtype=torch.float64), [model[0], model[2]])
    assert terms[0].g.abs().sum() > 0 and terms[1].g.shape == (3, 1, 2)


def test_unsupported_layers_are_rejected():
    with pytest.raises(ValueError, match="groups"):
        check_supported(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError, match="padding_mode"):
        check_supported(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="no per-sample capture"):
        check_supported(nn.ConvTranspose2d(4, 4, 3))
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="did not run"):
        per_sample_terms(model, lambda m, x: m[0](x).sum(1), torch.randn(2, 2), [model[1]])
    with pytest.raises(ValueError, match="per-sample losses"):
        per_sample_terms(model, lambda m, x: m(x).sum(), torch.randn(2, 2), [model[1]])
    with pytest.raises(ValueError, match="ran more than once"):
        per_sample_terms(model, lambda m, x: (m(x) + m(x)).sum(1), torch.randn(2, 2), [model[1]])


def dense_ekfac(grads, a_factor, g_factor, damping):
    """EKFAC by its definition with the dense Kronecker eigenbasis (row-major vec)."""
    _, q_a = torch.linalg.eigh(a_factor)
    _, q_g = torch.linalg.eigh(g_factor)
    basis = torch.kron(q_g, q_a)
    rotated = grads.flatten(1) @ basis  # [N, Dout·Din]
    s = (rotated**2).mean(0)
    return (rotated**2 / (s + damping)).sum(1)


def test_ekfac_with_full_eigenbasis_equals_dense_computation(device):
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    linear = nn.Linear(12, 4)
    model = nn.Sequential(conv, nn.Tanh(), nn.Flatten(), linear).double()
    x = torch.randn(40, 2, 4, 4, dtype=torch.float64)
    damping = 1e-3
    fitted = fit_curvature(model, loss_fn, [x[:20], x[20:]], [conv, linear], "ekfac", samples=40)
    _, terms = per_sample_terms(model, loss_fn, x[:10], [conv, linear])
    for layer, curvature, t in zip([conv, linear], fitted, terms):
        grads = loop_gradients(model, loss_fn, x, layer)
        _, all_terms = per_sample_terms(model, loss_fn, x, [layer])
        a = all_terms[0].a.flatten(0, 1)
        g = all_terms[0].g.flatten(0, 1)
        a_factor, g_factor = a.T @ a / 40, g.T @ g / (40 * all_terms[0].a.shape[1])
        # Eigenvectors are defined up to sign (and order within ties); compare the scores.
        rotated_all = grads.flatten(1) @ torch.kron(curvature.basis_g, curvature.basis_a)
        s = (rotated_all**2).mean(0).view_as(curvature.eigenvalues)
        torch.testing.assert_close(curvature.eigenvalues, s)
        want = dense_ekfac(grads, a_factor, g_factor, damping)[:10]
        torch.testing.assert_close(curvature.quadratic_form(t, damping), want, rtol=1e-8, atol=1e-8)


def test_kfac_and_diag_match_their_definitions(device):
    torch.manual_seed(4)
    linear = nn.Linear(5, 3)
    model = nn.Sequential(linear, nn.Tanh()).double()
    x = torch.randn(30, 5, dtype=torch.float64)
    grads = loop_gradients(model, loss_fn, x, linear)
    diag = fit_curvature(model, loss_fn, [x], [linear], "diag", samples=30)[0]
    torch.testing.assert_close(diag.eigenvalues, (grads**2).mean(0))
    assert diag.basis_a is None and diag.basis_g is None
    kfac = fit_curvature(model, loss_fn, [x], [linear], "kfac", samples=30)[0]
    _, (terms,) = per_sample_terms(model, loss_fn, x, [linear])
    a, g = terms.a[:, 0], terms.g[:, 0]
    lam_a = torch.linalg.eigvalsh(a.T @ a / 30)
    lam_g = torch.linalg.eigvalsh(g.T @ g / 30)
    torch.testing.assert_close(kfac.eigenvalues, lam_g[:, None] * lam_a[None, :])
    # KFAC preconditioning equals solving with the Kronecker product of the factors (damping 0).
    dense = torch.kron(g.T @ g / 30, a.T @ a / 30)
    want = torch.einsum("ni,ij,nj->n", grads.flatten(1), torch.linalg.pinv(dense), grads.flatten(1))
    got = kfac.quadratic_form(terms, 0.0)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind,cache_bytes,passes", [("ekfac", 0, 2), ("ekfac", 1 << 20, 1), ("ekfac", 200, 2),
                                                     ("kfac", 0, 1), ("diag", 0, 1)])
def test_fit_streams_only_the_requested_samples(kind, cache_bytes, passes, device):
    model = nn.Sequential(nn.Linear(3, 2)).double()
    seen = []

    def counting_loss(m, x):
        seen.append(len(x))
        return m(x).pow(2).sum(1)

    batches = [torch.randn(8, 3, dtype=torch.float64) for _ in range(5)]
    fitted = fit_curvature(model, counting_loss, batches, [model[0]], kind, samples=20, cache_bytes=cache_bytes)
    assert fitted[0].kind == kind and fitted[0].eigenvalues.shape == (2, 4)
    # EKFAC reads the terms twice (factors, correction): from the model twice, or once when the
    # first pass's terms fit the cache (20 samples × (4 + 2) float64 = 960 bytes; 200 do not).
    assert seen == [8, 8, 4] * passes
    recomputed = fit_curvature(model, counting_loss, batches, [model[0]], kind, samples=20, cache_bytes=0)
    assert torch.equal(fitted[0].eigenvalues, recomputed[0].eigenvalues), "the cache changes nothing"
    with pytest.raises(ValueError, match="kind must be"):
        fit_curvature(model, counting_loss, batches, [model[0]], "full")
    with pytest.raises(ValueError, match="no samples"):
        fit_curvature(model, counting_loss, [], [model[0]], "diag")
