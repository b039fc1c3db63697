"""What detectors need from a model, as structural interfaces (typing.Protocol).

A detector names the interface it needs and checks it when it is built (`require`), so any
model with those members works — not only the networks in ood_ext.models — and a model that
lacks one fails at once with a message naming what is missing.

* Classifier: ``features(x) -> [N, F]`` penultimate activations, ``head(features) -> [N, K]``
  logits (``model(x)`` is ``head(features(x))``).
* LikelihoodModel: ``log_likelihood(x, samples) -> [N]``, log p(x) in nats (exact for a flow,
  which ignores `samples`; an importance-weighted estimate with `samples` draws for a VAE).
* LatentVariableModel: a LikelihoodModel with an amortised encoder: ``encode(x) -> (mean,
  logvar)``, ``neg_elbo(x, sample) -> [N]`` and ``encoder_parameters()`` (named, the part a
  per-sample refit such as Likelihood Regret adapts).
* ScoreNetwork: ``sigmas`` [L] noise levels (largest first), ``model(x, level) -> scores`` and
  ``scores_all_levels(x) -> [L, N, ...]``.
* LatentEncoder: ``encode_latent(x) -> [N, d]`` a deterministic latent code and
  ``latent_variance`` [d], the variance of its prior (a GAN encoder's traced variance).
* Reconstructor: ``reconstruct(x) -> x̂`` of the shape of x (an autoencoder, or a GAN's
  G(E(x))).
"""

from typing import Iterator, Protocol, runtime_checkable

from torch import Tensor, nn


@runtime_checkable
class Classifier(Protocol):
    def features(self, x: Tensor) -> Tensor: ...

    def head(self, features: Tensor) -> Tensor: ...


@runtime_checkable
class LikelihoodModel(Protocol):
    def log_likelihood(self, x: Tensor, samples: int) -> Tensor: ...


@runtime_checkable
class LatentVariableModel(LikelihoodModel, Protocol):
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]: ...

    def neg_elbo(self, x: Tensor, sample: bool = True) -> Tensor: ...

    def encoder_parameters(self) -> Iterator[tuple[str, nn.Parameter]]: ...


@runtime_checkable
class ScoreNetwork(Protocol):
    sigmas: Tensor

    def scores_all_levels(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class LatentEncoder(Protocol):
    latent_variance: Tensor

    def encode_latent(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class Reconstructor(Protocol):
    def reconstruct(self, x: Tensor) -> Tensor: ...


def members(interface: type) -> list[str]:
    """The public names an interface asks for, its bases' included."""
    names: dict[str, None] = {}
    for cls in reversed(interface.__mro__):
        if cls is object or cls is Protocol or not getattr(cls, "_is_protocol", False):
            continue
        for name in list(getattr(cls, "__annotations__", {})) + list(vars(cls)):
            if not name.startswith("_"):
                names[name] = None
    return list(names)


def require(model: object, interface: type, user: str) -> None:
    """Raise TypeError, naming the missing members, unless `model` has `interface`."""
    if not isinstance(model, interface):
        missing = [name for name in members(interface) if not hasattr(model, name)]
        raise TypeError(f"{user} needs a model with the {interface.__name__} interface "
                        f"({', '.join(members(interface))}); {type(model).__name__} lacks {', '.join(missing)}")
