"""Classifier baselines (docs/methods.md, "Classifier baselines"): MSP, ODIN, Energy, ReAct and
Mahalanobis on a ResNet trained on the ID classes."""

import torch

from ..data.augment import Augmentation
from ..detectors import MSP, ODIN, Energy, Mahalanobis, ReAct
from ..models import ResNetClassifier
from ..training import ClassifierSettings, accuracy, train_classifier
from .registry import register
from .spec import Family, Method, ModelKind, PerProfile, TrainJob


def _train(job: TrainJob) -> dict:
    labels = torch.as_tensor(job.train.labels)
    train_classifier(job.model, job.inputs(job.train.images), labels, job.settings, job.device, job.checkpoint,
                     job.seed, job.progress)
    return {"test_accuracy": accuracy(job.model, job.inputs(job.test.images), torch.as_tensor(job.test.labels)),
            "train_samples": len(job.train), "epochs": job.settings.epochs}


CLASSIFIER = ModelKind(
    "classifier",
    build=lambda train, s: ResNetClassifier(train.images.shape[1], len(train.classes), s.width, s.blocks),
    train=_train,
    settings=PerProfile(
        smoke=ClassifierSettings(width=8, blocks=1, epochs=1, batch_size=64, lr=3e-3, weight_decay=5e-4),
        # Quick: 8 epochs of one cycle peaking at 4e-3, no augmentation — at this budget the paper's crop
        # and rotation cost accuracy (ID test accuracy, all 9,000 test images, after 8 epochs on 12k on
        # the 2-core CPU: 91.4 / 91.3 % for seeds 0 / 1; a cosine from 2e-3 90.7 / 90.5 %, with crop +
        # rotation 88.7 %, crop + flip 89.0 %; docs/methods.md). Full: the paper's augmentation, longer.
        quick=ClassifierSettings(width=16, blocks=1, epochs=8, batch_size=128, lr=4e-3, weight_decay=5e-4),
        full=ClassifierSettings(width=64, blocks=2, epochs=30, batch_size=128, lr=1e-3, weight_decay=5e-4,
                                augment=Augmentation(shift=2, degrees=10.0))),
)


# ODIN's ε is chosen on this many held-out ID images (a gradient and 21 forward passes each).
ODIN_FIT_IMAGES = PerProfile(smoke=200, quick=1000, full=5000)


def _classifier(ctx):
    return ctx.model("classifier")


FAMILY = register(Family("classifier", "baselines on a supervised ResNet classifier", (CLASSIFIER,), (
    Method("msp", "maximum softmax probability", ("classifier",), lambda c: MSP(_classifier(c))),
    Method("odin", "ODIN: temperature scaling (T = 1000) and input preprocessing, ε chosen on ID data",
           ("classifier",), lambda c: ODIN(_classifier(c), epsilon=None), fit_images=ODIN_FIT_IMAGES,
           fit_unseen=True),
    Method("odin-t10", "ODIN with T = 10 (the HSCAE paper's), ε chosen on ID data", ("classifier",),
           lambda c: ODIN(_classifier(c), temperature=10.0, epsilon=None), fit_images=ODIN_FIT_IMAGES,
           fit_unseen=True),
    Method("odin-t10-e0", "temperature scaling alone (T = 10, no input perturbation)", ("classifier",),
           lambda c: ODIN(_classifier(c), temperature=10.0, epsilon=0.0)),
    Method("energy", "energy score", ("classifier",), lambda c: Energy(_classifier(c)), default=True),
    Method("react", "ReAct: clipped penultimate activations, then the energy score", ("classifier",),
           lambda c: ReAct(_classifier(c))),
    Method("mahalanobis", "Mahalanobis distance, tied covariance, penultimate features", ("classifier",),
           lambda c: Mahalanobis(_classifier(c)), default=True),
    Method("mahalanobis-pre", "Mahalanobis with input preprocessing", ("classifier",),
           lambda c: Mahalanobis(_classifier(c), epsilon=0.001)),
    # The AnoDLSGAN paper's classifier columns: temperature t ∈ {1, 10} × ReAct percentile p ∈ {0.5, 0.9, 1}.
    Method("energy-t10", "energy score, T = 10", ("classifier",), lambda c: Energy(_classifier(c), 10.0)),
    Method("react-t10", "ReAct (p = 0.9) + energy, T = 10", ("classifier",),
           lambda c: ReAct(_classifier(c), temperature=10.0)),
    Method("react-p50", "ReAct (p = 0.5) + energy", ("classifier",), lambda c: ReAct(_classifier(c), 0.5)),
    Method("react-p50-t10", "ReAct (p = 0.5) + energy, T = 10", ("classifier",),
           lambda c: ReAct(_classifier(c), 0.5, 10.0)),
)))
