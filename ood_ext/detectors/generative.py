"""Likelihood-based baselines on generative models (docs/methods.md, "Likelihood baselines").

All take a model with the LikelihoodModel interface, ``log_likelihood(x, samples) -> [B]``
(an IWAE estimate for a VAE, the exact value for a flow; models.interfaces), and return
higher = more OOD:

* NLL: −log p(x) (IWAE, K samples), in nats.
* LikelihoodRegret: NLL_before − NLL_after, after fitting a copy of the encoder to each sample
  (Adam, 100 steps) — batched: every sample's encoder copy is optimised at once with
  torch.func (vmap over per-sample parameters), not in a Python loop over samples.
* LikelihoodRatio: −(log p_θ(x) − log p_θ0(x)) with a background model θ0 trained on perturbed
  inputs (training.vae.perturb).
* InputComplexity: NLL_bits(x)/D − L(x)/D with L the PNG (level 9) or lossless JPEG 2000 length
  of the 8-bit image in bits (both terms in bits, unlike the reference code).
"""

import hashlib
import io
import math
from typing import Optional

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from ..models.interfaces import LatentVariableModel, LikelihoodModel, require
from .base import Detector

CODECS = ("png", "jp2")


class IWAELikelihood:
    """log p(x) [B] of a model by importance-weighted sampling (K samples), memoised by input
    content: detectors sharing one instance (NLL, IC, LRatio in a benchmark) estimate each
    image's likelihood once, and consistently."""

    def __init__(self, model: nn.Module, samples: int = 20):
        require(model, LikelihoodModel, "IWAELikelihood")
        self.model, self.samples = model, int(samples)
        self._memo: dict = {}

    def __call__(self, x: Tensor) -> Tensor:
        key = (tuple(x.shape), str(x.dtype), hashlib.blake2b(x.detach().cpu().numpy().tobytes(), digest_size=16).digest())
        if key not in self._memo:
            was_training = self.model.training
            self.model.eval()
            with torch.no_grad():
                self._memo[key] = self.model.log_likelihood(x, self.samples).cpu()
            self.model.train(was_training)
        return self._memo[key].to(x.device)


class _LikelihoodDetector(Detector):
    """Shared by the detectors scoring with a model's (memoised) IWAE likelihood; nothing to fit."""

    def __init__(self, model: nn.Module, samples: int, likelihood: Optional[IWAELikelihood], progress: bool):
        super().__init__(model, progress)
        self.likelihood = likelihood or IWAELikelihood(model, samples)
        self.samples = self.likelihood.samples

    def config(self) -> dict:
        return {"samples": self.samples}

    def _fit(self, loader) -> None:
        pass


class NLL(_LikelihoodDetector):
    """Negative log-likelihood −log p(x) by importance-weighted sampling (nats)."""

    def __init__(self, model: nn.Module, samples: int = 20, likelihood: Optional[IWAELikelihood] = None,
                 progress: bool = True):
        super().__init__(model, samples, likelihood, progress)

    def _score(self, x: Tensor) -> Tensor:
        return -self.likelihood(x)


class LikelihoodRatio(_LikelihoodDetector):
    """−(log p_θ(x) − log p_θ0(x)): the model's likelihood against a background model's."""

    def __init__(self, model: nn.Module, background: nn.Module, samples: int = 20,
                 likelihood: Optional[IWAELikelihood] = None, progress: bool = True):
        super().__init__(model, samples, likelihood, progress)
        self.background = IWAELikelihood(background, self.samples)

    def _models(self) -> tuple[nn.Module, ...]:
        return (self.model, self.background.model)

    def _score(self, x: Tensor) -> Tensor:
        return -(self.likelihood(x) - self.background(x))


def compressed_bits(images: np.ndarray, codec: str) -> np.ndarray:
    """Length in bits of each uint8 image [N, C, H, W] losslessly compressed with `codec`."""
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
    lengths = []
    for image in images:
        pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
        buffer = io.BytesIO()
        if codec == "png":
            pil.save(buffer, format="PNG", compress_level=9)
        else:
            pil.save(buffer, format="JPEG2000", irreversible=False)
        lengths.append(8 * len(buffer.getvalue()))
    return np.asarray(lengths, dtype=np.float64)


class InputComplexity(_LikelihoodDetector):
    """S(x) = NLL_bits(x)/D − L(x)/D (Serrà et al.), D the number of sub-pixels."""

    def __init__(self, model: nn.Module, codec: str = "png", samples: int = 20,
                 likelihood: Optional[IWAELikelihood] = None, progress: bool = True):
        if codec not in CODECS:
            raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
        super().__init__(model, samples, likelihood, progress)
        self.codec = codec

    def config(self) -> dict:
        return {"codec": self.codec, "samples": self.samples}

    def _score(self, x: Tensor) -> Tensor:
        dims = x[0].numel()
        nll_bits = -self.likelihood(x).double() / math.log(2)
        levels = (x.detach() * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        complexity = torch.from_numpy(compressed_bits(levels, self.codec)).to(x.device)
        return ((nll_bits - complexity) / dims).to(x.dtype)


class _Method(nn.Module):
    """Calls one method of a model, so torch.func.functional_call can swap its parameters."""

    def __init__(self, model: nn.Module, method: str, **kwargs):
        super().__init__()
        self.model, self.method, self.kwargs = model, method, kwargs

    def forward(self, x: Tensor) -> Tensor:
        return getattr(self.model, self.method)(x, **self.kwargs)


class LikelihoodRegret(_LikelihoodDetector):
    """Likelihood Regret (Xiao et al.) for VAEs: NLL(x) − NLL(x; encoder fitted to x).

    The model's encoder parameters (``encoder_parameters()`` of the LatentVariableModel
    interface) are optimised for every sample of a batch together: per-sample copies, gradients
    by vmap(grad(−ELBO of one sample)), and a per-sample Adam (lr 1e-4, weight decay 5e-5,
    `steps` steps)."""

    def __init__(self, model: nn.Module, steps: int = 100, lr: float = 1e-4, weight_decay: float = 5e-5,
                 samples: int = 20, likelihood: Optional[IWAELikelihood] = None, progress: bool = True):
        require(model, LatentVariableModel, "LikelihoodRegret")
        super().__init__(model, samples, likelihood, progress)
        self.steps, self.lr, self.weight_decay = int(steps), float(lr), float(weight_decay)

    def config(self) -> dict:
        return {"steps": self.steps, "lr": self.lr, "weight_decay": self.weight_decay, "samples": self.samples}

    def _score(self, x: Tensor) -> Tensor:
        before = self.likelihood(x)
        params = self._fitted_encoders(x)
        iwae = _Method(self.model, "log_likelihood", samples=self.samples)
        shared = {f"model.{k}": v.detach() for k, v in self.model.named_parameters() if f"model.{k}" not in params}
        after = vmap(lambda p, xi: functional_call(iwae, {**shared, **p}, (xi[None],))[0],
                     randomness="different")(params, x)
        # LR = NLL_before − NLL_after = log p_after − log p_before: the larger the gain, the more OOD.
        return (after.detach() - before).to(x.dtype)

    def _fitted_encoders(self, x: Tensor) -> dict:
        named = {f"model.{k}": v for k, v in self.model.named_parameters()}
        encoder = {f"model.{k}": v for k, v in self.model.encoder_parameters()}
        if not encoder:
            raise ValueError(f"{type(self.model).__name__}.encoder_parameters() is empty: nothing to refit")
        shared = {k: v.detach() for k, v in named.items() if k not in encoder}
        elbo = _Method(self.model, "neg_elbo")

        def loss(p, xi):
            return functional_call(elbo, {**shared, **p}, (xi[None],))[0]

        step_grad = vmap(grad(loss), randomness="different")
        b = x.shape[0]
        params = {k: v.detach().unsqueeze(0).repeat(b, *([1] * v.dim())) for k, v in encoder.items()}
        first = {k: torch.zeros_like(v) for k, v in params.items()}
        second = {k: torch.zeros_like(v) for k, v in params.items()}
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for t in range(1, self.steps + 1):
            grads = step_grad(params, x.detach())
            for k in params:
                g = grads[k] + self.weight_decay * params[k]  # Adam's L2 weight decay
                first[k].mul_(beta1).add_(g, alpha=1 - beta1)
                second[k].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                step = self.lr / (1 - beta1**t)
                params[k] = params[k] - step * first[k] / ((second[k] / (1 - beta2**t)).sqrt() + eps)
        return params
