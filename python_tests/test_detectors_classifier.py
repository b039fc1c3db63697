"""Classifier-based detectors: score direction, exact save/load, mode and gradient hygiene,
and each score against a direct computation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ood_ext.data.images import loader
from ood_ext.detectors import MSP, ODIN, Energy, Mahalanobis, NotFittedError, ReAct
from ood_ext.detectors.classifier import class_means_and_tied_covariance


class ToyClassifier(nn.Module):
    """features = ReLU(BN(x)) (BN makes train / eval mode observable), logits = 5 · features[:C].

    Inputs near 3·e_c are confidently class c; inputs near the origin give near-uniform logits,
    so every detector must score them higher."""

    def __init__(self, dim=8, classes=4):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim)
        self.fc = nn.Linear(dim, classes, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(5 * torch.eye(classes, dim))

    def features(self, x):
        return torch.relu(self.bn(x.flatten(1)))

    def head(self, f):
        return self.fc(f)

    def forward(self, x):
        return self.head(self.features(x))


@pytest.fixture()
def setup(device):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(400, device="cpu") % 4
    x = 0.3 * torch.randn(400, 8, generator=gen, device="cpu")
    x[torch.arange(400, device="cpu"), y] += 3.0
    ood = 0.05 * torch.randn(200, 8, generator=gen, device="cpu")
    return ToyClassifier().eval(), x.to(device), y.to(device), ood.to(device)


DETECTORS = {
    "msp": lambda m: MSP(m, progress=False),
    "odin": lambda m: ODIN(m, 1000.0, 0.01, progress=False),
    "odin-chosen": lambda m: ODIN(m, 10.0, None, progress=False),
    "energy": lambda m: Energy(m, 1.0, progress=False),
    "react": lambda m: ReAct(m, 0.9, 1.0, progress=False),
    "mahalanobis": lambda m: Mahalanobis(m, 0.0, progress=False),
    "mahalanobis-pre": lambda m: Mahalanobis(m, 0.01, progress=False),
}


@pytest.mark.parametrize("name", DETECTORS)
def test_ood_scores_higher_than_id(setup, name, device):
    model, x, y, ood = setup
    det = DETECTORS[name](model).fit(loader(x, y.cpu().numpy(), batch_size=64))
    id_scores, ood_scores = det.score(x[:200]), det.score(ood)
    assert id_scores.shape == (200,) and ood_scores.shape == (200,)
    assert ood_scores.mean() > id_scores.mean()
    assert (ood_scores.median() > id_scores.quantile(0.9)), "OOD should sit above nearly all ID scores"


@pytest.mark.parametrize("name", DETECTORS)
def test_save_load_scores_bit_identically(setup, name, tmp_path, device):
    model, x, y, ood = setup
    det = DETECTORS[name](model).fit(loader(x, y.cpu().numpy(), batch_size=64))
    torch.save(det.state_dict(), tmp_path / "det.pt")
    fresh = DETECTORS[name](model).load_state_dict(torch.load(tmp_path / "det.pt", weights_only=True))
    assert torch.equal(fresh.score(ood), det.score(ood))
    assert torch.equal(fresh.score_loader(loader(x, batch_size=50)), det.score(x).cpu())


def test_state_checks(setup, device):
    model, x, y, _ = setup
    with pytest.raises(NotFittedError):
        Energy(model).score(x)
    with pytest.raises(NotFittedError):
        ReAct(model).state_dict()
    state = Energy(model, 1.0).fit([x]).state_dict()
    with pytest.raises(ValueError, match="fitted with"):
        Energy(model, 2.0).load_state_dict(state)
    with pytest.raises(ValueError, match="not MSP"):
        MSP(model).load_state_dict(state)
    with pytest.raises(ValueError, match="labelled"):
        Mahalanobis(model).fit([x])


@pytest.mark.parametrize("name", DETECTORS)
def test_mode_restored_and_no_gradient_leaks(setup, name, device):
    model, x, y, ood = setup
    det = DETECTORS[name](model).fit(loader(x, y.cpu().numpy(), batch_size=64))
    want = det.score(ood)
    model.train()
    got = det.score(ood)
    assert model.training and model.bn.training, "train mode restored"
    assert torch.equal(got, want), "scored in eval mode (BatchNorm running statistics)"
    assert not got.requires_grad
    assert all(p.grad is None for p in model.parameters()), "no parameter gradients accumulated"
    model.eval()


def test_scores_match_direct_computations(setup, device):
    model, x, y, ood = setup
    with torch.no_grad():
        logits, feats = model(ood), model.features(ood)
    assert torch.allclose(MSP(model).fit([]).score(ood), -logits.softmax(1).max(1).values)
    assert torch.allclose(Energy(model, 2.0).fit([]).score(ood), -2.0 * torch.logsumexp(logits / 2.0, 1))
    react = ReAct(model, 0.8).fit(loader(x, batch_size=64))
    with torch.no_grad():
        clip = torch.quantile(model.features(x).flatten().double(), 0.8).float()
        want = -torch.logsumexp(model.head(feats.clamp(max=clip)), 1)
    assert torch.allclose(react.clip.float(), clip) and torch.allclose(react.score(ood), want, atol=1e-5)
    # ODIN: perturb against the pseudo-label's tempered cross-entropy, then tempered MSP.
    xs = ood.clone().requires_grad_()
    tempered = model(xs) / 1000.0
    F.cross_entropy(tempered, tempered.argmax(1), reduction="sum").backward()
    with torch.no_grad():
        want = -(model(ood - 0.01 * xs.grad.sign()) / 1000.0).softmax(1).max(1).values
    assert torch.allclose(ODIN(model, 1000.0, 0.01).fit([]).score(ood), want)


def test_odin_chooses_epsilon_on_id_data_alone(setup, device):
    model, x, y, ood = setup
    odin = ODIN(model, 10.0, None, progress=False).fit(loader(x, batch_size=64))
    # The ID-only criterion by hand: the grid's ε with the largest mean tempered confidence of x̃.
    xs = x.clone().requires_grad_()
    tempered = model(xs) / 10.0
    F.cross_entropy(tempered, tempered.argmax(1), reduction="sum").backward()
    with torch.no_grad():
        means = [float((model(x - eps * xs.grad.sign()) / 10.0).softmax(1).max(1).values.double().mean())
                 for eps in ODIN.EPSILONS]
    assert float(odin.step) == ODIN.EPSILONS[int(np.argmax(means))] > 0, "a step towards confidence helps ID data"
    again = ODIN(model, 10.0, None, progress=False).load_state_dict(odin.state_dict())
    assert float(again.step) == float(odin.step) and torch.equal(again.score(ood), odin.score(ood))
    with pytest.raises(ValueError, match="loader yielded none"):
        ODIN(model, 10.0, None).fit([])
    with pytest.raises(ValueError, match="epsilon must be ≥ 0"):
        ODIN(model, 10.0, -0.1)
    fixed = ODIN(model, 10.0, 0.002).fit([])
    assert float(fixed.step) == 0.002
    with pytest.raises(ValueError, match="fitted with"):
        fixed.load_state_dict(odin.state_dict())


def test_mahalanobis_matches_numpy(setup, device):
    model, x, y, ood = setup
    det = Mahalanobis(model, ridge=0.0).fit(loader(x, y.cpu().numpy(), batch_size=64))
    with torch.no_grad():
        f, g = model.features(x).double().cpu().numpy(), model.features(ood).double().cpu().numpy()
    labels = y.cpu().numpy()
    means = np.stack([f[labels == c].mean(0) for c in range(4)])
    cov = sum(((f[labels == c] - means[c]).T @ (f[labels == c] - means[c])) for c in range(4)) / len(f)
    prec = np.linalg.pinv(cov)
    want = np.min([0.5 * np.einsum("nd,de,ne->n", g - m, prec, g - m) for m in means], axis=0)
    np.testing.assert_allclose(det.score(ood).double().cpu().numpy(), want, rtol=2e-3)


def test_tied_covariance_fit_at_d256_against_numpy(device):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(3000, 256)) @ rng.normal(size=(256, 256)) * 0.1 + 5
    labels = rng.integers(0, 10, 3000)
    classes, means, cov = class_means_and_tied_covariance(torch.tensor(f), torch.tensor(labels))
    assert classes.tolist() == list(range(10))
    np_means = np.stack([f[labels == c].mean(0) for c in range(10)])
    centred = f - np_means[labels]
    np.testing.assert_allclose(means.cpu().numpy(), np_means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov.cpu().numpy(), centred.T @ centred / len(f), rtol=1e-10, atol=1e-12)
