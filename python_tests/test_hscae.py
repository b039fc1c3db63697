"""HSCAE: the conditioning is wired, levels repeat the autoencoder, each score's direction, the
OR rule and its ID-only thresholds, save / load."""

import numpy as np
import pytest
import torch
from torch import nn

from ood_ext.detectors import HSCAE, Detector, OrEnsemble
from ood_ext.detectors.hscae import choose_thresholds
from ood_ext.models import SelfConditionedAutoencoder
from ood_ext.training import HSCAESettings, train_hscae


class TinyClassifier(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.fc = nn.Linear(16, classes)

    def features(self, x):
        return nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)

    def head(self, f):
        return self.fc(f)

    def forward(self, x):
        return self.head(self.features(x))


def autoencoder():
    torch.manual_seed(0)
    return SelfConditionedAutoencoder(1, 8, classes=3, width=2, latent=4, depth=1).eval()


def test_changing_the_condition_changes_the_reconstruction(device):
    ae, x = autoencoder(), torch.rand(2, 1, 8, 8)
    p = torch.tensor([[1.0, 0.0, 0.0]] * 2)
    with torch.no_grad():
        assert not torch.allclose(ae(x, p), ae(x, p.flip(1)))
        assert ae(x, p).shape == x.shape and ((ae(x, p) >= 0) & (ae(x, p) <= 1)).all()


def test_level_h_applies_the_autoencoder_h_times(device):
    ae, classifier, x = autoencoder(), TinyClassifier().eval(), torch.rand(3, 1, 8, 8)
    detector = HSCAE(ae, classifier, level=3, progress=False).fit([])
    with torch.no_grad():
        want = x
        for _ in range(3):
            want = ae(want, torch.softmax(classifier(want), 1))
    torch.testing.assert_close(detector.reconstruct(x, 3), want)
    torch.testing.assert_close(detector.score(x), (x - want).pow(2).flatten(1).mean(1))


class Keep(nn.Module):
    """A toy 'autoencoder' that reproduces the left half of the image and blanks the right."""

    def forward(self, x, p):
        out = x.clone()
        out[..., x.shape[-1] // 2:] = 0
        return out


class SidePicker(nn.Module):
    """Logits from the mean of the left and of the right half: the right half sways the class."""

    def features(self, x):
        return torch.stack([x[..., :6].mean((1, 2, 3)), x[..., 6:].mean((1, 2, 3))], 1)

    def head(self, f):
        return 20 * torch.stack([f[:, 0] - f[:, 1], f[:, 1] - f[:, 0]], 1)

    def forward(self, x):
        return self.head(self.features(x))


@pytest.mark.parametrize("metric", ["mse", "softmax", "ssim"])
def test_each_score_is_higher_for_what_the_autoencoder_cannot_reproduce(metric, device):
    gen = torch.Generator().manual_seed(0)
    id_x = torch.zeros(8, 1, 12, 12)
    id_x[..., :6] = torch.rand(8, 1, 12, 6, generator=gen, device="cpu").to(id_x.device)  # ID: right half empty
    ood_x = id_x.clone()
    ood_x[..., 6:] = 0.8 + 0.2 * torch.rand(8, 1, 12, 6, generator=gen, device="cpu").to(ood_x.device)
    detector = HSCAE(Keep(), SidePicker(), level=1, metric=metric, progress=False).fit([])
    assert detector.score(ood_x).min() > detector.score(id_x).max()


class Fixed(Detector):
    """Returns preset scores by input index (x[:, 0] holds the index)."""

    def __init__(self, scores):
        super().__init__(None, progress=False)
        self.values = torch.as_tensor(scores, dtype=torch.float64)

    def _fit(self, loader):
        pass

    def _score(self, x):
        return self.values[x[:, 0].long().cpu()].to(x.device)


def test_the_or_rule_and_thresholds_from_id_data_only(device):
    rng = np.random.default_rng(0)
    a_id, b_id = rng.normal(size=400), rng.normal(size=400)
    a_ood, b_ood = np.r_[np.full(5, 9.0), rng.normal(size=5)], np.r_[rng.normal(size=5), np.full(5, 9.0)]
    parts = [Fixed(np.r_[a_id, a_ood]), Fixed(np.r_[b_id, b_ood])]
    index = torch.arange(410, dtype=torch.float64)[:, None]
    ensemble = OrEnsemble([p.fit([]) for p in parts], acceptance=0.9).fit([index[:400]])  # ID data only
    tau = choose_thresholds(a_id, b_id, 0.9)
    torch.testing.assert_close(ensemble.thresholds, torch.tensor(tau, dtype=torch.float64))
    accepted = (a_id <= tau[0]) & (b_id <= tau[1])
    assert accepted.mean() >= 0.9 and abs((a_id > tau[0]).sum() - ((a_id <= tau[0]) & (b_id > tau[1])).sum()) <= 2
    scores = ensemble.score(index).cpu().numpy()
    says_ood = (np.r_[a_id, a_ood] > tau[0]) | (np.r_[b_id, b_ood] > tau[1])
    assert np.array_equal(scores > 0, says_ood), "score > 0 exactly when either part says OOD"
    assert (scores[400:] > 0).all(), "each OOD sample is caught by one part"
    again = OrEnsemble(parts, acceptance=0.9).load_state_dict(ensemble.state_dict())
    assert np.array_equal(again.score(index).cpu().numpy(), scores)


def test_training_lowers_the_error_and_save_load(tmp_path, device):
    torch.manual_seed(1)
    x, classifier, ae = torch.rand(64, 1, 8, 8), TinyClassifier().eval(), autoencoder()
    before = HSCAE(ae, classifier, progress=False).fit([]).score(x).mean()
    settings = HSCAESettings(width=2, latent=4, depth=1, epochs=3, batch_size=16, train_samples=None, lr=3e-3)
    train_hscae(ae, classifier, x, settings, progress=False)
    detector = HSCAE(ae, classifier, level=2, metric="softmax", progress=False).fit([])
    assert HSCAE(ae, classifier, progress=False).fit([]).score(x).mean() < before
    torch.save(detector.state_dict(), tmp_path / "d.pt")
    again = HSCAE(ae, classifier, level=2, metric="softmax", progress=False)
    again.load_state_dict(torch.load(tmp_path / "d.pt", weights_only=True))
    assert torch.equal(again.score(x), detector.score(x))
    with pytest.raises(ValueError, match="fitted with"):
        HSCAE(ae, classifier, level=3, metric="softmax").load_state_dict(detector.state_dict())
