"""ROSE and the likelihood baselines: direct computations, a per-sample reference loop, save /
load, batched Likelihood Regret against a per-sample Adam loop, Input Complexity's codecs."""

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ood_ext.detectors import ROSE
from ood_ext.detectors.generative import (
    NLL,
    InputComplexity,
    IWAELikelihood,
    LikelihoodRatio,
    LikelihoodRegret,
    compressed_bits,
)
from ood_ext.models import ConvVAE


def vae_loss(model, x):
    return model.neg_elbo(x, sample=False)


@pytest.fixture()
def vae(device):
    torch.manual_seed(0)
    return ConvVAE(1, width=4, latent=6).double().eval()


def images(n, seed):
    return torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(seed), dtype=torch.float64,
                      device="cpu").to(torch.get_default_device())


def loop_layer_scores(model, rose, x):
    """Per-layer scores by one backward per sample and explicit rotation of ∇W (reference)."""
    rows = []
    for n in range(len(x)):
        model.zero_grad()
        vae_loss(model, x[n : n + 1]).sum().backward()
        row = []
        for layer, c in zip(rose.layers, rose.curvatures):
            grad = layer.weight.grad.flatten(1)
            rotated = c["basis_g"].T @ grad @ c["basis_a"] if c["basis_a"] is not None else grad
            row.append((rotated**2 / (c["eigenvalues"] + rose.damping)).sum())
        rows.append(torch.stack(row))
    model.zero_grad(set_to_none=True)
    return torch.stack(rows)


@pytest.mark.parametrize("fisher", ["ekfac", "kfac", "diag"])
def test_rose_layer_scores_equal_a_per_sample_loop(vae, fisher, device):
    rose = ROSE(vae, vae_loss, "encoder", fisher, damping=1e-6, fisher_samples=40, norm_samples=20,
                progress=False).fit([images(30, 1), images(30, 2)])
    x = images(6, 3)
    got = rose._layer_scores(x)
    want = loop_layer_scores(vae, rose, x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=0)


def test_rose_normalisation_and_aggregation(vae, device):
    fit_data = torch.cat([images(40, 4), images(20, 5)])
    rose = ROSE(vae, vae_loss, fisher_samples=40, norm_samples=20, progress=False).fit([fit_data])
    z = rose.layer_scores(fit_data[40:])
    torch.testing.assert_close(z.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(6, dtype=torch.float64), atol=1e-9, rtol=0)
    x = images(5, 6)
    torch.testing.assert_close(rose.score(x), rose.layer_scores(x).max(1).values)
    relu = ROSE(vae, vae_loss, aggregate="relu_sum", fisher_samples=40, norm_samples=20, progress=False)
    relu.fit([fit_data])
    torch.testing.assert_close(relu.score(x), torch.relu(relu.layer_scores(x)).sum(1))


def test_rose_save_load_is_exact(vae, tmp_path, device):
    rose = ROSE(vae, vae_loss, fisher_samples=30, norm_samples=10, progress=False).fit([images(40, 7)])
    torch.save(rose.state_dict(), tmp_path / "rose.pt")
    again = ROSE(vae, vae_loss, fisher_samples=30, norm_samples=10, progress=False)
    again.load_state_dict(torch.load(tmp_path / "rose.pt", weights_only=True))
    x = images(8, 8)
    assert torch.equal(again.score(x), rose.score(x))
    with pytest.raises(ValueError, match="fitted with"):
        ROSE(vae, vae_loss, fisher="diag", fisher_samples=30, norm_samples=10).load_state_dict(rose.state_dict())


def test_rose_flags_directions_the_id_data_never_moves(device):
    """A linear 'autoencoder' fitted to data in a 2-D subspace: inputs off the subspace ask for a
    larger, unusual parameter change, so ROSE must score them higher."""
    torch.manual_seed(9)
    basis = torch.linalg.qr(torch.randn(6, 2, dtype=torch.float64))[0]
    model = nn.Sequential(nn.Linear(6, 6, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(basis @ basis.T)
    loss = lambda m, x: ((m(x) - x) ** 2).sum(1)  # noqa: E731
    id_x = torch.randn(400, 2, dtype=torch.float64) @ basis.T + 0.05 * torch.randn(400, 6, dtype=torch.float64)
    ood_x = torch.randn(100, 6, dtype=torch.float64)
    rose = ROSE(model, loss, "all", "ekfac", damping=1e-6, fisher_samples=300, norm_samples=100,
                progress=False).fit([id_x])
    id_scores, ood_scores = rose.score(id_x[300:]), rose.score(ood_x)
    assert ood_scores.median() > id_scores.quantile(0.95)


def test_rose_rejects_bad_configuration(vae, device):
    with pytest.raises(ValueError, match="fisher must be"):
        ROSE(vae, vae_loss, fisher="full")
    with pytest.raises(ValueError, match="aggregate must be"):
        ROSE(vae, vae_loss, aggregate="mean")
    with pytest.raises(ValueError, match="no encoder_layers"):
        ROSE(nn.Linear(2, 2), vae_loss)
    with pytest.raises(ValueError, match="no module named"):
        ROSE(vae, vae_loss, layers=["nope"])
    with pytest.raises(ValueError, match="no per-sample capture"):
        ROSE(vae, vae_loss, layers=["decoder.0"])
    with pytest.raises(ValueError, match="at least 3"):
        ROSE(vae, vae_loss, progress=False).fit([images(2, 0)])


def test_iwae_likelihood_is_memoised_and_keeps_mode(vae, device):
    likelihood = IWAELikelihood(vae, samples=3)
    x = images(4, 10)
    vae.train()
    first = likelihood(x)
    assert vae.training
    vae.eval()
    assert torch.equal(likelihood(x.clone()), first)
    assert not torch.equal(likelihood(images(4, 11)), first)
    assert torch.equal(NLL(vae, likelihood=likelihood).fit([]).score(x), -first)


def test_likelihood_ratio_and_input_complexity(vae, device):
    torch.manual_seed(1)
    background = ConvVAE(1, width=4, latent=6).double().eval()
    x = images(5, 12)
    main, back = IWAELikelihood(vae, 3), IWAELikelihood(background, 3)
    ratio = LikelihoodRatio(vae, background, likelihood=main).fit([])
    ratio.background = back
    torch.testing.assert_close(ratio.score(x), -(main(x) - back(x)))
    levels = (x * 255).round().to(torch.uint8).cpu().numpy()
    for codec in ("png", "jp2"):
        ic = InputComplexity(vae, codec, likelihood=main).fit([])
        want = (-main(x).double() / math.log(2) - torch.from_numpy(compressed_bits(levels, codec))) / 1024
        torch.testing.assert_close(ic.score(x), want)
    with pytest.raises(ValueError, match="codec must be"):
        InputComplexity(vae, "gif")


def test_compressed_bits_are_lossless_codec_lengths():
    image = (np.random.default_rng(0).random((1, 1, 32, 32)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image[0, 0]).save(buffer, format="PNG", compress_level=9)
    assert compressed_bits(image, "png")[0] == 8 * len(buffer.getvalue())
    flat = np.zeros((1, 1, 32, 32), np.uint8)
    assert compressed_bits(flat, "png")[0] < compressed_bits(image, "png")[0]
    assert compressed_bits(flat, "jp2")[0] < compressed_bits(image, "jp2")[0]


class DeterministicVAE(ConvVAE):
    """−ELBO at the posterior mean, so that the batched and the looped fits see the same loss."""

    def neg_elbo(self, x, sample=True):
        return super().neg_elbo(x, sample=False)


def test_likelihood_regret_batched_fit_equals_per_sample_adam(device):
    torch.manual_seed(2)
    model = DeterministicVAE(1, width=4, latent=6).double().eval()
    x = images(3, 13)
    regret = LikelihoodRegret(model, steps=4, lr=1e-2, weight_decay=5e-5, samples=2, progress=False).fit([])
    batched = regret._fitted_encoders(x)
    for n in range(3):
        copy = DeterministicVAE(1, width=4, latent=6).double().eval()
        copy.load_state_dict(model.state_dict())
        encoder = [p for name, p in copy.named_parameters() if name.startswith(("encoder.", "mean_head.",
                                                                                  "logvar_head."))]
        optimizer = torch.optim.Adam(encoder, lr=1e-2, weight_decay=5e-5)
        for _ in range(4):
            optimizer.zero_grad()
            copy.neg_elbo(x[n : n + 1]).sum().backward()
            optimizer.step()
        for name, p in copy.named_parameters():
            if f"model.{name}" in batched:
                torch.testing.assert_close(batched[f"model.{name}"][n], p.detach(), rtol=1e-9, atol=1e-10)
    scores = regret.score(x)
    assert scores.shape == (3,) and torch.isfinite(scores).all()


class ExactLikelihoodVAE(DeterministicVAE):
    """A deterministic 'likelihood' (the ELBO at the posterior mean), to pin down LR's sign."""

    def log_likelihood(self, x, samples=1):
        return -self.neg_elbo(x)


def test_likelihood_regret_is_the_likelihood_gain(device):
    torch.manual_seed(3)
    model = ExactLikelihoodVAE(1, width=4, latent=6).double().eval()
    x = images(2, 14)
    regret = LikelihoodRegret(model, steps=20, lr=1e-2, samples=1, progress=False).fit([])
    before = model.log_likelihood(x).detach()
    scores = regret.score(x)
    assert (scores > 0).all(), "fitting the encoder to a sample can only raise its likelihood here"
    params = regret._fitted_encoders(x)
    for n in range(2):
        fitted = ExactLikelihoodVAE(1, width=4, latent=6).double().eval()
        fitted.load_state_dict(model.state_dict())
        with torch.no_grad():
            for name, p in fitted.named_parameters():
                if f"model.{name}" in params:
                    p.copy_(params[f"model.{name}"][n])
        after = fitted.log_likelihood(x[n : n + 1]).detach()[0]
        torch.testing.assert_close(scores[n], after - before[n])
