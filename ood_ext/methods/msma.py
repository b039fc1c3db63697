"""MSMA and RotNCSN (docs/methods.md, "MSMA and RotNCSN"): density models on the multi-scale
score norms of a noise-conditional score network, plain or rotation-trained."""

from dataclasses import replace

from ..detectors import MSMA, RotNCSN
from ..models import NCSN
from ..training import NCSNSettings, dsm_loss_per_level, train_ncsn
from .registry import register
from .spec import Family, Method, ModelKind, PerProfile, TrainJob

# Quick: width 8 on 12,000 images (Adam on one cycle peaking at 6e-3, batch 64), chosen on the test
# DSM loss per level against training seconds (docs/methods.md, "MSMA and RotNCSN"): the plain
# NCSN's loss falls fastest in its first epoch; the RotNCSN, which must also learn to tell
# rotations apart, gets two (the budget's share). The full profile keeps the paper's constant 1e-3.
NCSN_SETTINGS = PerProfile(
    smoke=NCSNSettings(width=4, levels=10, train_samples=300, epochs=1, batch_size=32, lr=6e-3),
    quick=NCSNSettings(width=8, levels=10, train_samples=12000, epochs=1, batch_size=64, lr=6e-3),
    full=NCSNSettings(width=64, levels=10, train_samples=None, epochs=100, batch_size=128, lr=1e-3,
                      schedule="constant"),
)
ROTNCSN_SETTINGS = PerProfile(
    smoke=replace(NCSN_SETTINGS["smoke"], rotation=True),
    quick=replace(NCSN_SETTINGS["quick"], rotation=True, epochs=2),
    full=replace(NCSN_SETTINGS["full"], rotation=True),
)
# Images scored per set (f_rot costs 40 network passes an image, f_msma 10) and fitted on.
IMAGES_PER_SET = PerProfile(smoke=50, quick=200, full=None)
FIT_IMAGES = PerProfile(smoke=100, quick=300, full=None)


def _train(job: TrainJob) -> dict:
    data = job.train_subset(job.settings.train_samples)
    train_ncsn(job.model, job.inputs(data.images), job.settings, job.device, job.checkpoint, job.seed, job.progress)
    x = job.inputs(job.test_subset(500).images).to(job.device)
    per_level = dsm_loss_per_level(job.model, x, job.settings.rotation, job.seed)
    return {"test_dsm_loss": per_level.mean().item(), "test_dsm_loss_per_level": per_level.tolist(),
            "train_samples": len(data), "epochs": job.settings.epochs}


def _ncsn(train, s: NCSNSettings) -> NCSN:
    return NCSN(train.images.shape[1], s.width, s.levels)


SCORE_NETWORK = ModelKind("ncsn", _ncsn, _train, NCSN_SETTINGS)
ROTATION_SCORE_NETWORK = ModelKind("rotncsn", _ncsn, _train, ROTNCSN_SETTINGS)

FAMILY = register(Family("msma", "MSMA and RotNCSN on noise-conditional score networks",
                         (SCORE_NETWORK, ROTATION_SCORE_NETWORK), (
    Method("msma", "MSMA: GMM (components by CV) on ‖σ_i s(x, i)‖", ("ncsn",), lambda c: MSMA(c.model("ncsn")),
           IMAGES_PER_SET, FIT_IMAGES, default=True),
    Method("msma-rec", "MSMA on the denoising residual norms f_rec", ("ncsn",),
           lambda c: MSMA(c.model("ncsn"), features="rec"), IMAGES_PER_SET, FIT_IMAGES),
    Method("msma-knn", "MSMA normality vectors, 5-NN distance", ("ncsn",),
           lambda c: MSMA(c.model("ncsn"), density="knn"), IMAGES_PER_SET, FIT_IMAGES),
    Method("rotncsn", "RotNCSN: GMM on f_rot of a rotation-trained NCSN", ("rotncsn",),
           lambda c: RotNCSN(c.model("rotncsn")), IMAGES_PER_SET, FIT_IMAGES,
           default=True),
)))
