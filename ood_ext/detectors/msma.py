"""MSMA and RotNCSN: density models on multi-scale score-norm "normality vectors"
(docs/methods.md, "MSMA and RotNCSN").

Normality vectors [N, L] of a score network s_θ over its noise levels σ_1 > … > σ_L:
    f_msma(x)_i = ‖σ_i s_θ(x, i)‖                                   (clean input)
    f_rec(x)_i  = ‖s_θ(x̃_i, i) + (x̃_i − x)/σ_i²‖,  x̃_i = x + σ_i ε   (one draw by default)
    f_rot(x)_i  = Σ_r ‖s_θ(r(x̃_i), i) + (x̃_i − x)/σ_i²‖   r ∈ {0, 90, 180, 270}°, on a RotNCSN:
                  the residual is against the *unrotated* noise, the target the network was
                  trained for (training.ncsn).
All norms go through the fused multiscale_score_norms op. The density model is fitted on the
ID training vectors after standardisation: a full-covariance GaussianMixture whose number of
components is chosen by cross-validated log-likelihood over {2, 4, …, 20} (scikit-learn), scored
with the fused Gaussian op in logsumexp mode on the model's device (score = −log p); or the
distance to the k-th nearest training vector (k = 5). Higher = more OOD.
"""

from typing import Sequence

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import KFold
from torch import Tensor, nn

from .. import distributed
from ..data.batches import batch_inputs
from ..models.interfaces import ScoreNetwork, require
from ..models.ncsn import in_chunks
from ..ops import gaussian_log_prob, multiscale_score_norms
from ..training.ncsn import ROTATIONS, rotate
from .base import Detector, expect

FEATURES = ("msma", "rec", "rot")
DENSITIES = ("gmm", "knn")


def normality_vectors(model: nn.Module, x: Tensor, features: str = "msma", draws: int = 1) -> Tensor:
    """[B, L] normality vectors of images x [B, C, H, W] (see the module docstring)."""
    sigmas = model.sigmas
    levels = len(sigmas)
    if features == "msma":
        return multiscale_score_norms(model.scores_all_levels(x), sigmas.to(x.dtype))
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    index = torch.arange(levels, device=x.device).repeat_interleave(x.shape[0])
    view = (levels,) + (1,) * x.dim()
    total = 0
    for _ in range(draws):
        noisy = x[None] + sigmas.view(view).to(x.dtype) * torch.randn(levels, *x.shape, dtype=x.dtype, device=x.device)
        turns = ROTATIONS if features == "rot" else (0,)
        for k in turns:
            inputs = noisy.flatten(0, 1) if k == 0 else rotate(noisy.flatten(0, 1), torch.full_like(index, k))
            scores = in_chunks(model, inputs, index).view(levels, *x.shape)
            total = total + multiscale_score_norms(scores, sigmas.to(x.dtype), "residual", noisy, x)
    return total / draws


def select_gmm(vectors: np.ndarray, components: Sequence[int], folds: int, seed: int) -> GaussianMixture:
    """The full-covariance GaussianMixture with the best mean held-out log-likelihood over
    `folds` folds, refitted on all vectors."""
    best, best_score = None, -np.inf
    splitter = KFold(folds, shuffle=True, random_state=seed)
    for k in components:
        if k * folds > len(vectors):
            break
        scores = [GaussianMixture(k, covariance_type="full", random_state=seed).fit(vectors[train]).score(vectors[test])
                  for train, test in splitter.split(vectors)]
        if np.mean(scores) > best_score:
            best, best_score = k, float(np.mean(scores))
    if best is None:
        raise ValueError(f"too few vectors ({len(vectors)}) for {folds}-fold selection of {list(components)} components")
    return GaussianMixture(best, covariance_type="full", random_state=seed).fit(vectors)


class MSMA(Detector):
    """Multiscale score matching analysis (Mahmood et al.) on a trained NCSN.

    Args:
        model: a score network (the ScoreNetwork interface: ``sigmas``, ``model(x, level)``,
            ``scores_all_levels(x)``), e.g. an NCSN.
        features: 'msma' (f_msma), 'rec' (f_rec) or 'rot' (f_rot, for a RotNCSN).
        density: 'gmm' or 'knn'.
        components: GMM sizes tried by cross-validation; folds: its folds; k: kNN's k.
        draws: noise draws averaged by f_rec / f_rot.
    """

    fitted_attributes = ("mean", "scale", "gmm_means", "gmm_prec_chol", "gmm_log_weights", "train_vectors")

    def __init__(self, model: nn.Module, features: str = "msma", density: str = "gmm",
                 components: Sequence[int] = tuple(range(2, 21, 2)), folds: int = 3, k: int = 5, draws: int = 1,
                 seed: int = 0, progress: bool = True):
        require(model, ScoreNetwork, type(self).__name__)
        super().__init__(model, progress)
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        if density not in DENSITIES:
            raise ValueError(f"density must be one of {DENSITIES}, got {density!r}")
        self.features, self.density = features, density
        self.components, self.folds, self.k, self.draws, self.seed = tuple(components), folds, k, draws, seed

    def config(self) -> dict:
        return {"features": self.features, "density": self.density, "components": list(self.components),
                "folds": self.folds, "k": self.k, "draws": self.draws, "seed": self.seed}

    @torch.no_grad()
    def vectors(self, x: Tensor) -> Tensor:
        """Standardised normality vectors [B, L] (float64)."""
        return (normality_vectors(self.model, x, self.features, self.draws).double() - self.mean) / self.scale

    def _fit(self, loader) -> None:
        with torch.no_grad():
            raw = distributed.gather(self._concat([normality_vectors(self.model, batch_inputs(b).to(self.device),
                                                                     self.features, self.draws).double()
                                                   for b in loader]))
        self.mean, self.scale = raw.mean(0), raw.std(0).clamp(min=1e-12)
        z = (raw - self.mean) / self.scale
        self.gmm_means = self.gmm_prec_chol = self.gmm_log_weights = self.train_vectors = None
        if self.density == "gmm":
            gmm = select_gmm(z.cpu().numpy(), self.components, self.folds, self.seed)
            self.gmm_means = torch.as_tensor(gmm.means_, device=self.device)
            self.gmm_prec_chol = torch.as_tensor(gmm.precisions_cholesky_, device=self.device)
            self.gmm_log_weights = torch.as_tensor(np.log(gmm.weights_), device=self.device)
        else:
            if len(z) <= self.k:
                raise ValueError(f"kNN with k={self.k} needs more than {self.k} training vectors")
            self.train_vectors = z

    def _check_state(self, state: dict) -> None:
        name, levels = type(self).__name__, len(self.model.sigmas)
        expect(name, "mean", state["mean"], (levels,))
        expect(name, "scale", state["scale"], (levels,))
        used = ("gmm_means", "gmm_prec_chol", "gmm_log_weights") if self.density == "gmm" else ("train_vectors",)
        unused = [k for k in self.fitted_attributes if k not in used + ("mean", "scale") and state[k] is not None]
        if unused:
            raise ValueError(f"{name} state: {unused} must be None for density={self.density!r}")
        if self.density == "gmm":
            means = expect(name, "gmm_means", state["gmm_means"], (None, levels))
            expect(name, "gmm_prec_chol", state["gmm_prec_chol"], (len(means), levels, levels))
            expect(name, "gmm_log_weights", state["gmm_log_weights"], (len(means),))
        elif len(expect(name, "train_vectors", state["train_vectors"], (None, levels))) <= self.k:
            raise ValueError(f"{name} state: kNN with k={self.k} needs more than {self.k} training vectors")

    def _score(self, x: Tensor) -> Tensor:
        z = self.vectors(x)
        if self.density == "gmm":
            score = -gaussian_log_prob(z, self.gmm_means, self.gmm_prec_chol, self.gmm_log_weights, "logsumexp")
        else:
            score = torch.cdist(z, self.train_vectors).topk(self.k, dim=1, largest=False).values[:, -1]
        return score.to(x.dtype)


class RotNCSN(MSMA):
    """RotNCSN (seed 004): MSMA's density model on f_rot of a rotation-trained score network."""

    def __init__(self, model: nn.Module, density: str = "gmm", **kwargs):
        super().__init__(model, "rot", density, **kwargs)
