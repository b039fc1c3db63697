"""Policies every detector shares: NaN / inf inputs refused in fit and score, empty batches,
empty loaders, degenerate fits, and loaded states validated against the detector."""

import math

import pytest
import torch
from torch import nn

from ood_ext.detectors import MSMA, MSP, NLL, ODIN, ROSE, Energy, Mahalanobis, ReAct
from ood_ext.detectors.classifier import class_means_and_tied_covariance
from ood_ext.models import NCSN, ConvVAE


class TinyClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.fc = nn.Linear(6, 5), nn.Linear(5, 3)

    def features(self, x):
        return torch.relu(self.body(x.flatten(1)))

    def head(self, f):
        return self.fc(f)

    def forward(self, x):
        return self.head(self.features(x))


def vae_loss(model, x):
    return model.neg_elbo(x, sample=False)


def labelled(n=60):
    x = torch.randn(n, 6)
    return x, torch.arange(n) % 3


DETECTORS = {
    "msp": (lambda: MSP(TinyClassifier(), progress=False), "classifier"),
    "odin": (lambda: ODIN(TinyClassifier(), progress=False), "classifier"),
    "energy": (lambda: Energy(TinyClassifier(), progress=False), "classifier"),
    "react": (lambda: ReAct(TinyClassifier(), progress=False), "classifier"),
    "mahalanobis": (lambda: Mahalanobis(TinyClassifier(), progress=False), "classifier"),
    "rose": (lambda: ROSE(ConvVAE(1, 2, 3), vae_loss, fisher_samples=20, norm_samples=10, progress=False), "image"),
    "rose-diag": (lambda: ROSE(ConvVAE(1, 2, 3), vae_loss, fisher="diag", fisher_samples=20, norm_samples=10,
                               progress=False), "image"),
    "nll": (lambda: NLL(ConvVAE(1, 2, 3), samples=2, progress=False), "image"),
    "msma": (lambda: MSMA(NCSN(1, 4, 3), components=(2,), folds=2, progress=False), "small-image"),
    "msma-knn": (lambda: MSMA(NCSN(1, 4, 3), density="knn", progress=False), "small-image"),
}
NEEDS_DATA = ["react", "mahalanobis", "rose", "rose-diag", "msma", "msma-knn"]


def inputs(kind, n):
    shape = {"classifier": (6,), "image": (1, 32, 32), "small-image": (1, 8, 8)}[kind]
    return torch.rand(n, *shape)


def fresh(name, device):
    """The unfitted detector on the same freshly initialised model every time."""
    torch.manual_seed(0)
    return DETECTORS[name][0]().to(device)


def fitted(name, device):
    kind = DETECTORS[name][1]
    detector = fresh(name, device)
    x = inputs(kind, 40)
    return detector.fit([(x, torch.arange(40) % 3)]), kind


@pytest.mark.parametrize("name", DETECTORS)
def test_nan_and_inf_inputs_are_refused_in_score_and_fit(name, device):
    detector, kind = fitted(name, device)
    x = inputs(kind, 5)
    x[2].view(-1)[0] = math.nan
    x[4].view(-1)[-1] = math.inf
    with pytest.raises(ValueError, match=r"score: 2 of 5 inputs contain NaN or infinite values"):
        detector.score(x)
    if name in NEEDS_DATA:  # the others read no fit data
        with pytest.raises(ValueError, match=r"fit: 2 of 5 inputs contain NaN or infinite"):
            fresh(name, device).fit([(x, torch.arange(5) % 3)])


@pytest.mark.parametrize("name", DETECTORS)
def test_an_empty_batch_scores_to_an_empty_tensor(name, device):
    detector, kind = fitted(name, device)
    out = detector.score(inputs(kind, 0))
    assert out.shape == (0,) and out.device.type == device.type
    assert detector.score_loader([]).shape == (0,)


@pytest.mark.parametrize("name", NEEDS_DATA)
def test_fitting_on_an_empty_loader_says_so(name, device):
    with pytest.raises(ValueError, match="yielded no samples"):
        fresh(name, device).fit([])


def test_mahalanobis_on_too_few_samples_gives_advice_that_helps(device):
    x, y = labelled(3)
    with pytest.raises(ValueError, match="within-class covariance of the features is zero .*more samples per class"):
        Mahalanobis(TinyClassifier(), progress=False).fit([(x, y)])


@pytest.mark.parametrize("labels,message", [
    (torch.tensor([0, 1, -1, 2]), "class indices 0..C−1, got -1"),
    (torch.tensor([0.0, 1.0, 1.0, 2.0]), "integer class indices"),
    (torch.tensor([0, 1]), "2 labels for 4 feature vectors"),
])
def test_bad_labels_are_refused(labels, message):
    with pytest.raises(ValueError, match=message):
        class_means_and_tied_covariance(torch.randn(4, 3, dtype=torch.float64), labels)


def test_rose_refuses_a_model_whose_loss_is_not_finite(device):
    vae = ConvVAE(1, 2, 3)
    with torch.no_grad():
        vae.mean_head.weight.fill_(math.nan)
    with pytest.raises(ValueError, match="per-sample loss is NaN or infinite for 40 of 40 fit inputs"):
        ROSE(vae, vae_loss, fisher_samples=40, norm_samples=10, progress=False).fit([inputs("image", 50)])


def _shared_nest(depth, width=2):
    """A list that holds the same list `width` times at every level: width**depth paths."""
    nest = []
    for _ in range(depth):
        nest = [nest] * width
    return nest


def tampered(name, device, change):
    detector, _ = fitted(name, device)
    saved = detector.state_dict()
    change(saved)
    return fresh(name, device), saved


@pytest.mark.parametrize("name,change,message", [
    ("rose", lambda s: s["state"]["curvatures"].pop(), "5 curvatures for 6 layers"),
    ("rose", lambda s: s["state"]["curvatures"][1].update(eigenvalues=torch.ones(3, 3)),
     r"curvatures\[1\] \(Conv2d\) eigenvalues has shape \[3, 3\], expected \[4, 32\]"),
    ("rose", lambda s: s["state"]["curvatures"][0].update(kind="diag"), "is 'diag', this detector fits 'ekfac'"),
    ("rose", lambda s: s["state"]["means"].fill_(math.nan), "means contains NaN"),
    ("rose", lambda s: s.pop("config"), "not a detector state: expected a dict with type, config and state"),
    ("rose", lambda s: s.pop("state"), "not a detector state"),
    ("rose-diag", lambda s: s["state"]["curvatures"][0].update(basis_a=torch.eye(16)), "diagonal but carries bases"),
    ("mahalanobis", lambda s: s["state"].update(means=torch.zeros(3, 4)), r"prec_chol has shape \[3, 5, 5\], "
                                                                           r"expected \[3, 4, 4\]"),
    ("mahalanobis", lambda s: s["state"].update(means=torch.zeros(3, 4), prec_chol=torch.eye(4).repeat(3, 1, 1)),
     "4 features do not fit the model's head"),
    ("mahalanobis", lambda s: s["state"].update(classes=torch.tensor([0, 1, 3])),
     "classes must be 3 distinct int64 class indices of the model's 3"),
    ("mahalanobis", lambda s: s["state"].update(classes=torch.tensor([0, 1, 1])), "distinct"),
    ("mahalanobis", lambda s: s["state"].update(offset="big"), "offset must be a float"),
    ("mahalanobis", lambda s: s["state"].update(offset=math.nan), "offset is nan, not a finite number"),
    ("mahalanobis", lambda s: s["state"].update(offset=-math.inf), "offset is -inf"),
    ("mahalanobis", lambda s: s["state"].update(means=s["state"]["means"].half()), "float16 tensor; fitted states"),
    ("react", lambda s: s["state"].update(clip=torch.tensor(math.inf)), "clip contains NaN or infinite"),
    ("rose", lambda s: s.update(input_shape=[1, 0, 32]), "input_shape must be a list of positive ints"),
    ("rose", lambda s: s.update(config=_shared_nest(40)), "nested more than"),
    ("rose", lambda s: s.update(config=_shared_nest(10, width=8)), "more than 200000 entries"),
    ("react", lambda s: s["state"].update(clip=torch.ones(3)), r"clip has shape \[3\], expected \[\]"),
    ("react", lambda s: s["state"].update(clip=torch.tensor(2)), "must be a floating-point tensor"),
    ("react", lambda s: s["state"].update(extra=torch.ones(1)), r"state holds \['clip', 'extra'\]"),
    ("msma", lambda s: s["state"].update(mean=torch.zeros(5)), r"mean has shape \[5\], expected \[3\]"),
    ("msma", lambda s: s["state"].update(train_vectors=torch.zeros(9, 3)), "must be None for density='gmm'"),
    ("msma-knn", lambda s: s["state"].update(train_vectors=torch.zeros(4, 3)), "needs more than 5 training vectors"),
])
def test_a_tampered_state_is_refused_with_one_clear_error(name, change, message, device):
    detector, saved = tampered(name, device, change)
    with pytest.raises(ValueError, match=message):
        detector.load_state_dict(saved)


@pytest.mark.parametrize("name", DETECTORS)
def test_an_untampered_state_round_trips(name, device):
    detector, kind = fitted(name, device)
    again = fresh(name, device).load_state_dict(detector.state_dict())
    x = inputs(kind, 4)
    torch.manual_seed(1)
    first = detector.score(x)
    torch.manual_seed(1)
    assert torch.equal(again.score(x), first)


# ----- what fit accepts round-trips; composite detectors move and restore all their models -------

@pytest.mark.parametrize("labels", [torch.arange(60) % 2, torch.zeros(60, dtype=torch.int64), 1 + torch.arange(60) % 2])
def test_mahalanobis_fitted_on_some_of_the_classes_round_trips(labels, device):
    x = torch.randn(60, 6)
    detector = Mahalanobis(TinyClassifier(), progress=False).to(device).fit([(x, labels)])
    assert detector.classes.tolist() == sorted(set(labels.tolist()))
    again = Mahalanobis(detector.model, progress=False).load_state_dict(detector.state_dict())
    assert torch.equal(again.score(x[:5]), detector.score(x[:5]))


def test_mahalanobis_refuses_labels_beyond_the_models_classes(device):
    with pytest.raises(ValueError, match="labels go up to 3, but the model has 3 classes"):
        Mahalanobis(TinyClassifier(), progress=False).to(device).fit([(torch.randn(60, 6), torch.arange(60) % 4)])


def _composites():
    from ood_ext.detectors import HSCAE, LikelihoodRatio, OrEnsemble
    from ood_ext.models import SelfConditionedAutoencoder

    class ImageClassifier(TinyClassifier):
        def features(self, x):
            return torch.relu(self.body(nn.functional.adaptive_avg_pool2d(x, (2, 3)).flatten(1)))

    torch.manual_seed(0)
    classifier = ImageClassifier()
    hscae = HSCAE(SelfConditionedAutoencoder(1, 8, classes=3, width=2, latent=4, depth=1), classifier, 2,
                  progress=False)
    ensemble = OrEnsemble([ODIN(classifier, 10.0), HSCAE(hscae.model, classifier, 1, progress=False)], progress=False)
    for part in ensemble.parts:
        part.fit([])
    ratio = LikelihoodRatio(ConvVAE(1, 2, 3), ConvVAE(1, 2, 3), samples=2, progress=False)
    x8 = torch.rand(40, 1, 8, 8)
    return {"hscae": (hscae.fit([]), x8), "ensemble": (ensemble.fit([x8]), x8),
            "lratio": (ratio.fit([]), torch.rand(4, 1, 32, 32))}


@pytest.mark.parametrize("name", ["hscae", "ensemble", "lratio"])
def test_composite_detectors_move_every_model_and_restore_every_mode(name, device):
    detector, x = _composites()[name]
    detector.to(device).to(torch.float64)
    models = detector._models()
    assert len(models) >= 2
    assert all(p.dtype == torch.float64 and p.device.type == torch.device(device).type
               for m in models for p in m.parameters())
    for model in models:
        model.train()
    scores = detector.score(x.to(device, torch.float64))
    assert scores.dtype == torch.float64 and torch.isfinite(scores).all()
    assert all(m.training for m in models), "each model's own mode restored"
    for model in models:
        model.eval()
    detector.score(x.to(device, torch.float64))
    assert not any(m.training for m in models)


@pytest.mark.parametrize("name", ["mahalanobis", "msma", "rose"])
def test_inputs_of_another_shape_than_the_fit_data_are_refused(name, device):
    detector, kind = fitted(name, device)
    x = inputs(kind, 3)
    wrong = x[..., :-1] if x.dim() > 2 else x[:, :-1]
    with pytest.raises(ValueError, match=r"inputs of shape \[.*\], but the detector was fitted on inputs of shape"):
        detector.score(wrong)
    again = fresh(name, device).load_state_dict(detector.state_dict())
    with pytest.raises(ValueError, match="but the detector was fitted on"):
        again.score(wrong)


@pytest.mark.parametrize("name", ["mahalanobis", "energy", "msma"])
def test_a_batch_in_another_dtype_is_converted(name, device):
    detector, kind = fitted(name, device)
    x = inputs(kind, 4)
    torch.manual_seed(1)
    want = detector.score(x)
    torch.manual_seed(1)
    got = detector.score(x.double())
    assert got.dtype == torch.float64
    torch.testing.assert_close(got.float(), want)


def test_huge_finite_inputs_are_refused_not_scored_inf(device):
    from ood_ext.detectors import LatentLikelihood, ReconstructionError
    from ood_ext.models import DLSGAN, Autoencoder

    torch.manual_seed(0)
    x = torch.rand(4, 1, 32, 32)
    x[1] = 1e30
    for detector in (LatentLikelihood(DLSGAN(1, width=2, latent=6), progress=False),
                     ReconstructionError(Autoencoder(1, 2, 6), progress=False)):
        detector.to(device).fit([])
        assert torch.isfinite(detector.score(x[[0, 2, 3]])).all()
        with pytest.raises(ValueError, match=r"1 of 4 inputs give a NaN or infinite score \(largest input magnitude "
                                             r"1e\+30"):
            detector.score(x)
