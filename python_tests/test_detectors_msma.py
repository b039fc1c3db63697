"""MSMA / RotNCSN: fused normality vectors against plain torch, GMM scoring against sklearn,
RotNCSN's rotation / target convention, model selection, save / load."""

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from ood_ext.detectors import MSMA, RotNCSN
from ood_ext.detectors.msma import normality_vectors, select_gmm
from ood_ext.models import NCSN
from ood_ext.models.ncsn import CondInstanceNorm, geometric_sigmas
from ood_ext.training.ncsn import denoising_loss, dsm_loss_per_level, rotate


@pytest.fixture()
def net(device):
    torch.manual_seed(0)
    return NCSN(1, width=4, levels=5).double().eval()


def images(n, seed=0):
    return torch.rand(n, 1, 12, 12, generator=torch.Generator().manual_seed(seed), dtype=torch.float64,
                      device="cpu").to(torch.get_default_device())


def test_sigmas_are_geometric_largest_first():
    s = geometric_sigmas(10, 1.0, 0.01)
    torch.testing.assert_close(s[0], torch.tensor(1.0)) and torch.testing.assert_close(s[-1], torch.tensor(0.01))
    ratios = s[1:] / s[:-1]
    torch.testing.assert_close(ratios, torch.full_like(ratios, ratios[0].item()))


@pytest.mark.parametrize("channels_last", [False, True])
def test_conditional_instance_norm_equals_its_formula(device, channels_last):
    """γ_i (x − μ)/√(var + 1e-5) + β_i + α_i (μ − mean_c μ)/√(var_c μ + 1e-5), in float64 by hand."""
    torch.manual_seed(0)
    norm = CondInstanceNorm(5, 3).double()
    for e in (norm.gamma, norm.beta, norm.alpha):
        torch.nn.init.normal_(e.weight)
    x = 3 + 2 * torch.randn(4, 5, 6, 6, dtype=torch.float64)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    level = torch.tensor([0, 2, 1, 2])
    out = norm(x, level)
    for b in range(4):
        for c in range(5):
            plane = x[b, c]
            mu, var = plane.mean(), plane.var(unbiased=False)
            mus = x[b].mean((1, 2))
            g, be, a = (e.weight[level[b], c] for e in (norm.gamma, norm.beta, norm.alpha))
            want = g * (plane - mu) / (var + 1e-5).sqrt() + be + a * (mu - mus.mean()) / (mus.var(unbiased=False) + 1e-5).sqrt()
            torch.testing.assert_close(out[b, c], want)


def test_dsm_loss_per_level_averages_the_documented_draws(net, device):
    x = images(3)
    for rotation in (False, True):
        got = dsm_loss_per_level(net, x, rotation, seed=7)
        g = torch.Generator().manual_seed(7)
        noise = torch.randn(x.shape, generator=g, dtype=torch.float64).to(x)
        turns = torch.randint(0, 4, (5 * 3,), generator=g).to(x.device) if rotation else None
        for i in range(5):
            t = None if turns is None else turns[3 * i:3 * i + 3]
            want = denoising_loss(net, x, torch.full((3,), i), noise, t).mean()
            torch.testing.assert_close(got[i], want)


def test_a_network_that_outputs_zero_has_half_the_noise_energy_as_its_loss(device):
    zero = Recorder(torch.zeros(1, 1, 12, 12, dtype=torch.float64))
    x = images(200)
    loss = dsm_loss_per_level(zero, x)
    torch.testing.assert_close(loss, torch.full((2,), 0.5 * 144, dtype=torch.float64), rtol=0.05, atol=0)
    assert loss[0] == loss[1], "the same noise draw at every level"


def test_scores_all_levels_equals_a_loop(net, device):
    x = images(3)
    every = net.scores_all_levels(x)
    for i in range(5):
        torch.testing.assert_close(every[i], net(x, torch.full((3,), i)))


def test_chunked_evaluation_equals_one_pass(net, device):
    from ood_ext.models.ncsn import in_chunks

    x, level = images(7), torch.tensor([0, 4, 2, 2, 1, 3, 0])
    with torch.no_grad():
        torch.testing.assert_close(in_chunks(net, x, level, size=3), net(x, level))


def test_fused_normality_vectors_equal_plain_torch(net, device):
    x = images(4, 1)
    sig = net.sigmas
    with torch.no_grad():
        want_msma = torch.stack([(sig[i] * net(x, torch.full((4,), i))).flatten(1).norm(dim=1) for i in range(5)], 1)
        torch.testing.assert_close(normality_vectors(net, x, "msma"), want_msma)
        for features in ("rec", "rot"):
            torch.manual_seed(7)
            got = normality_vectors(net, x, features)
            torch.manual_seed(7)
            noise = torch.randn(5, *x.shape, dtype=x.dtype)
            want = torch.zeros(4, 5, dtype=x.dtype)
            for i in range(5):
                noisy = x + sig[i] * noise[i]
                for k in ((0, 1, 2, 3) if features == "rot" else (0,)):
                    s = net(torch.rot90(noisy, k, dims=(2, 3)), torch.full((4,), i))
                    want[:, i] += (s + (noisy - x) / sig[i] ** 2).flatten(1).norm(dim=1)
            torch.testing.assert_close(got, want)


def test_rotate_turns_each_image_by_its_own_angle():
    x = images(6, 2)
    turns = torch.tensor([0, 1, 2, 3, 1, 0])
    out = rotate(x, turns)
    for b in range(6):
        assert torch.equal(out[b], torch.rot90(x[b], int(turns[b]), dims=(1, 2)))


class Recorder(torch.nn.Module):
    """A 'score network' that records its inputs and returns a fixed pattern."""

    def __init__(self, pattern):
        super().__init__()
        self.register_buffer("sigmas", torch.tensor([0.5, 0.1], dtype=torch.float64))
        self.pattern, self.seen = pattern, None

    def forward(self, x, level):
        self.seen = x.clone()
        return self.pattern.expand_as(x)


def test_rotncsn_sees_the_rotated_image_and_targets_the_unrotated_noise(device):
    """The convention of seed 004 (eq. 4): input r(x̃), target −(x̃ − x)/σ² of the original x̃."""
    x = images(2, 3)
    pattern = torch.arange(144, dtype=torch.float64).view(1, 1, 12, 12) / 100
    model = Recorder(pattern)
    level, turns = torch.tensor([0, 1]), torch.tensor([1, 3])
    noise = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    loss = denoising_loss(model, x, level, noise, turns)
    sigma = model.sigmas[level].view(-1, 1, 1, 1)
    noisy = x + sigma * noise
    for b in range(2):
        assert torch.equal(model.seen[b], torch.rot90(noisy[b], int(turns[b]), dims=(1, 2)))
    want = 0.5 * (sigma**2 * (pattern + noise / sigma) ** 2).flatten(1).sum(1)
    torch.testing.assert_close(loss, want)
    rotated_target = 0.5 * (sigma**2 * (pattern + rotate(noise, turns) / sigma) ** 2).flatten(1).sum(1)
    assert not torch.allclose(loss, rotated_target), "the test must tell the two conventions apart"
    # NCSN (no rotation): the same loss on the unrotated input.
    torch.testing.assert_close(denoising_loss(model, x, level, noise), want)
    assert torch.equal(model.seen, noisy)


def test_gmm_scoring_through_the_op_equals_sklearn(net, device):
    detector = MSMA(net, "msma", "gmm", components=(2, 4), folds=2, progress=False).fit([images(40, 4)])
    x = images(10, 5)
    z = detector.vectors(x).cpu().numpy()
    gmm = GaussianMixture(len(detector.gmm_means), covariance_type="full")
    gmm.means_ = detector.gmm_means.cpu().numpy()
    gmm.precisions_cholesky_ = detector.gmm_prec_chol.cpu().numpy()
    gmm.weights_ = np.exp(detector.gmm_log_weights.cpu().numpy())
    np.testing.assert_allclose(-detector.score(x).cpu().numpy(), gmm.score_samples(z), rtol=1e-10)


def test_select_gmm_prefers_the_true_number_of_clusters():
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(-5, 0.3, (150, 2)), rng.normal(5, 0.3, (150, 2))])
    assert select_gmm(data, (1, 2), folds=3, seed=0).n_components == 2
    with pytest.raises(ValueError, match="too few vectors"):
        select_gmm(data[:3], (2, 4), folds=3, seed=0)


@pytest.mark.parametrize("make", [lambda m: MSMA(m, "msma", "gmm", components=(2,), folds=2, progress=False),
                                  lambda m: MSMA(m, "rec", "knn", progress=False),
                                  lambda m: RotNCSN(m, "gmm", components=(2,), folds=2, progress=False)])
def test_save_load_round_trip(net, make, tmp_path, device):
    detector = make(net).fit([images(30, 6)])
    torch.save(detector.state_dict(), tmp_path / "d.pt")
    again = make(net).load_state_dict(torch.load(tmp_path / "d.pt", weights_only=True))
    x = images(5, 7)
    torch.manual_seed(1)
    first = detector.score(x)
    torch.manual_seed(1)
    assert torch.equal(again.score(x), first)


def test_bad_configuration(net, device):
    with pytest.raises(ValueError, match="features must be"):
        MSMA(net, "grad")
    with pytest.raises(ValueError, match="density must be"):
        MSMA(net, "msma", "flow")
    with pytest.raises(ValueError, match="needs more than 5"):
        MSMA(net, "msma", "knn", progress=False).fit([images(4)])
