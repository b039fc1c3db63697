"""Method families: a family declared in this file alone (model + trainer + one spec) runs
through `ood-ext benchmark`; the registry's checks; profiles; model interfaces."""

import json
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from ood_ext import methods
from ood_ext.cli import main
from ood_ext.detectors import MSMA, Detector, LikelihoodRegret, Mahalanobis, ReAct
from ood_ext.methods import Family, Method, ModelKind, PerProfile, TrainJob
from ood_ext.models import (
    NCSN,
    Classifier,
    ConvVAE,
    Glow,
    LatentVariableModel,
    LikelihoodModel,
    ResNetClassifier,
    ScoreNetwork,
    require,
)


# ----- a toy family: the model, its trainer, its detector and its spec --------------------------------------------
class MeanImage(nn.Module):
    """Remembers the mean training image; model(x) is the difference to it."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.config = dict(channels=channels, size=size)
        self.mean = nn.Parameter(torch.zeros(channels, size, size), requires_grad=False)

    def forward(self, x):
        return x - self.mean


@dataclass(frozen=True)
class MeanSettings:
    train_samples: int


def train_mean_image(job: TrainJob) -> dict:
    data = job.train_subset(job.settings.train_samples)
    with torch.no_grad():
        job.model.mean.copy_(job.inputs(data.images).mean(0))
    return {"train_samples": len(data)}


class DistanceToMean(Detector):
    """Score: the L2 distance to the mean training image."""

    def _fit(self, loader):
        pass

    def _score(self, x):
        return self.model(x).flatten(1).norm(dim=1)


TOY = Family("toy", "distance to the mean training image", (
    ModelKind("mean-image", build=lambda train, s: MeanImage(train.images.shape[1], train.images.shape[-1]),
              train=train_mean_image, settings=PerProfile(smoke=MeanSettings(100), quick=MeanSettings(1000),
                                                          full=MeanSettings(None))),
), (
    Method("toy-distance", "L2 distance to the mean training image", ("mean-image",),
           lambda ctx: DistanceToMean(ctx.model("mean-image")), images_per_set=PerProfile(smoke=50, quick=100,
                                                                                         full=None)),
))


@pytest.fixture()
def toy():
    methods.register(TOY)
    yield TOY
    methods.unregister("toy")


def test_a_family_from_one_file_runs_through_the_benchmark(toy, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["benchmark", "--id", "digits", "--profile", "smoke", "--methods", "toy-distance,msp", "--ood",
                 "noise,constant", "--heldout-class", "none", "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert list(results["metrics"]) == ["toy-distance", "msp"]
    model = results["models"]["mean-image"]
    assert model["train_samples"] == 100 and model["train_seconds"] >= 0
    info = results["methods"]["toy-distance"]
    assert info["family"] == "toy" and info["detector"] == "DistanceToMean" and info["images_per_set"] == 50
    assert results["metrics"]["toy-distance"]["noise"]["auroc"] > 0.9, "uniform noise is far from the mean digit"
    assert "| toy-distance | toy |" in (out / "report.md").read_text()
    assert main(["list"]) == 0
    assert "family toy: distance to the mean training image (models: mean-image)" in capsys.readouterr().out


def test_registry_rejects_clashes_and_unknown_kinds(toy):
    with pytest.raises(ValueError, match="already registered"):
        methods.register(TOY)
    kind = TOY.kinds[0]
    with pytest.raises(ValueError, match="model kind 'mean-image' is already registered"):
        methods.register(Family("toy2", "", (kind,)))
    with pytest.raises(ValueError, match="method 'msp' is already registered"):
        methods.register(Family("toy3", "", (), (Method("msp", "", ("classifier",), None),)))
    with pytest.raises(ValueError, match="unknown model kinds"):
        methods.register(Family("toy4", "", (), (Method("toy-x", "", ("nope",), None),)))
    assert {"toy2", "toy3", "toy4"}.isdisjoint(methods.families())
    user = Family("toy-user", "", (), (Method("toy-user", "", ("mean-image",), None),))
    methods.register(user)
    with pytest.raises(ValueError, match="use its model kinds"):
        methods.unregister("toy")
    methods.unregister("toy-user")


def test_profiles_map_every_kind_to_its_settings(toy):
    quick = methods.get_profile("quick")
    assert set(quick.models) == set(methods.kinds())
    assert quick.settings("mean-image") == MeanSettings(1000)
    assert methods.get_profile("full").sizes.train_samples is None
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        methods.get_profile("huge")
    with pytest.raises(KeyError, match="unknown profile"):
        PerProfile(1, 2, 3)["huge"]
    assert PerProfile(1, 2, 3).map(lambda v: 10 * v) == PerProfile(10, 20, 30)


def test_default_methods_come_from_the_specs():
    defaults = methods.default_methods()
    assert set(defaults) == {"energy", "mahalanobis", "anodlsgan", "hscae-ensemble-h5", "msma", "rotncsn", "rose",
                             "nll", "vmdls"}
    assert {methods.family_of(m).name for m in defaults} == set(methods.families()), "one of every family"
    assert methods.family_of("rose-glow").name == "rose"


def test_models_have_the_interfaces_their_detectors_need():
    vae, glow = ConvVAE(1, 4, 6), Glow(1, 32, levels=1, steps=1, hidden=4)
    assert isinstance(vae, LatentVariableModel) and isinstance(glow, LikelihoodModel)
    assert not isinstance(glow, LatentVariableModel)
    assert isinstance(ResNetClassifier(1, 3, 4), Classifier) and isinstance(NCSN(1, 4, 3), ScoreNetwork)
    assert [n for n, _ in vae.encoder_parameters()] == [n for n, _ in vae.named_parameters()
                                                        if not n.startswith("decoder.")]


@pytest.mark.parametrize("build,message", [
    (lambda: ReAct(nn.Linear(2, 2)), "ReAct needs a model with the Classifier interface .*Linear lacks features, head"),
    (lambda: Mahalanobis(ConvVAE(1, 4, 6)), "Mahalanobis needs .*Classifier"),
    (lambda: LikelihoodRegret(Glow(1, 32, 1, 1, 4)), "LatentVariableModel .*Glow lacks encode, neg_elbo, "
                                                     "encoder_parameters"),
    (lambda: MSMA(ResNetClassifier(1, 3, 4)), "MSMA needs .*ScoreNetwork .*lacks sigmas, scores_all_levels"),
])
def test_a_model_without_the_interface_is_refused_clearly(build, message):
    with pytest.raises(TypeError, match=message):
        build()


def test_require_accepts_any_model_with_the_members():
    class Duck:
        sigmas = torch.ones(3)

        def scores_all_levels(self, x):
            return x

    require(Duck(), ScoreNetwork, "test")


def test_kinds_a_kind_uses_come_first_and_must_exist(toy):
    assert methods.required_kinds(["anodlsgan", "msp", "ae-reconstruction"]) == ["classifier", "dlsgan", "autoencoder"]
    kind = ModelKind("toy-user-kind", build=None, train=None, settings=PerProfile(1, 2, 3), uses=("nope",))
    with pytest.raises(ValueError, match="uses unknown .*'nope'"):
        methods.register(Family("toy5", "", (kind,)))


def test_the_model_cache_name_changes_with_the_settings_and_the_input_transform():
    from dataclasses import replace
    from functools import partial
    from pathlib import Path

    from ood_ext.data.datasets import digits_split
    from ood_ext.data.images import to_tensor
    from ood_ext.eval.models import cache_path
    from ood_ext.methods import get_profile, kinds

    profile = get_profile("smoke")
    train = digits_split("train").subset(100, 0)
    kind = kinds()["vmdls"]
    name = cache_path(kind, train, profile, Path("."), 0).name
    assert name == cache_path(kind, train, profile, Path("."), 0).name, "stable"
    padded = replace(kind, inputs=partial(to_tensor, pad_to=32))
    assert cache_path(padded, train, profile, Path("."), 0).name != name
    assert cache_path(replace(kind, inputs=partial(to_tensor, pad_to=32)), train, profile, Path("."), 0).name == \
        cache_path(padded, train, profile, Path("."), 0).name, "a partial is described by value, not address"
    wider = replace(profile, models={**profile.models, "vmdls": replace(profile.models["vmdls"], width=8)})
    assert cache_path(kind, train, wider, Path("."), 0).name != name
