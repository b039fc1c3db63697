"""The generative models: VAE shapes and likelihoods, Glow invertibility and exact
log-determinants, Glow's per-sample curvature terms, and a resumable Glow / VAE training."""

import math

import pytest
import torch

from ood_ext.curvature import per_sample_gradients, per_sample_terms
from ood_ext.models import ConvVAE, Glow
from ood_ext.models.glow import ActNorm, AffineCoupling, InvConv1x1, squeeze, unsqueeze
from ood_ext.training import GlowSettings, VAESettings, train_glow, train_vae


def test_vae_shapes_and_likelihood_bounds():
    torch.manual_seed(0)
    vae = ConvVAE(1, width=4, latent=5).double().eval()
    x = torch.rand(3, 1, 32, 32, dtype=torch.float64)
    mean, logvar = vae.encode(x)
    assert mean.shape == (3, 5) and logvar.shape == (3, 5)
    assert vae.decode(mean).shape == (3, 256, 1, 32, 32)
    torch.manual_seed(1)
    iwae = vae.log_likelihood(x, samples=50)
    elbo = -torch.stack([vae.neg_elbo(x) for _ in range(50)]).mean(0)
    assert (iwae >= elbo - 1.0).all(), "IWAE is a tighter bound than the ELBO (up to noise)"
    assert (vae.neg_elbo(x, sample=False) > 0).all()


@pytest.mark.parametrize("channels", [1, 3])
def test_vae_decoder_log_prob_is_the_categorical_likelihood_of_each_sub_pixel(channels):
    """The channels-last decoder and its softmax over adjacent levels against the plain reading:
    logits [B, 256, C, H, W] made contiguous, log-softmax over dim 1, the target levels picked."""
    torch.manual_seed(3)
    vae = ConvVAE(channels, width=4, latent=5).double().eval()
    x = torch.rand(2, channels, 32, 32, dtype=torch.float64)
    logits = vae.decode(vae.encode(x)[0])
    plain = logits.contiguous()
    levels = (x * 255).round().long()
    want = torch.log_softmax(plain, 1).gather(1, levels[:, None]).flatten(1).sum(1)
    torch.testing.assert_close(vae.decoder_log_prob(logits, x), want)
    torch.testing.assert_close(vae.decoder_log_prob(plain, x), want)
    grad = torch.autograd.grad(vae.decoder_log_prob(logits, x).sum(), logits)[0]
    expected = torch.nn.functional.one_hot(levels, 256).movedim(-1, 1) - torch.softmax(plain, 1)
    torch.testing.assert_close(grad, expected.to(grad.dtype))


@pytest.mark.parametrize("layer", [ActNorm(4), InvConv1x1(4), AffineCoupling(4, 6)])
def test_flow_layers_invert_and_have_exact_log_determinants(layer):
    torch.manual_seed(2)
    layer = layer.double()
    x = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    if isinstance(layer, ActNorm):
        layer(torch.randn(5, 4, 2, 2, dtype=torch.float64), torch.zeros(5, dtype=torch.float64))  # initialise
    with torch.no_grad():  # make the coupling non-trivial
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    y, logdet = layer(x, torch.zeros(1, dtype=torch.float64))
    torch.testing.assert_close(layer.reverse(y), x)
    jacobian = torch.autograd.functional.jacobian(lambda v: layer(v.view_as(x), torch.zeros(1, dtype=v.dtype))[0]
                                                  .flatten(), x.flatten())
    torch.testing.assert_close(logdet[0], torch.linalg.slogdet(jacobian)[1])


def test_squeeze_round_trip():
    x = torch.randn(2, 3, 8, 6)
    assert squeeze(x).shape == (2, 12, 4, 3)
    assert torch.equal(unsqueeze(squeeze(x)), x)


def test_glow_likelihood_is_deterministic_in_eval_and_in_bits():
    torch.manual_seed(3)
    glow = Glow(1, 32, levels=2, steps=2, hidden=8).double()
    x = torch.rand(4, 1, 32, 32, dtype=torch.float64)
    glow.train()
    glow(x)  # ActNorm initialisation
    glow.eval()
    assert torch.equal(glow.nll_bits(x), glow.nll_bits(x))
    torch.testing.assert_close(glow.nll_bits(x), -glow.log_likelihood(x) / (1024 * math.log(2)))
    assert torch.equal(glow.log_likelihood(x, 20), glow.log_likelihood(x)), "a flow's likelihood is exact"


def test_glow_curvature_terms_match_autograd():
    """InvConv terms give the gradient wrt the effective matrix W (incl. the log-det term): pulled
    back through W = P L (U + diag(s)) they equal autograd's LU-parameter gradients. ActNorm terms
    equal its [log_scale | bias] gradients."""
    torch.manual_seed(4)
    glow = Glow(1, 32, levels=2, steps=2, hidden=8).double()
    x = torch.rand(3, 1, 32, 32, dtype=torch.float64)
    glow.train()
    glow(x)
    glow.eval()
    inv = glow.curvature_layers()[1]
    act = [m for m in glow.modules() if isinstance(m, ActNorm)][2]
    loss = lambda m, v: m.nll_bits(v)  # noqa: E731
    _, (t_inv, t_act) = per_sample_terms(glow, loss, x, [inv, act])
    g_w, g_act = per_sample_gradients(t_inv), per_sample_gradients(t_act)
    eye = torch.eye(len(inv.log_s), dtype=torch.float64)
    lower = inv.lower * inv.lower_mask + eye
    upper = inv.upper * inv.lower_mask.T + torch.diag(inv.sign_s * inv.log_s.exp())
    for n in range(3):
        want = torch.autograd.grad(loss(glow, x[n : n + 1]).sum(),
                                   [inv.lower, inv.upper, inv.log_s, act.log_scale, act.bias])
        pulled_upper = lower.T @ inv.permutation.T @ g_w[n]
        torch.testing.assert_close((inv.permutation.T @ g_w[n] @ upper.T) * inv.lower_mask, want[0])
        torch.testing.assert_close(pulled_upper * inv.lower_mask.T, want[1])
        torch.testing.assert_close(pulled_upper.diagonal() * inv.sign_s * inv.log_s.exp(), want[2])
        torch.testing.assert_close(g_act[n][:, 0], want[3].flatten())
        torch.testing.assert_close(g_act[n][:, 1], want[4].flatten())


def test_glow_and_vae_training_resume_exactly(tmp_path):
    x = torch.rand(32, 1, 32, 32, generator=torch.Generator().manual_seed(5))
    settings = GlowSettings(levels=1, steps=1, hidden=4, train_samples=None, epochs=2, batch_size=16, lr=1e-3,
                            warmup_steps=3)

    def glow():
        torch.manual_seed(6)
        return Glow(1, 32, levels=1, steps=1, hidden=4)

    straight = train_glow(glow(), x, settings, progress=False)
    half = GlowSettings(**{**settings.__dict__, "epochs": 1})
    train_glow(glow(), x, half, checkpoint=tmp_path / "g.pt", progress=False)
    resumed = train_glow(glow(), x, settings, checkpoint=tmp_path / "g.pt", progress=False)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    vae_settings = VAESettings(width=2, latent=3, epochs=1, batch_size=16, lr=1e-3, step=1, gamma=0.5,
                               train_samples=None, perturbation=0.3)
    torch.manual_seed(7)
    vae = train_vae(ConvVAE(1, 2, 3), x, vae_settings, progress=False)
    assert not vae.training
