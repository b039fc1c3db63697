"""AnoDLSGAN: the traced variance and the dynamic scale by hand, the latent-likelihood score
against torch.distributions, InfoGAN as the s ≡ 1 switch, exact resume, the reconstruction
score, FID against scipy."""

import math

import numpy as np
import pytest
import torch
from scipy import linalg
from torch import nn

from ood_ext.detectors import LatentLikelihood, ReconstructionError
from ood_ext.metrics import frechet_distance
from ood_ext.models import DLSGAN, Autoencoder
from ood_ext.training import AutoencoderSettings, DLSGANSettings, train_autoencoder, train_dlsgan
from ood_ext.training.dlsgan import encoder_loss, inversion_figures, r1_penalty

SETTINGS = DLSGANSettings(width=2, latent=6, epochs=2, batch_size=8, train_samples=None)


def images(n, seed=0):
    return torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(seed), device="cpu").to(
        torch.get_default_device())


def gan(dynamic=True, seed=1):
    torch.manual_seed(seed)
    return DLSGAN(1, width=2, latent=6, dynamic_scale=dynamic)


def test_traced_variance_and_dynamic_scale_by_hand(device):
    model = gan()
    codes = torch.tensor([[1.0, 2.0, 0.0, 0.5, 3.0, 1.0], [3.0, 0.0, 0.0, 0.5, 1.0, -1.0]])
    model.trace_latent(codes, 0.999)
    want_v = 0.999 * torch.ones(6) + 0.001 * torch.tensor([5.0, 2.0, 0.0, 0.25, 5.0, 1.0])
    torch.testing.assert_close(model.latent_variance, want_v)
    s = model.latent_scale()
    torch.testing.assert_close(s, (6 * want_v / want_v.sum()).sqrt())
    torch.testing.assert_close(s.pow(2).sum(), torch.tensor(6.0)), "Σ s² = d"
    assert not s.requires_grad
    info = gan(dynamic=False)
    info.trace_latent(codes, 0.999)
    assert torch.equal(info.latent_scale(), torch.ones(6)), "InfoGAN: s ≡ 1, v traced all the same"
    torch.testing.assert_close(info.latent_variance, want_v)


def test_losses_by_hand(device):
    code, z, s = torch.randn(4, 6), torch.randn(4, 6), torch.rand(6) + 0.5
    torch.testing.assert_close(encoder_loss(code, z, s), sum(((code[b] - z[b]) * s).pow(2).sum() / 6
                                                             for b in range(4)) / 4)
    x = torch.randn(3, 5, requires_grad=True)
    w = torch.randn(5)
    torch.testing.assert_close(r1_penalty((x**2) @ w, x, input_scale=1.0), (2 * x * w).pow(2).sum(1).mean())
    # The network sees 2x − 1: the gradient on that scale is half the gradient in x.
    torch.testing.assert_close(r1_penalty((x**2) @ w, x), (x * w).pow(2).sum(1).mean())


def test_trace_rate_keeps_the_papers_horizon_as_a_fraction_of_the_run():
    s = DLSGANSettings(width=2, latent=6, epochs=1, batch_size=8, train_samples=None)
    assert s.trace_rate(56250) == pytest.approx(0.999)
    assert s.trace_rate(1125) == pytest.approx(1 - 1 / 20)
    assert s.trace_rate(10) == 0.0, "a run shorter than one time constant follows the last batch"


def test_inversion_figures_on_known_encoders(device):
    class Toy(nn.Module):
        """G(z) = z as an image; E reads dimension j back with gain a_j and noise of s.d. b_j."""

        latent_dim = 4

        def __init__(self, gain, noise):
            super().__init__()
            self.register_buffer("latent_variance", torch.tensor([1.0, 1.0, 0.05, 1.0]))
            self.gain, self.noise = torch.tensor(gain), torch.tensor(noise)

        def generate(self, z):
            return z.view(len(z), 1, 2, 2)

        def encode_latent(self, x):
            z = x.flatten(1)
            return self.gain * z + self.noise * torch.randn(z.shape, generator=torch.Generator().manual_seed(5))

    exact = inversion_figures(Toy([2.0, 1.0, 0.5, -1.0], [0.0] * 4), samples=500)
    assert exact["collapsed_dims"] == 1
    assert exact["code_correlation"] == pytest.approx(0.5)  # (1 + 1 + 1 − 1) / 4
    assert exact["code_correlation_active"] == pytest.approx(1 / 3)  # dimension 2 (v < 0.1 max v) left out
    noisy = inversion_figures(Toy([1.0] * 4, [0.0, 1.0, 0.0, 1e6]), samples=20000)
    # corr(z, z + b ε) = 1 / sqrt(1 + b²): 1, 0.707, 1, ~0.
    assert noisy["code_correlation"] == pytest.approx((1 + 0.5**0.5 + 1 + 0) / 4, abs=0.01)


def test_infogan_is_the_dlsgan_with_the_scale_switched_off(device):
    x = images(8)
    one_step = DLSGANSettings(width=2, latent=6, epochs=1, batch_size=8, train_samples=None)
    dls = train_dlsgan(gan(True), x, one_step, progress=False)
    info = train_dlsgan(gan(False), x, one_step, progress=False)
    # v starts uniform, so s = 1 on the first step: both take exactly the same step.
    for a, b in zip(dls.state_dict().values(), info.state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(dls.latent_scale(), info.latent_scale()), "then v is no longer uniform"


def test_training_resumes_exactly(tmp_path, device):
    x = images(16)
    straight = train_dlsgan(gan(), x, SETTINGS, progress=False)
    half = DLSGANSettings(**{**SETTINGS.__dict__, "epochs": 1})
    train_dlsgan(gan(), x, half, checkpoint=tmp_path / "c.pt", progress=False)
    resumed = train_dlsgan(gan(), x, SETTINGS, checkpoint=tmp_path / "c.pt", progress=False)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(straight.latent_variance, torch.ones(6)), "v was traced"


def test_latent_likelihood_equals_torch_distributions_and_stays_finite(device):
    model = gan().double()
    with torch.no_grad():
        model.latent_variance.copy_(torch.rand(6, dtype=torch.float64) + 0.2)
    detector = LatentLikelihood(model, progress=False).fit([])
    x = images(5).double()
    with torch.no_grad():
        code = model.encode_latent(x)
    normal = torch.distributions.Normal(torch.zeros(6, dtype=torch.float64), model.latent_variance.sqrt())
    torch.testing.assert_close(detector.score(x), -normal.log_prob(code).sum(1), rtol=1e-10, atol=1e-10)

    class FarCode(nn.Module):
        latent_variance = torch.ones(6, dtype=torch.float64)

        def encode_latent(self, x):
            return torch.full((len(x), 6), 1e6, dtype=torch.float64)

    far = LatentLikelihood(FarCode(), progress=False).fit([]).score(x)
    assert torch.isfinite(far).all()
    torch.testing.assert_close(far, torch.full((5,), 6 * (0.5 * math.log(2 * math.pi) + 0.5e12), dtype=torch.float64))


class ToyCoder(nn.Module):
    """Codes = the first 3 pixels; reconstruction keeps them and zeroes the rest."""

    latent_variance = torch.ones(3)

    def encode_latent(self, x):
        return x.flatten(1)[:, :3]

    def reconstruct(self, x):
        out = torch.zeros_like(x).flatten(1)
        out[:, :3] = x.flatten(1)[:, :3]
        return out.view_as(x)


def test_score_direction_on_a_toy_case(device):
    coder = ToyCoder()
    id_x, ood_x = torch.zeros(10, 1, 2, 2), torch.zeros(10, 1, 2, 2)
    id_x.flatten(1)[:, :3] = 0.1 * torch.randn(10, 3)
    ood_x.flatten(1)[:, :3] = 5 + torch.randn(10, 3)  # far from the prior's mean
    latent = LatentLikelihood(coder, progress=False).fit([])
    assert latent.score(ood_x).min() > latent.score(id_x).max()
    id_x.flatten(1)[:, 3] = 0.01
    ood_x.flatten(1)[:, 3] = 1.0  # the pixel the toy cannot reconstruct
    recon = ReconstructionError(coder, progress=False).fit([])
    assert recon.score(ood_x).min() > recon.score(id_x).max()


def test_detectors_save_and_load(tmp_path, device):
    model = gan()
    for make in (LatentLikelihood, ReconstructionError):
        detector = make(model, progress=False).fit([])
        torch.save(detector.state_dict(), tmp_path / "d.pt")
        again = make(model, progress=False).load_state_dict(torch.load(tmp_path / "d.pt", weights_only=True))
        x = images(4)
        assert torch.equal(again.score(x), detector.score(x))
    with pytest.raises(TypeError, match="LatentEncoder"):
        LatentLikelihood(Autoencoder(1, 2, 6))


def test_autoencoder_learns_to_reconstruct(device):
    torch.manual_seed(2)
    x = images(64)
    model = Autoencoder(1, 2, 6)
    before = (model.reconstruct(x) - x).pow(2).mean().item()
    settings = AutoencoderSettings(width=2, latent=6, epochs=3, batch_size=16, train_samples=None, lr=3e-3)
    train_autoencoder(model, x, settings, progress=False)
    with torch.no_grad():
        assert (model.reconstruct(x) - x).pow(2).mean().item() < before


def test_frechet_distance_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5)) + 1
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a.T), np.cov(b.T)
    want = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(torch.tensor(a), torch.tensor(b)) == pytest.approx(want, rel=1e-8)
    assert frechet_distance(torch.tensor(a), torch.tensor(a)) == pytest.approx(0.0, abs=1e-9)
