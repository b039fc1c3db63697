"""The one API every OOD detector shares.

    det = SomeDetector(model, ...).fit(id_train_loader)   # returns self
    s = det.score(x)                                       # Tensor [N], higher = more OOD
    s = det.score_loader(loader)                           # batched, on the model's device
    det2.load_state_dict(det.state_dict())                 # exact round trip

Subclasses implement `_fit(loader)` and `_score(x)`, list their fitted tensors in
`fitted_attributes` and their hyperparameters in `config()`, and check a loaded state's shapes
in `_check_state`. The base class handles devices, model eval mode (restored afterwards),
gradient hygiene and (de)serialisation.

Policies shared by every detector:
* NaN / inf inputs are refused with a ValueError, in score and in every batch fit reads (a
  NaN score would be ranked arbitrarily by every metric); an empty batch scores to an empty
  tensor.
* Fitting on a loader that yields no samples raises ValueError (detectors that need no data,
  e.g. MSP, accept any loader).
* load_state_dict validates the structure, count, shapes and dtypes of the state against the
  detector and its model, and raises one ValueError saying what does not fit.
"""

import contextlib
from typing import Iterable, Iterator, Optional

import torch
from torch import Tensor, nn

from .. import progress
from ..data.batches import batch_inputs


@contextlib.contextmanager
def eval_mode(*modules: Optional[nn.Module]) -> Iterator[None]:
    """Put modules in eval mode and restore each one's train/eval flag (recursively) afterwards."""
    saved = [(m, [(sub, sub.training) for sub in m.modules()]) for m in modules if m is not None]
    for module, _ in saved:
        module.eval()
    try:
        yield
    finally:
        for _, flags in saved:
            for sub, flag in flags:
                sub.training = flag


def map_tensors(value, fn):
    """Apply fn to every tensor inside nested lists / tuples / dicts (other values unchanged)."""
    if torch.is_tensor(value):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(map_tensors(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_tensors(v, fn) for k, v in value.items()}
    return value


class NotFittedError(RuntimeError):
    """score() was called before fit() (or load_state_dict())."""


class Detector:
    """Base class of all detectors. `model` may be None for detectors that hold no network;
    `progress` (an attribute, settable after construction) shows progress bars."""

    fitted_attributes: tuple[str, ...] = ()
    needs_input_grad = False  # True for detectors whose score differentiates wrt the input
    decision_threshold: Optional[float] = None  # detectors that decide: a score above it means OOD
    predicts = False  # True for detectors that also classify ID inputs (predict, open-set recognition)

    def __init__(self, model: Optional[nn.Module] = None, progress: bool = True):
        self.model = model
        self.progress = progress
        self.fitted = False

    # ----- to implement -----------------------------------------------------------------------
    def config(self) -> dict:
        """Hyperparameters (plain Python values); saved with the state and checked on load."""
        return {}

    def _fit(self, loader: Iterable) -> None:
        raise NotImplementedError

    def _score(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _predict(self, x: Tensor) -> Tensor:
        """Class indices [N] (int64) of inputs x, for detectors with `predicts`."""
        raise NotImplementedError

    def _models(self) -> tuple[nn.Module, ...]:
        """The networks the detector runs (put in eval mode while it fits, scores, predicts)."""
        return (self.model,) if self.model is not None else ()

    # ----- the API ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        if self.model is not None:
            for p in self.model.parameters():
                return p.device
        for name in self.fitted_attributes:
            value = getattr(self, name, None)
            if torch.is_tensor(value):
                return value.device
        return torch.device("cpu")

    def fit(self, loader: Iterable) -> "Detector":
        """Fit on in-distribution data (batches of x or (x, y)); returns self."""
        with eval_mode(*self._models()):
            self._fit(self._progress(self._finite_batches(loader), f"fit {type(self).__name__}"))
        self.fitted = True
        return self

    def score(self, x: Tensor) -> Tensor:
        """OOD scores [N] of inputs x (higher = more OOD), detached, on x's device."""
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.score called before fit / load_state_dict")
        if len(x) == 0:
            return x.new_empty(0) if x.is_floating_point() else torch.empty(0, device=x.device)
        self._check_finite(x, "score")
        with eval_mode(*self._models()), torch.set_grad_enabled(self.needs_input_grad):
            scores = self._score(x.to(self.device))
        return scores.detach().to(x.device)

    def predict(self, x: Tensor) -> Tensor:
        """The ID class [N] (int64, on x's device) each input is assigned to, for detectors that
        classify (`predicts`); whether it is accepted as ID is the score's business."""
        if not self.predicts:
            raise TypeError(f"{type(self).__name__} does not classify (no predict)")
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.predict called before fit / load_state_dict")
        if len(x) == 0:
            return torch.empty(0, dtype=torch.int64, device=x.device)
        self._check_finite(x, "predict")
        with eval_mode(*self._models()), torch.no_grad():
            return self._predict(x.to(self.device)).to(x.device)

    def predict_loader(self, loader: Iterable) -> Tensor:
        """predict over every batch of a loader, concatenated: [N] on the CPU."""
        parts = [self.predict(batch_inputs(b)).cpu() for b in loader]
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.int64)

    def score_loader(self, loader: Iterable) -> Tensor:
        """Scores of every batch of a loader, concatenated: [N] on the CPU."""
        parts = [self.score(batch_inputs(b)).cpu() for b in self._progress(loader, "score")]
        return torch.cat(parts) if parts else torch.empty(0)

    def state_dict(self) -> dict:
        """Fitted tensors and hyperparameters; the model's weights are saved separately."""
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted: nothing to save")
        state = {name: map_tensors(getattr(self, name), lambda t: t.detach().cpu().clone())
                 for name in self.fitted_attributes}
        return {"type": type(self).__name__, "config": self.config(), "state": state}

    def load_state_dict(self, saved: dict) -> "Detector":
        """Restore a fitted state (tensors go to the model's device) after validating it against
        this detector; returns self. Raises ValueError naming what does not fit."""
        name = type(self).__name__
        if not isinstance(saved, dict) or not {"type", "config", "state"} <= set(saved):
            found = sorted(map(str, saved)) if isinstance(saved, dict) else type(saved).__name__
            raise ValueError(f"not a detector state: expected a dict with type, config and state, got {found}")
        if saved["type"] != name:
            raise ValueError(f"state is for {saved['type']}, not {name}")
        if saved["config"] != self.config():
            raise ValueError(f"state was fitted with {saved['config']}, this detector has {self.config()}")
        state = saved["state"]
        if not isinstance(state, dict) or set(state) != set(self.fitted_attributes):
            found = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{name} state holds {found}, expected {sorted(self.fitted_attributes)}")
        self._check_state(state)
        device = self.device
        for attribute in self.fitted_attributes:
            setattr(self, attribute, map_tensors(state[attribute], lambda t: t.to(device)))
        self.fitted = True
        return self

    def _check_state(self, state: dict) -> None:
        """Raise ValueError if a loaded state's tensors do not fit this detector (see expect)."""

    def to(self, device) -> "Detector":
        """Move the models and the fitted tensors to a device."""
        for model in self._models():
            model.to(device)
        for name in self.fitted_attributes:
            if hasattr(self, name):
                setattr(self, name, map_tensors(getattr(self, name), lambda t: t.to(device)))
        return self

    def _check_finite(self, x: Tensor, where: str) -> None:
        if x.is_floating_point() and not torch.isfinite(x).all():
            bad = int((~torch.isfinite(x.flatten(1))).any(1).sum()) if x.dim() > 1 else int((~torch.isfinite(x)).sum())
            raise ValueError(f"{type(self).__name__}.{where}: {bad} of {len(x)} inputs contain NaN or infinite values")

    def _finite_batches(self, loader: Iterable) -> Iterator:
        for batch in loader:
            self._check_finite(batch_inputs(batch), "fit")
            yield batch

    def _concat(self, parts: list, what: str = "samples") -> Tensor:
        """torch.cat of what a fit gathered; ValueError if the loader yielded nothing."""
        if not parts or sum(len(p) for p in parts) == 0:
            raise ValueError(f"{type(self).__name__}.fit: the loader yielded no {what}")
        return torch.cat(parts)

    def _progress(self, loader: Iterable, desc: str) -> Iterable:
        return progress.bar(loader, desc, self.progress)


def expect(detector: str, name: str, value, shape: tuple) -> Tensor:
    """`value` if it is a finite floating-point tensor of `shape` (None entries: any size);
    ValueError naming the detector, the entry and the mismatch otherwise."""
    pattern = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
    if not torch.is_tensor(value) or not value.is_floating_point():
        what = f"{value.dtype} tensor" if torch.is_tensor(value) else type(value).__name__
        raise ValueError(f"{detector} state: {name} must be a floating-point tensor {pattern}, got a {what}")
    if value.dim() != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
        raise ValueError(f"{detector} state: {name} has shape {list(value.shape)}, expected {pattern}")
    if not torch.isfinite(value).all():
        raise ValueError(f"{detector} state: {name} contains NaN or infinite values")
    return value
