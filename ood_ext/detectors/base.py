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
  tensor. Finite inputs whose score still overflows (pixels of 1e30 through a float32 network)
  are refused the same way rather than scored inf or NaN.
* Inputs must have the shape (channels, height, width, ...) of the data the detector was fitted
  on (recorded by fit, saved with the state): another shape is refused in one line. Floating
  inputs of another dtype than the detector's models are converted to the models' dtype; scores
  come back in the input's dtype.
* Fitting on a loader that yields no samples raises ValueError (detectors that need no data,
  e.g. MSP, accept any loader).
* load_state_dict validates the structure (bounded in depth and size before anything is compared
  or printed), count, shapes, dtypes and values of the state against the detector and its model:
  every fitted float and floating-point tensor must be finite and float32 / float64. It raises
  one ValueError saying what does not fit. Validation happens once, at load, not per batch.
* Every model a detector runs, its parts' included, is put in eval mode while it fits, scores or
  predicts and restored to its own mode afterwards; `to(device or dtype)` moves all of them and
  the fitted tensors (which keep their own dtype).
"""

import contextlib
from typing import Iterable, Iterator, Optional

import torch
from torch import Tensor, nn

from .. import progress
from ..data.batches import batch_inputs
from ..loaded import check_finite_values, check_structure, summary


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
        self.input_shape: Optional[tuple[int, ...]] = None  # one input's shape in the fit data (None: no data)

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
        """Every network the detector runs, its parts' included (put in eval mode while it fits,
        scores, predicts; moved by `to`)."""
        return (self.model,) if self.model is not None else ()

    def _parts(self) -> tuple["Detector", ...]:
        """Detectors this one is made of (moved by `to` with it)."""
        return ()

    # ----- the API ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for model in self._models():
            for p in model.parameters():
                return p.device
        for name in self.fitted_attributes:
            value = getattr(self, name, None)
            if torch.is_tensor(value):
                return value.device
        return torch.device("cpu")

    @property
    def dtype(self) -> Optional[torch.dtype]:
        """The floating dtype of the detector's first model (what inputs are converted to)."""
        for model in self._models():
            for p in model.parameters():
                if p.is_floating_point():
                    return p.dtype
        return None

    def fit(self, loader: Iterable) -> "Detector":
        """Fit on in-distribution data (batches of x or (x, y)); returns self."""
        self.input_shape = None
        with eval_mode(*self._models()):
            self._fit(self._progress(self._finite_batches(loader), f"fit {type(self).__name__}"))
        self.fitted = True
        return self

    def score(self, x: Tensor) -> Tensor:
        """OOD scores [N] of inputs x (higher = more OOD), detached, on x's device, in x's dtype
        when it is floating."""
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.score called before fit / load_state_dict")
        if len(x) == 0:
            return x.new_empty(0) if x.is_floating_point() else torch.empty(0, device=x.device)
        self._check_input(x, "score")
        with eval_mode(*self._models()), torch.set_grad_enabled(self.needs_input_grad):
            scores = self._score(self._prepare(x))
        if not torch.isfinite(scores).all():
            bad = int((~torch.isfinite(scores)).sum())
            raise ValueError(f"{type(self).__name__}.score: {bad} of {len(x)} inputs give a NaN or infinite score "
                             f"(largest input magnitude {float(x.abs().max()):.3g}; the computation overflowed)")
        return scores.detach().to(x.device, x.dtype if x.is_floating_point() else scores.dtype)

    def _prepare(self, x: Tensor) -> Tensor:
        """x on the detector's device, floating inputs in its models' dtype."""
        dtype = self.dtype if x.is_floating_point() else None
        return x.to(self.device, dtype or x.dtype)

    def predict(self, x: Tensor) -> Tensor:
        """The ID class [N] (int64, on x's device) each input is assigned to, for detectors that
        classify (`predicts`); whether it is accepted as ID is the score's business."""
        if not self.predicts:
            raise TypeError(f"{type(self).__name__} does not classify (no predict)")
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.predict called before fit / load_state_dict")
        if len(x) == 0:
            return torch.empty(0, dtype=torch.int64, device=x.device)
        self._check_input(x, "predict")
        with eval_mode(*self._models()), torch.no_grad():
            return self._predict(self._prepare(x)).to(x.device)

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
        shape = None if self.input_shape is None else list(self.input_shape)
        return {"type": type(self).__name__, "config": self.config(), "state": state, "input_shape": shape}

    def load_state_dict(self, saved: dict) -> "Detector":
        """Restore a fitted state (tensors go to the model's device) after validating it against
        this detector; returns self. Raises ValueError naming what does not fit."""
        name = type(self).__name__
        check_structure(saved, f"{name} state")
        if not isinstance(saved, dict) or not {"type", "config", "state"} <= set(saved):
            found = sorted(map(str, saved))[:12] if isinstance(saved, dict) else type(saved).__name__
            raise ValueError(f"not a detector state: expected a dict with type, config and state, got {found}")
        if saved["type"] != name:
            raise ValueError(f"state is for {summary(saved['type'])}, not {name}")
        if saved["config"] != self.config():
            raise ValueError(f"state was fitted with {summary(saved['config'], 300)}, this detector has "
                             f"{summary(self.config(), 300)}")
        state = saved["state"]
        if not isinstance(state, dict) or set(state) != set(self.fitted_attributes):
            found = sorted(map(str, state))[:12] if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{name} state holds {found}, expected {sorted(self.fitted_attributes)}")
        for attribute in self.fitted_attributes:
            check_finite_values(state[attribute], f"{name} state: {attribute}")
        shape = saved.get("input_shape")
        if shape is not None and (not isinstance(shape, list) or not 1 <= len(shape) <= 8
                                  or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
            raise ValueError(f"{name} state: input_shape must be a list of positive ints, got {summary(shape)}")
        self._check_state(state)
        device = self.device
        for attribute in self.fitted_attributes:
            setattr(self, attribute, map_tensors(state[attribute], lambda t: t.to(device)))
        self.input_shape = None if shape is None else tuple(shape)
        self.fitted = True
        return self

    def _check_state(self, state: dict) -> None:
        """Raise ValueError if a loaded state's tensors do not fit this detector (see expect)."""

    def to(self, *args, **kwargs) -> "Detector":
        """Move every model (the parts' included) to a device and / or dtype (as nn.Module.to),
        and the fitted tensors to that device (they keep their dtype: statistics fitted in
        float64 stay float64)."""
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        for model in self._models():
            model.to(*args, **kwargs)
        for part in self._parts():
            part.to(*args, **kwargs)
        if device is not None:
            for name in self.fitted_attributes:
                if hasattr(self, name):
                    setattr(self, name, map_tensors(getattr(self, name), lambda t: t.to(device)))
        return self

    def _check_input(self, x: Tensor, where: str) -> None:
        """ValueError for NaN / inf inputs, and for inputs of another shape than the fit data's."""
        name = type(self).__name__
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{name}.{where}: inputs of shape {list(x.shape[1:])}, but the detector was fitted on "
                             f"inputs of shape {list(self.input_shape)}")
        if x.is_floating_point() and not torch.isfinite(x).all():
            bad = int((~torch.isfinite(x.flatten(1))).any(1).sum()) if x.dim() > 1 else int((~torch.isfinite(x)).sum())
            raise ValueError(f"{name}.{where}: {bad} of {len(x)} inputs contain NaN or infinite values")

    def _finite_batches(self, loader: Iterable) -> Iterator:
        """The loader's batches, checked: finite inputs of one shape (recorded as input_shape)."""
        for batch in loader:
            x = batch_inputs(batch)
            if self.input_shape is None and len(x):
                self.input_shape = tuple(x.shape[1:])
            self._check_input(x, "fit")
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
