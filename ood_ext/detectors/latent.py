"""Detectors on a latent encoder or a reconstructing model (docs/methods.md, "AnoDLSGAN").

* LatentLikelihood (AnoDLSGAN; InfoGAN on an InfoGAN): the negative log-likelihood of the
  encoder's code ẑ = E(x) under the prior N(0, diag v) with the model's traced variance v,
      score = −Σ_i log N(ẑ_i; 0, v_i) = ½ Σ_i [log(2π v_i) + ẑ_i² / v_i],
  in closed form through the fused diagonal-Gaussian op (finite for every finite ẑ, where the
  reference code's −log(pdf) overflows to inf).
* ReconstructionError: mean over pixels of (x − x̂)², x̂ = model.reconstruct(x) (a GAN's
  G(E(x) ⊙ s), or an autoencoder's).
Nothing is fitted: both read the trained model only. Higher = more OOD.
"""

import torch
from torch import Tensor, nn

from ..models.interfaces import LatentEncoder, Reconstructor, require
from ..ops import diag_gaussian_log_prob
from .base import Detector


class LatentLikelihood(Detector):
    """−log N(E(x); 0, diag v) of a model with the LatentEncoder interface."""

    def __init__(self, model: nn.Module, progress: bool = True):
        require(model, LatentEncoder, "LatentLikelihood")
        super().__init__(model, progress)

    def _fit(self, loader) -> None:
        pass

    def _score(self, x: Tensor) -> Tensor:
        code = self.model.encode_latent(x)
        variance = self.model.latent_variance.to(code.dtype)[None]
        return -diag_gaussian_log_prob(code, torch.zeros_like(variance), variance)[:, 0]


class ReconstructionError(Detector):
    """Mean squared reconstruction error per sample of a model with the Reconstructor interface."""

    def __init__(self, model: nn.Module, progress: bool = True):
        require(model, Reconstructor, "ReconstructionError")
        super().__init__(model, progress)

    def _fit(self, loader) -> None:
        pass

    def _score(self, x: Tensor) -> Tensor:
        return (x - self.model.reconstruct(x)).pow(2).flatten(1).mean(1)
