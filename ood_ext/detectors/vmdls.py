"""VMDLS detectors (docs/methods.md, "VMDLS"): one full-covariance Gaussian per class on the
feature ensemble t(x), fitted in float64, and the best class log-likelihood

    l(x) = max_c log N(t(x); μ_c, Σ_c),  predicted class = argmax_c,

through the fused Gaussian op.

* VMDLSBasic (VMDLS_b): score = −l.
* VMDLS: weighted by the reconstruction error of a separate autoencoder in the first stage's
  features, w(x) = mean((t¹(x) − t¹(AE(x)))²) / max over the fit data, and
  score = −(l − M) · w(x), M = max of l over the fit data + 1 (so l − M < 0 on the fit data).

Covariances are regularised by the jitter rule: the smallest k ≥ 0 with every Σ_c + k·δ·I
Cholesky-able, then (k + 2)·δ·I added to all (δ = `jitter`, 1e-6); no LU inverse or solve. With
``shrinkage="oas"`` each class covariance is first shrunk towards its mean variance by the
oracle approximating shrinkage of Chen et al. (2010), which needs only Σ_c and n_c (so it is the
same in a distributed fit): with D features, μ = tr Σ / D, a = ‖Σ‖²_F / D²,
ρ = min(1, (a + μ²) / ((n + 1)(a − μ² / D))), Σ ← (1 − ρ) Σ + ρ μ I.
"""

from typing import Optional

import torch
from torch import Tensor, nn

from .. import distributed
from ..data.batches import batch_inputs, batch_labels
from ..models.interfaces import Reconstructor, require
from ..models.vmdls import PARTS
from ..ops import gaussian_log_prob, precision_cholesky
from .base import Detector, expect
from .class_statistics import check_labels, class_scatter


def _choleskyable(covariances: Tensor, ridge: float) -> bool:
    eye = torch.eye(covariances.shape[-1], dtype=covariances.dtype, device=covariances.device)
    return bool((torch.linalg.cholesky_ex(covariances + ridge * eye).info == 0).all())


def jitter_steps(covariances: Tensor, step: float = 1e-6) -> int:
    """The smallest k ≥ 0 such that every covariances[c] + k·step·I [C, D, D] has a Cholesky
    factor (doubling, then bisection: positive definiteness is monotone in k)."""
    if _choleskyable(covariances, 0.0):
        return 0
    low, high = 0, 1  # low fails, high is tried
    while not _choleskyable(covariances, high * step):
        low, high = high, 2 * high
        if high > 2**60:
            raise ValueError("class covariances are not positive semi-definite (no diagonal jitter makes them "
                             "Cholesky-able)")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if _choleskyable(covariances, mid * step) else (mid, high)
    return high


SHRINKAGE = ("none", "oas")


def oas_shrinkage(covariances: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Maximum-likelihood covariances [C, D, D] estimated from counts [C] samples each, shrunk by
    OAS (the module docstring; sklearn.covariance.OAS's formula): (shrunk [C, D, D], ρ [C] in [0, 1])."""
    dim = covariances.shape[-1]
    mu = torch.diagonal(covariances, dim1=-2, dim2=-1).sum(-1) / dim
    alpha = covariances.pow(2).mean((-2, -1))
    denominator = (counts.to(covariances) + 1) * (alpha - mu.pow(2) / dim)
    rho = torch.where(denominator > 0, ((alpha + mu.pow(2)) / denominator).clamp(max=1.0), torch.ones_like(mu))
    eye = torch.eye(dim, dtype=covariances.dtype, device=covariances.device)
    shrunk = (1 - rho)[:, None, None] * covariances + (rho * mu)[:, None, None] * eye
    return shrunk, rho


def class_gaussians(features: Tensor, labels: Tensor, classes: int, step: float = 1e-6,
                    shrinkage: str = "none") -> tuple[Tensor, Tensor, int]:
    """Per-class means [C, D] and regularised covariances [C, D, D] (maximum likelihood,
    symmetrised, OAS-shrunk when `shrinkage` is "oas", + (k + 2)·step·I with k = jitter_steps), in
    float64, of features [N, D] with labels [N] in 0..C−1 — over every rank's shard in a
    distributed run; returns (means, covariances, k)."""
    if shrinkage not in SHRINKAGE:
        raise ValueError(f"shrinkage must be one of {', '.join(SHRINKAGE)}, got {shrinkage!r}")
    found = check_labels(features, labels)
    if found > classes:
        raise ValueError(f"labels must be class indices in [0, {classes}), got up to {found - 1}")
    counts, means, scatters = class_scatter(features, labels, classes)
    if (counts < 2).any():
        raise ValueError(f"classes {torch.nonzero(counts < 2).flatten().tolist()} have fewer than 2 samples; "
                         "fit on more samples per class")
    covariances = scatters / counts[:, None, None]
    if shrinkage == "oas":
        covariances, _ = oas_shrinkage(covariances, counts)
    k = jitter_steps(covariances, step)
    eye = torch.eye(features.shape[1], dtype=torch.float64)
    return means, covariances + (k + 2) * step * eye, k


class VMDLSBasic(Detector):
    """VMDLS_b: −max_c log N(t(x); μ_c, Σ_c) on a model with ``feature_ensemble(x, parts)`` (a
    VMDLSNet). `parts`: the feature-ensemble parts used (the seed's feature ablation);
    `shrinkage`: "none" (the paper's jitter rule alone) or "oas" (module docstring)."""

    fitted_attributes = ("means", "prec_chol", "jitter_k")
    predicts = True

    def __init__(self, model: nn.Module, parts: tuple[str, ...] = PARTS, jitter: float = 1e-6, shrinkage: str = "none",
                 progress: bool = True):
        if not hasattr(model, "feature_ensemble"):
            raise TypeError(f"{type(self).__name__} needs a model with feature_ensemble(x, parts) (a VMDLSNet), got "
                            f"{type(model).__name__}")
        bad = [p for p in parts if p not in PARTS]
        if bad or not parts:
            raise ValueError(f"parts must be a non-empty selection of {PARTS}, got {parts}")
        if shrinkage not in SHRINKAGE:
            raise ValueError(f"shrinkage must be one of {', '.join(SHRINKAGE)}, got {shrinkage!r}")
        super().__init__(model, progress)
        self.parts, self.jitter, self.shrinkage = tuple(parts), float(jitter), shrinkage

    def config(self) -> dict:
        return {"parts": list(self.parts), "jitter": self.jitter, "shrinkage": self.shrinkage}

    def _features(self, x: Tensor) -> Tensor:
        return self.model.feature_ensemble(x, self.parts).double()

    def _fit_rows(self, x: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        """What the fit keeps of a batch x: its features [B, D] (float64) and, for subclasses, one
        more statistic per sample [B] (None here)."""
        return self._features(x), None

    def _gather(self, loader) -> tuple[Tensor, Tensor, Optional[Tensor]]:
        """Features [N, D] float64 and labels [N] of the fit data, and the per-sample statistic of
        _fit_rows [N] when there is one."""
        features, labels, extras = [], [], []
        for batch in loader:
            y = batch_labels(batch)
            if y is None:
                raise ValueError(f"{type(self).__name__}.fit needs labelled batches (x, y)")
            rows, extra = self._fit_rows(batch_inputs(batch).to(self.device))
            features.append(rows.cpu())
            labels.append(y.cpu())
            if extra is not None:
                extras.append(extra.cpu())
        features = self._concat(features)
        return features, torch.cat(labels), torch.cat(extras) if extras else None

    @torch.no_grad()
    def _fit(self, loader) -> None:
        features, labels, _ = self._gather(loader)
        self._fit_gaussians(features, labels)

    def _fit_gaussians(self, features: Tensor, labels: Tensor) -> None:
        means, covariances, k = class_gaussians(features, labels, self.model.num_classes, self.jitter, self.shrinkage)
        self.means = means.to(self.device)
        self.prec_chol = precision_cholesky(covariances).to(self.device)
        self.jitter_k = k

    def _best_class(self, x: Tensor):
        return gaussian_log_prob(self._features(x), self.means, self.prec_chol, reduce="max")

    def _score(self, x: Tensor) -> Tensor:
        return -self._best_class(x).values.to(x.dtype)

    def _predict(self, x: Tensor) -> Tensor:
        return self._best_class(x).indices

    def _check_state(self, state: dict) -> None:
        name = type(self).__name__
        dim = sum(self.model.part_dims[p] for p in self.parts)
        means = expect(name, "means", state["means"], (self.model.num_classes, dim))
        expect(name, "prec_chol", state["prec_chol"], (len(means), dim, dim))
        if not isinstance(state["jitter_k"], int) or state["jitter_k"] < 0:
            raise ValueError(f"{name} state: jitter_k must be a non-negative int, got {state['jitter_k']!r}")


class VMDLS(VMDLSBasic):
    """VMDLS: VMDLS_b's log-likelihood weighted by an autoencoder's first-stage reconstruction
    error (the module docstring); `autoencoder` has ``reconstruct(x)`` for the same inputs."""

    fitted_attributes = VMDLSBasic.fitted_attributes + ("top_log_likelihood", "max_weight")

    def __init__(self, model: nn.Module, autoencoder: nn.Module, parts: tuple[str, ...] = PARTS,
                 jitter: float = 1e-6, shrinkage: str = "none", progress: bool = True):
        require(autoencoder, Reconstructor, "VMDLS")
        super().__init__(model, parts, jitter, shrinkage, progress)
        self.autoencoder = autoencoder

    def _models(self) -> tuple[nn.Module, ...]:
        return (self.model, self.autoencoder)

    def _features_and_weight(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The feature ensemble [N, D] and w(x) = mean((t¹(x) − t¹(AE(x)))²) [N], both float64,
        from one pass of the backbone over x (plus a shallow one over the reconstruction)."""
        parts = self.model.parts(x, tuple(dict.fromkeys(("t1",) + self.parts)))
        features = torch.cat([parts[p] for p in self.parts], dim=1).double()
        reconstructed = self.model.parts(self.autoencoder.reconstruct(x), ("t1",))["t1"]
        return features, (parts["t1"].double() - reconstructed.double()).pow(2).mean(1)

    def _fit_rows(self, x: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        return self._features_and_weight(x)

    @torch.no_grad()
    def _fit(self, loader) -> None:
        features, labels, weights = self._gather(loader)
        self._fit_gaussians(features, labels)
        best = gaussian_log_prob(features.to(self.device), self.means, self.prec_chol, reduce="max").values
        self.top_log_likelihood = distributed.maximum(float(best.max())) + 1.0
        self.max_weight = distributed.maximum(float(weights.max()))
        if not self.max_weight > 0:
            raise ValueError("VMDLS.fit: the autoencoder reconstructs every fit image's first-stage features exactly "
                             "(max weight 0); the weighting needs a trained, imperfect autoencoder")

    def _score(self, x: Tensor) -> Tensor:
        features, weight = self._features_and_weight(x)
        best = gaussian_log_prob(features, self.means, self.prec_chol, reduce="max").values
        return ((self.top_log_likelihood - best) * weight / self.max_weight).to(x.dtype)

    def _check_state(self, state: dict) -> None:
        super()._check_state(state)
        for key in ("top_log_likelihood", "max_weight"):  # finite: checked for every detector by the base
            if not isinstance(state[key], float):
                raise ValueError(f"VMDLS state: {key} must be a float, got {state[key]!r}")
        if state["max_weight"] <= 0:
            raise ValueError(f"VMDLS state: max_weight must be positive, got {state['max_weight']}")


__all__ = ["PARTS", "SHRINKAGE", "VMDLS", "VMDLSBasic", "class_gaussians", "jitter_steps", "oas_shrinkage"]
