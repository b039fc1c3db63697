"""Adapters: any classifier, addressed by the names of its submodules, as a `Classifier`
(interfaces.py); and a fixed-size reconstructor on smaller images (`PaddedReconstructor`).

    model = torchvision_style_resnet()                  # the user's own network, unchanged
    classifier = adapt(model, features="avgpool", head="fc")
    Mahalanobis(classifier).fit(loader)

`features(x)` runs the user's model once, with a forward hook on the `features` submodule that
keeps its output (flattened to [N, F]); `head(f)` applies the `head` submodule to features. The
hook exists only during that forward pass: the user's model is neither copied nor changed, its
parameters, buffers and train / eval mode are the adapter's (it is the adapter's one child).
"""

import difflib

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class AdaptedClassifier(nn.Module):
    """A user's classifier seen through the Classifier interface (see the module docstring)."""

    def __init__(self, model: nn.Module, features: str, head: str):
        super().__init__()
        named = dict(model.named_modules())
        for role, name in (("features", features), ("head", head)):
            if not name or name not in named:
                close = difflib.get_close_matches(name or "", [n for n in named if n], n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ValueError(f"adapt: {type(model).__name__} has no submodule {name!r} for {role}{hint}")
        if named[head] is model:
            raise ValueError("adapt: the head must be a submodule, not the whole model")
        self.model = model
        self.feature_name, self.head_name = features, head
        self._feature_module, self._head_module = named[features], named[head]

    def forward(self, x: Tensor) -> Tensor:
        """The user's model's own output (logits [N, K])."""
        return self.model(x)

    def features(self, x: Tensor) -> Tensor:
        """The `features` submodule's output for inputs x, flattened: [N, F] (one forward pass)."""
        kept = []
        handle = self._feature_module.register_forward_hook(lambda module, args, output: kept.append(output))
        try:
            self.model(x)
        finally:
            handle.remove()
        if not kept:
            raise RuntimeError(f"adapt: the model's forward pass did not run its submodule {self.feature_name!r}")
        output = kept[0]
        if not torch.is_tensor(output):
            raise TypeError(f"adapt: submodule {self.feature_name!r} returns a {type(output).__name__}, not a tensor")
        return output.flatten(1)

    def head(self, features: Tensor) -> Tensor:
        """Logits [N, K] of the `head` submodule applied to features [N, F]."""
        try:
            return self._head_module(features)
        except RuntimeError as exc:
            raise ValueError(f"adapt: head {self.head_name!r} does not take the features of {self.feature_name!r} "
                             f"(flattened to {list(features.shape)}): {str(exc).splitlines()[0]}") from exc


def adapt(model: nn.Module, features: str = "avgpool", head: str = "fc") -> AdaptedClassifier:
    """`model` as a Classifier: `features` and `head` are the dotted names of its submodules
    (model.named_modules()) whose output are the penultimate features and which maps them to
    logits. Defaults fit torchvision's ResNets."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"adapt needs an nn.Module, got {type(model).__name__}")
    return AdaptedClassifier(model, features, head)


class PaddedReconstructor(nn.Module):
    """A reconstructor built for size × size inputs (e.g. the 32 × 32 autoencoder of the AnoDLSGAN
    family) used on smaller images: reconstruct(x) zero-pads x [N, C, H, W] to size × size
    (centred, as data.images.to_tensor pads), reconstructs, and returns the centre [N, C, H, W].
    Its one child is the wrapped model (no copy; its mode and device are the model's)."""

    def __init__(self, model: nn.Module, size: int):
        super().__init__()
        if not callable(getattr(model, "reconstruct", None)):
            raise TypeError(f"PaddedReconstructor needs a model with reconstruct(x), got {type(model).__name__}")
        self.model, self.size = model, int(size)

    def reconstruct(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h > self.size or w > self.size:
            raise ValueError(f"PaddedReconstructor: {h} × {w} inputs do not fit in {self.size} × {self.size}")
        top, left = (self.size - h) // 2, (self.size - w) // 2
        padded = F.pad(x, (left, self.size - w - left, top, self.size - h - top))
        return self.model.reconstruct(padded)[..., top : top + h, left : left + w]


__all__ = ["AdaptedClassifier", "PaddedReconstructor", "adapt"]
