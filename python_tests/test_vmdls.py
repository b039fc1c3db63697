"""VMDLS: the losses against brute force and torch.distributions, the training schedule (margin
ramp, KL start), the class-balanced sampler, the jitter rule and OAS shrinkage, per-class
Gaussians against numpy / scipy / scikit-learn, the detectors' formulas, open-set recognition,
exact resume, save / load."""

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.covariance import OAS
from torch import nn

from ood_ext.data import ood_sets
from ood_ext.data.images import ImageSet, loader
from ood_ext.data.sampler import class_balanced_indices
from ood_ext.detectors import MSP, VMDLS, NotFittedError, VMDLSBasic
from ood_ext.detectors.vmdls import class_gaussians, jitter_steps, oas_shrinkage
from ood_ext.models import VMDLSNet
from ood_ext.ops import gaussian_log_prob, precision_cholesky
from ood_ext.training import VMDLSSettings, train_vmdls
from ood_ext.training.checkpoint import load
from ood_ext.training.vmdls import class_kl, distancing_loss, margin_at, triplet_loss

SETTINGS = VMDLSSettings(backbone="resnet", width=2, latent=4, epochs=3, per_class=4, train_samples=None, lr=1e-2)


def net(backbone="resnet", classes=3):
    torch.manual_seed(0)
    return VMDLSNet(1, classes, backbone, width=2, latent=4)


def labelled(n=96, classes=3, seed=0):
    """Images whose brightness depends on the class, and their labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = 0.2 * torch.rand(n, 1, 16, 16, generator=g) + 0.3 * y[:, None, None, None].float()
    return x, y


# ----- losses --------------------------------------------------------------------------------------------------
def brute_force(f, y, term):
    values = [term(a, p, n) for a, p, n in itertools.product(range(len(y)), repeat=3)
              if y[a] == y[p] and a != p and y[a] != y[n]]
    return sum(values) / len(values)


def test_triplet_and_distancing_losses_equal_loops_over_all_triplets():
    torch.manual_seed(1)
    f, y = torch.randn(9, 3, dtype=torch.float64), torch.tensor([0, 0, 1, 1, 1, 2, 2, 0, 2])

    def d(i, j):
        return float((f[i] - f[j]).pow(2).sum())

    want_t = brute_force(f, y, lambda a, p, n: max(0.0, 0.7 + d(a, p) - d(a, n)))
    want_d = brute_force(f, y, lambda a, p, n: max(0.0, 4.0 - d(a, n)))
    assert float(triplet_loss(f, y, 0.7)) == pytest.approx(want_t, rel=1e-12)
    assert float(distancing_loss(f, y, 4.0)) == pytest.approx(want_d, rel=1e-12)
    assert 0 < want_d and 0 < want_t, "both hinges active somewhere"


def test_losses_without_triplets_are_zero_with_a_gradient():
    f = torch.randn(3, 2, requires_grad=True)
    for loss in (triplet_loss(f, torch.tensor([0, 1, 2])), distancing_loss(f, torch.tensor([1, 1, 1]), 1.0)):
        assert float(loss.detach()) == 0
        loss.backward()


def test_class_kl_equals_torch_distributions():
    torch.manual_seed(2)
    mu, log_sigma, m = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64), \
        torch.randn(5, 4, dtype=torch.float64)
    q = torch.distributions.Normal(mu, log_sigma.exp())
    p = torch.distributions.Normal(m, torch.full_like(m, 0.01).sqrt())
    want = torch.distributions.kl_divergence(q, p).mean()  # per element, as the authors' code
    torch.testing.assert_close(class_kl(mu, log_sigma, m, 0.01), want)


def test_distancing_margin_ramps_from_its_start_to_the_latent_size():
    s = VMDLSSettings(backbone="resnet", width=2, latent=32, epochs=9, per_class=4, train_samples=None)
    assert margin_at(s, 0.0) == pytest.approx(0.15)
    assert margin_at(s, 1 / 6) == pytest.approx(0.15 + (32 - 0.15) / 2)
    assert margin_at(s, 1 / 3) == margin_at(s, 0.9) == pytest.approx(32.0)
    fixed = VMDLSSettings(**{**s.__dict__, "distance_margin": 5.0, "margin_ramp": 0.0})
    assert margin_at(fixed, 0.0) == 5.0


def test_the_kl_term_starts_at_kl_start_and_batches_cover_every_class(tmp_path, monkeypatch):
    x, y = labelled(96)
    seen = []
    from ood_ext.training import vmdls as training

    real = training.class_balanced_batches
    monkeypatch.setattr(training, "class_balanced_batches",
                        lambda *a: seen.append(a[2]) or real(*a))
    settings = VMDLSSettings(**{**SETTINGS.__dict__, "epochs": 4, "kl_start": 0.5})
    train_vmdls(net(), x, y.numpy(), settings, checkpoint=tmp_path / "c.pt", progress=False)
    history = load(tmp_path / "c.pt")["history"]
    assert ["kl" in epoch for epoch in history] == [False, False, True, True]
    assert seen == [3] * 4  # every batch holds all 3 classes
    early = VMDLSSettings(**{**settings.__dict__, "kl_start": 0.0})  # never before the second epoch
    train_vmdls(net(), x, y.numpy(), early, checkpoint=tmp_path / "d.pt", progress=False)
    assert ["kl" in epoch for epoch in load(tmp_path / "d.pt")["history"]] == [False, True, True, True]


# ----- sampler -------------------------------------------------------------------------------------------------
def test_class_balanced_batches():
    labels = np.repeat(np.arange(5), [30, 20, 3, 25, 40])
    batches = class_balanced_indices(labels, 3, 4, seed=7)
    assert len(batches) == -(-len(labels) // 12)
    for batch in batches:
        classes, counts = np.unique(labels[batch], return_counts=True)
        assert len(classes) == 3 and (counts == 4).all()
        for c in classes:  # distinct examples unless the class is smaller than per_class
            members = batch[labels[batch] == c]
            assert len(set(members)) == 4 or (c == 2 and len(set(members)) <= 3)
    again = class_balanced_indices(labels, 3, 4, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, class_balanced_indices(labels, 3, 4, seed=8)))
    with pytest.raises(ValueError, match="need ≥ 2 classes"):
        class_balanced_indices(labels, 1, 4, seed=0)
    with pytest.raises(ValueError, match="labels hold 5 classes"):
        class_balanced_indices(labels, 6, 4, seed=0)


# ----- Gaussians -----------------------------------------------------------------------------------------------
def test_jitter_rule_picks_the_smallest_k():
    base = torch.diag(torch.tensor([1.0, 2.0, -3.5e-6], dtype=torch.float64))
    covariances = torch.stack([torch.eye(3, dtype=torch.float64), base])
    assert jitter_steps(covariances) == 4  # −3.5e-6 + 4e-6 > 0, + 3e-6 is not
    assert jitter_steps(torch.eye(3, dtype=torch.float64)[None]) == 0
    rank_one = torch.ones(2, 2, dtype=torch.float64)[None]  # eigenvalue 0: k = 1 is enough
    assert jitter_steps(rank_one, 1e-3) in (0, 1)
    with pytest.raises(ValueError, match="not positive semi-definite"):
        jitter_steps(-torch.eye(2, dtype=torch.float64)[None] * 1e30)


def test_class_gaussians_match_numpy_at_d256_and_scores_match_scipy():
    rng = np.random.default_rng(0)
    d, classes = 256, 3
    features = torch.tensor(rng.normal(size=(1200, d)) @ rng.normal(size=(d, d)) / 16)
    labels = torch.tensor(rng.integers(0, classes, 1200))
    means, covariances, k = class_gaussians(features, labels, classes)
    eye = np.eye(d)
    for c in range(classes):
        x = features[labels == c].numpy()
        np.testing.assert_allclose(means[c].numpy(), x.mean(0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(covariances[c].numpy(), np.cov(x.T, bias=True) + (k + 2) * 1e-6 * eye,
                                   rtol=1e-9, atol=1e-12)
    test = features[:20] + 0.1
    got = gaussian_log_prob(test, means, precision_cholesky(covariances))
    for c in range(classes):
        want = multivariate_normal(means[c].numpy(), covariances[c].numpy()).logpdf(test.numpy())
        np.testing.assert_allclose(got[:, c].numpy(), want, rtol=1e-9)


@pytest.mark.parametrize("n", [30, 400])
def test_oas_shrinkage_matches_scikit_learn(n):
    rng = np.random.default_rng(n)
    d = 40
    features = torch.tensor(rng.normal(size=(2 * n, d)) @ rng.normal(size=(d, d)))
    labels = torch.arange(2 * n) % 2
    means, covariances, k = class_gaussians(features, labels, 2, shrinkage="oas")
    for c in range(2):
        x = features[labels == c].numpy()
        want = OAS(assume_centered=False).fit(x)
        np.testing.assert_allclose(means[c].numpy(), want.location_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(covariances[c].numpy(), want.covariance_ + (k + 2) * 1e-6 * np.eye(d),
                                   rtol=1e-9, atol=1e-9)
        scatter = np.cov(x.T, bias=True)
        shrunk, rho = oas_shrinkage(torch.tensor(scatter)[None], torch.tensor([n]))
        assert float(rho[0]) == pytest.approx(want.shrinkage_, rel=1e-9)
        np.testing.assert_allclose(shrunk[0].numpy(), want.covariance_, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="shrinkage must be"):
        class_gaussians(features, labels, 2, shrinkage="ledoit")


def test_class_gaussians_regularise_rank_deficient_classes_and_refuse_bad_labels():
    features = torch.randn(12, 20, dtype=torch.float64)  # 4 samples per class in 20 dimensions
    means, covariances, k = class_gaussians(features, torch.arange(12) % 3, 3)
    assert torch.isfinite(precision_cholesky(covariances)).all() and k >= 0
    with pytest.raises(ValueError, match=r"classes \[2\] have fewer than 2 samples"):
        class_gaussians(features, torch.tensor([0, 1] * 6), 3)
    with pytest.raises(ValueError, match="class indices in"):
        class_gaussians(features, torch.full((12,), 3), 3)


# ----- model ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backbone", ["resnet", "cnn"])
def test_feature_ensemble_parts(backbone, device):
    model, x = net(backbone).eval(), torch.rand(5, 1, 16, 16)
    parts = model.parts(x)
    assert [p.shape[1] for p in parts.values()] == [2, 4, 8, 16, 4] == list(model.part_dims.values())
    torch.testing.assert_close(model.parts(x, ("t2",))["t2"], parts["t2"])  # the shallow run agrees
    assert model.feature_ensemble(x).shape == (5, 34)
    torch.testing.assert_close(model.feature_ensemble(x, ("g", "mu")), torch.cat([parts["g"], parts["mu"]], 1))
    with pytest.raises(ValueError, match="backbone must be"):
        VMDLSNet(backbone="vgg")


# ----- training ------------------------------------------------------------------------------------------------
def test_training_sets_class_targets_and_separates_classes(device):
    x, y = labelled(192)
    model = train_vmdls(net(), x, y.numpy(), VMDLSSettings(**{**SETTINGS.__dict__, "epochs": 6}), progress=False)
    assert int(model.targets_epoch) == 6 and model.class_targets.abs().sum() > 0
    assert float((model.nearest_target(x) == y).float().mean()) > 0.9


def test_the_reported_accuracy_is_the_gaussian_classifier_vmdls_uses(tmp_path):
    from ood_ext.methods import TrainJob
    from ood_ext.methods.vmdls import _train

    x, y = labelled(192)
    xt, yt = labelled(90, seed=1)
    train = ImageSet("toy", x.numpy(), y.numpy(), ["a", "b", "c"])
    test = ImageSet("toy-test", xt.numpy(), yt.numpy(), ["a", "b", "c"])
    model = net()
    job = TrainJob(model, train, test, SETTINGS, "smoke", torch.from_numpy, torch.device("cpu"),
                   tmp_path / "ckpt.pt", 0, 0, False)
    info = _train(job)
    gaussians = VMDLSBasic(model, progress=False).fit(loader(x, y.numpy(), 256))
    want = float((gaussians.predict(xt) == yt).float().mean())
    assert info["test_accuracy"] == pytest.approx(want) and info["test_accuracy"] > 0.9
    assert info["target_accuracy"] == pytest.approx(float((model.nearest_target(xt) == yt).float().mean()))


def test_training_resumes_exactly(tmp_path, monkeypatch):
    x, y = labelled()
    straight = train_vmdls(net(), x, y.numpy(), SETTINGS, progress=False)
    from ood_ext.training import trainer as trainer_module

    real_run = trainer_module.Trainer.run
    monkeypatch.setattr(trainer_module.Trainer, "run",
                        lambda self, epochs, *a, **k: real_run(self, epochs, *a, stop_after=2, **k))
    train_vmdls(net(), x, y.numpy(), SETTINGS, checkpoint=tmp_path / "c.pt", progress=False)
    monkeypatch.setattr(trainer_module.Trainer, "run", real_run)
    resumed = train_vmdls(net(), x, y.numpy(), SETTINGS, checkpoint=tmp_path / "c.pt", progress=False)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_loss_selection_is_checked():
    x, y = labelled(12)
    with pytest.raises(ValueError, match="losses must be"):
        train_vmdls(net(), x, y.numpy(), VMDLSSettings(**{**SETTINGS.__dict__, "losses": ("centre",)}),
                    progress=False)


# ----- detectors -----------------------------------------------------------------------------------------------
class Blur(nn.Module):
    """A stand-in autoencoder: a 3 × 3 box blur."""

    def reconstruct(self, x):
        return nn.functional.avg_pool2d(x, 3, 1, 1)


def fitted(kind=VMDLSBasic, **kwargs):
    x, y = labelled()
    model = train_vmdls(net(), x, y.numpy(), SETTINGS, progress=False)
    extra = (Blur(),) if kind is VMDLS else ()
    return kind(model, *extra, progress=False, **kwargs).fit(loader(x, y.numpy(), 16)), x, y


def test_vmdls_b_scores_the_best_class_and_predicts_it(device):
    detector, x, y = fitted()
    features = detector.model.feature_ensemble(x).double()
    per_class = gaussian_log_prob(features, detector.means, detector.prec_chol)
    torch.testing.assert_close(detector.score(x), -per_class.max(1).values.to(x.dtype))
    assert torch.equal(detector.predict(x), per_class.argmax(1))
    assert float((detector.predict(x) == y).float().mean()) > 0.9


def test_vmdls_weights_by_the_first_stage_reconstruction_error(device):
    detector, x, y = fitted(VMDLS)
    with torch.no_grad():
        t1, t1_rec = (detector.model.parts(v, ("t1",))["t1"].double() for v in (x, Blur().reconstruct(x)))
        weight = (t1 - t1_rec).pow(2).mean(1)
        best = gaussian_log_prob(detector.model.feature_ensemble(x).double(), detector.means, detector.prec_chol,
                                 reduce="max").values
    assert detector.max_weight == pytest.approx(float(weight.max()))
    assert detector.top_log_likelihood == pytest.approx(float(best.max()) + 1)
    want = (detector.top_log_likelihood - best) * weight / detector.max_weight
    torch.testing.assert_close(detector.score(x), want.to(x.dtype))
    assert (detector.score(x) >= 0).all(), "l − M < 0 on the fit data"


def test_feature_subsets_and_bad_parts():
    detector, x, _ = fitted(parts=("g", "mu"))
    assert detector.means.shape == (3, 20)
    with pytest.raises(ValueError, match="parts must be"):
        VMDLSBasic(net(), parts=("t4",))
    with pytest.raises(ValueError, match="shrinkage must be"):
        VMDLSBasic(net(), shrinkage="lw")
    with pytest.raises(TypeError, match="feature_ensemble"):
        VMDLSBasic(nn.Linear(2, 2))


@pytest.mark.parametrize("kind", [VMDLSBasic, VMDLS])
def test_save_load_round_trip_and_tampering(kind):
    detector, x, _ = fitted(kind)
    state = detector.state_dict()
    extra = (Blur(),) if kind is VMDLS else ()
    loaded = kind(detector.model, *extra, progress=False).load_state_dict(state)
    assert torch.equal(loaded.score(x), detector.score(x)) and torch.equal(loaded.predict(x), detector.predict(x))
    bad = {**state, "state": {**state["state"], "means": state["state"]["means"][:2]}}
    with pytest.raises(ValueError, match="means has shape"):
        kind(detector.model, *extra).load_state_dict(bad)
    bad = {**state, "state": {**state["state"], "jitter_k": -1}}
    with pytest.raises(ValueError, match="jitter_k"):
        kind(detector.model, *extra).load_state_dict(bad)
    with pytest.raises(ValueError, match="fitted with"):
        kind(detector.model, *extra, shrinkage="oas").load_state_dict(state)
    if kind is VMDLS:
        bad = {**state, "state": {**state["state"], "max_weight": float("nan")}}
        with pytest.raises(ValueError, match="max_weight is nan, not a finite number"):
            kind(detector.model, *extra).load_state_dict(bad)


def test_oas_fit_scores_with_the_shrunk_covariances():
    detector, x, y = fitted(shrinkage="oas")
    features = detector.model.feature_ensemble(x).double()
    means, covariances, _ = class_gaussians(features, y, 3, shrinkage="oas")
    want = gaussian_log_prob(features, means, precision_cholesky(covariances)).max(1).values
    torch.testing.assert_close(detector.score(x), -want.to(x.dtype))


def test_vmdls_methods_fit_on_every_training_image():
    from ood_ext.methods import registry

    for name, method in registry.methods().items():
        if registry.family_of(name).name == "vmdls":
            assert all(method.fit_images[p] is None for p in ("smoke", "quick", "full")), name


def test_fit_needs_labels_and_predict_needs_a_classifying_fitted_detector():
    x, y = labelled(12)
    with pytest.raises(ValueError, match="needs labelled batches"):
        VMDLSBasic(net(), progress=False).fit(loader(x, None, 4))
    with pytest.raises(NotFittedError):
        VMDLSBasic(net(), progress=False).predict(x)

    from ood_ext.detectors import ReconstructionError
    with pytest.raises(TypeError, match="does not classify"):
        ReconstructionError(Blur()).fit([]).predict(x)


def test_classifier_detectors_predict_the_argmax():
    model = nn.Sequential(nn.Flatten(), nn.Linear(256, 3)).eval()
    x, _ = labelled(10)
    detector = MSP(model, progress=False).fit([])
    assert torch.equal(detector.predict(x), model(x).argmax(1))
    assert detector.predict(x[:0]).dtype == torch.int64


# ----- open-set split ------------------------------------------------------------------------------------------
def test_held_out_classes_split_for_open_set_recognition():
    rng = np.random.default_rng(0)
    labels = np.arange(100) % 10
    data = ImageSet("toy", rng.random((100, 1, 4, 4), dtype=np.float32), labels, [f"c{i}" for i in range(10)])
    train, test, ood = ood_sets.held_out_classes(data, data, (9, 6, 7, 8))
    assert train.classes == [f"c{i}" for i in range(6)] and set(train.labels) == set(range(6))
    assert len(ood) == 40 and ood.name == "toy-class-c6+c7+c8+c9" and train.name == "toy-without-6+7+8+9"
    with pytest.raises(ValueError, match="fewer than 2 known classes"):
        ood_sets.held_out_classes(data, data, range(9))
