"""Detectors on a trained classifier: MSP, ODIN, Energy, ReAct and Mahalanobis
(docs/methods.md, "Classifier baselines").

MSP, ODIN and Energy take any model returning logits. ReAct and Mahalanobis need the
penultimate features: the model must have the Classifier interface (models.interfaces),
``features(x) -> [N, F]`` and ``head(features) -> logits``, as ResNetClassifier does.
All of them classify (predict) with the classifier's argmax.
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import distributed
from ..data.batches import batch_inputs, batch_labels
from ..models.interfaces import Classifier, require
from ..ops import gaussian_log_prob, precision_cholesky
from .base import Detector, expect
from .class_statistics import check_labels, class_scatter


def energy(logits: Tensor, temperature: float) -> Tensor:
    """E(x) = −T logsumexp(f(x) / T): [N], higher = more OOD."""
    return -temperature * torch.logsumexp(logits / temperature, dim=1)


class ClassifierDetector(Detector):
    """A detector on a classifier: predict(x) = argmax_c f(x)_c."""

    predicts = True

    def _predict(self, x: Tensor) -> Tensor:
        return self.model(x).argmax(1)


class MSP(ClassifierDetector):
    """Maximum softmax probability: score = −max_c softmax(f(x))_c."""

    def _fit(self, loader) -> None:
        pass

    def _score(self, x: Tensor) -> Tensor:
        return -torch.softmax(self.model(x), dim=1).max(dim=1).values


class ODIN(ClassifierDetector):
    """ODIN: temperature scaling plus input preprocessing with the pseudo-label's cross-entropy,
    x̃ = x − ε · sign(∇_x CE(f(x)/T, argmax f(x))), score = −max softmax(f(x̃)/T).

    ε is in the model's input units. With `epsilon=None` fit chooses it on in-distribution data
    alone: among Liang et al.'s search grid (21 values from 0 to 0.004), the ε under which the fit
    images' mean max softmax(f(x̃)/T) is largest (Hsu et al.'s ID-only criterion, Generalized
    ODIN §3.2) — no OOD example involved. The temperature stays a parameter: Liang et al.'s
    T = 1000 (default), the HSCAE paper's T = 10. A fixed `epsilon` (Liang et al.: 0.0014) needs
    no fit data.
    """

    needs_input_grad = True
    fitted_attributes = ("step",)
    # Liang et al.'s grid. (Generalized ODIN's wider one, up to 0.2 on inputs in [0, 1], let the
    # criterion pick ε = 0.1 on the quick classifier: every input then looks confident, and ODIN's
    # AUROC on the held-out class fell from 0.77 to 0.44.)
    EPSILONS = tuple(round(0.0002 * i, 4) for i in range(21))

    def __init__(self, model: nn.Module, temperature: float = 1000.0, epsilon: Optional[float] = 0.0014,
                 progress: bool = True):
        super().__init__(model, progress)
        if not temperature > 0:
            raise ValueError(f"ODIN temperature must be positive, got {temperature}")
        if epsilon is not None and not epsilon >= 0:
            raise ValueError(f"ODIN epsilon must be ≥ 0 (or None: chosen at fit), got {epsilon}")
        self.temperature = float(temperature)
        self.epsilon = None if epsilon is None else float(epsilon)

    def config(self) -> dict:
        return {"temperature": self.temperature, "epsilon": self.epsilon}

    def _fit(self, loader) -> None:
        if self.epsilon is not None:
            self.step = torch.tensor(self.epsilon, dtype=torch.float64)
            return
        candidates = torch.tensor(self.EPSILONS, dtype=torch.float64)
        totals, count = torch.zeros(len(candidates), dtype=torch.float64), 0
        for batch in loader:
            x = batch_inputs(batch).to(self.device, self.dtype)
            with torch.enable_grad():
                direction = self._direction(x)
            with torch.no_grad():
                for i, eps in enumerate(self.EPSILONS):
                    totals[i] += self._confidence(x - eps * direction).double().sum().cpu()
            count += len(x)
        (totals,) = distributed.all_reduce_sum(totals)
        if distributed.total_count(count) == 0:
            raise ValueError("ODIN.fit: choosing epsilon needs in-distribution images; the loader yielded none")
        self.step = candidates[int(totals.argmax())]

    def _direction(self, x: Tensor) -> Tensor:
        """sign(∇_x CE(f(x)/T, argmax f(x))) for inputs x [B, ...]."""
        x = x.detach().requires_grad_(True)
        logits = self.model(x) / self.temperature
        (grad,) = torch.autograd.grad(F.cross_entropy(logits, logits.argmax(1), reduction="sum"), x)
        return grad.sign()

    def _confidence(self, x: Tensor) -> Tensor:
        """max softmax(f(x)/T): [B]."""
        return torch.softmax(self.model(x) / self.temperature, dim=1).max(dim=1).values

    def _check_state(self, state: dict) -> None:
        expect("ODIN", "step", state["step"], ())
        if not float(state["step"]) >= 0:
            raise ValueError(f"ODIN state: epsilon must be ≥ 0, got {float(state['step'])}")

    def _score(self, x: Tensor) -> Tensor:
        direction = self._direction(x)
        with torch.no_grad():
            return -self._confidence(x - float(self.step) * direction)


class Energy(ClassifierDetector):
    """Energy score −T logsumexp(f(x)/T) (Liu et al.)."""

    def __init__(self, model: nn.Module, temperature: float = 1.0, progress: bool = True):
        super().__init__(model, progress)
        self.temperature = float(temperature)

    def config(self) -> dict:
        return {"temperature": self.temperature}

    def _fit(self, loader) -> None:
        pass

    def _score(self, x: Tensor) -> Tensor:
        return energy(self.model(x), self.temperature)


class ReAct(ClassifierDetector):
    """ReAct: clip the penultimate activations at c, the `percentile`-th percentile of the ID
    activations (over samples and units), then the energy score with temperature T."""

    fitted_attributes = ("clip",)

    def __init__(self, model: nn.Module, percentile: float = 0.9, temperature: float = 1.0, progress: bool = True):
        require(model, Classifier, "ReAct")
        super().__init__(model, progress)
        if not 0.0 < percentile <= 1.0:
            raise ValueError(f"percentile must be in (0, 1], got {percentile}")
        self.percentile, self.temperature = float(percentile), float(temperature)

    def config(self) -> dict:
        return {"percentile": self.percentile, "temperature": self.temperature}

    @torch.no_grad()
    def _fit(self, loader) -> None:
        activations = distributed.gather(self._concat([self.model.features(batch_inputs(b).to(self.device)).cpu()
                                                       for b in loader]))
        self.clip = torch.quantile(activations.flatten().double(), self.percentile).to(self.device)

    def _check_state(self, state: dict) -> None:
        expect("ReAct", "clip", state["clip"], ())

    def _score(self, x: Tensor) -> Tensor:
        features = self.model.features(x).clamp(max=self.clip.to(x.dtype))
        return energy(self.model.head(features), self.temperature)


class Mahalanobis(ClassifierDetector):
    """Mahalanobis distance on the penultimate features (Lee et al.): class means and a tied
    covariance fitted on labelled ID data; score = min_c ½ (f − μ_c)ᵀ Σ⁻¹ (f − μ_c), computed
    with the fused Gaussian op. With epsilon > 0 the input is first moved by
    −ε · sign(∇_x score) (towards the nearest class), through the op's gradient.

    The classes are those present in the fit labels (`classes`, a subset of the model's); the
    covariance is fitted in float64; `ridge` (relative to the mean variance) is added to its
    diagonal so that it is positive definite. The fitted statistics are kept in the model's
    dtype (cast to the features' dtype if the model moves to another)."""

    fitted_attributes = ("classes", "means", "prec_chol", "offset")

    def __init__(self, model: nn.Module, epsilon: float = 0.0, ridge: float = 1e-6, progress: bool = True):
        require(model, Classifier, "Mahalanobis")
        super().__init__(model, progress)
        self.epsilon, self.ridge = float(epsilon), float(ridge)
        self.needs_input_grad = self.epsilon > 0

    def config(self) -> dict:
        return {"epsilon": self.epsilon, "ridge": self.ridge}

    def _model_classes(self, features: Tensor) -> int:
        """The number of classes of the model's head, from features [N, F] (N ≥ 1)."""
        with torch.no_grad():
            return self.model.head(features[:1].to(self.device, self.dtype)).shape[-1]

    @torch.no_grad()
    def _fit(self, loader) -> None:
        features, labels = [], []
        for batch in loader:
            y = batch_labels(batch)
            if y is None:
                raise ValueError("Mahalanobis.fit needs labelled batches (x, y)")
            features.append(self.model.features(batch_inputs(batch).to(self.device)).double().cpu())
            labels.append(y.cpu())
        features, labels = self._concat(features), torch.cat(labels)
        classes, means, covariance = class_means_and_tied_covariance(features, labels)
        model_classes = self._model_classes(features)
        if int(classes.max()) >= model_classes:
            raise ValueError(f"Mahalanobis.fit: labels go up to {int(classes.max())}, but the model has "
                             f"{model_classes} classes")
        variance = covariance.diagonal().mean()
        if not variance > 0:
            raise ValueError(f"Mahalanobis.fit: the within-class covariance of the features is zero ({len(features)} "
                             f"samples in {len(means)} classes); fit on more samples per class")
        covariance += self.ridge * variance * torch.eye(len(covariance), dtype=covariance.dtype)
        try:
            chol = precision_cholesky(covariance)
        except ValueError as exc:
            raise ValueError(f"Mahalanobis.fit: the tied covariance of {covariance.shape[0]} features from "
                             f"{len(features)} samples is singular with ridge={self.ridge}; fit on more samples or "
                             "raise `ridge`") from exc
        self.classes = classes.to(self.device)
        self.means = means.to(self.device, self.dtype)
        self.prec_chol = chol.expand(len(means), -1, -1).contiguous().to(self.device, self.dtype)
        # log N(f; μ_c, Σ) = offset − ½ (f − μ_c)ᵀ Σ⁻¹ (f − μ_c), offset = log|U| − ½ D log 2π.
        self.offset = float(torch.log(chol.diagonal()).sum() - 0.5 * len(covariance) * math.log(2 * math.pi))

    def _check_state(self, state: dict) -> None:
        means = expect("Mahalanobis", "means", state["means"], (None, None))
        count, features = means.shape
        expect("Mahalanobis", "prec_chol", state["prec_chol"], (count, features, features))
        if not isinstance(state["offset"], float):
            raise ValueError(f"Mahalanobis state: offset must be a float, got {type(state['offset']).__name__}")
        try:  # the model's head must take these features
            model_classes = self._model_classes(means)
        except RuntimeError as exc:
            raise ValueError(f"Mahalanobis state: {features} features do not fit the model's head ({exc})") from exc
        classes = state["classes"]
        if (not torch.is_tensor(classes) or classes.dtype != torch.int64 or classes.shape != (count,)
                or len(torch.unique(classes)) != count
                or (count and (classes.min() < 0 or classes.max() >= model_classes))):
            raise ValueError(f"Mahalanobis state: classes must be {count} distinct int64 class indices of the model's "
                             f"{model_classes}, got {classes if torch.is_tensor(classes) else type(classes).__name__}")

    def _distance(self, x: Tensor) -> Tensor:
        features = self.model.features(x)
        means, prec_chol = self.means.to(features.dtype), self.prec_chol.to(features.dtype)
        return self.offset - gaussian_log_prob(features, means, prec_chol, reduce="max").values

    def _score(self, x: Tensor) -> Tensor:
        if self.epsilon == 0:
            return self._distance(x)
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(self._distance(x).sum(), x)
        with torch.no_grad():
            return self._distance(x - self.epsilon * grad.sign())


def class_means_and_tied_covariance(features: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(classes [K] int64, means [K, F], covariance [F, F]) of features [N, F] with labels [N]:
    the class indices present in the labels (over every rank's shard in a distributed run), their
    means and the pooled within-class covariance (maximum likelihood, symmetrised, float64)."""
    count = check_labels(features, labels)
    counts, means, scatter = class_scatter(features, labels, count, tied=True)
    present = torch.nonzero(counts > 0).flatten()
    return present, means[present], scatter / counts.sum()
