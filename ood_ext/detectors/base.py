"""The one API every OOD detector shares.

    det = SomeDetector(model, ...).fit(id_train_loader)   # returns self
    s = det.score(x)                                       # Tensor [N], higher = more OOD
    s = det.score_loader(loader)                           # batched, on the model's device
    det2.load_state_dict(det.state_dict())                 # exact round trip

Subclasses implement `_fit(loader)` and `_score(x)` and list their fitted tensors in
`fitted_attributes` and their hyperparameters in `config()`. The base class handles devices,
model eval mode (restored afterwards), gradient hygiene and (de)serialisation.
"""

import contextlib
from typing import Iterable, Iterator, Optional

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

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
        with eval_mode(self.model):
            self._fit(self._progress(loader, f"fit {type(self).__name__}"))
        self.fitted = True
        return self

    def score(self, x: Tensor) -> Tensor:
        """OOD scores [N] of inputs x (higher = more OOD), detached, on x's device."""
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.score called before fit / load_state_dict")
        with eval_mode(self.model), torch.set_grad_enabled(self.needs_input_grad):
            scores = self._score(x.to(self.device))
        return scores.detach().to(x.device)

    def score_loader(self, loader: Iterable) -> Tensor:
        """Scores of every batch of a loader, concatenated: [N] on the CPU."""
        return torch.cat([self.score(batch_inputs(b)).cpu() for b in self._progress(loader, "score")])

    def state_dict(self) -> dict:
        """Fitted tensors and hyperparameters; the model's weights are saved separately."""
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted: nothing to save")
        state = {name: map_tensors(getattr(self, name), lambda t: t.detach().cpu().clone())
                 for name in self.fitted_attributes}
        return {"type": type(self).__name__, "config": self.config(), "state": state}

    def load_state_dict(self, saved: dict) -> "Detector":
        """Restore a fitted state (tensors go to the model's device); returns self."""
        if saved.get("type") != type(self).__name__:
            raise ValueError(f"state is for {saved.get('type')}, not {type(self).__name__}")
        if saved["config"] != self.config():
            raise ValueError(f"state was fitted with {saved['config']}, this detector has {self.config()}")
        missing = set(self.fitted_attributes) - set(saved["state"])
        if missing:
            raise ValueError(f"state lacks {sorted(missing)}")
        device = self.device
        for name in self.fitted_attributes:
            setattr(self, name, map_tensors(saved["state"][name], lambda t: t.to(device)))
        self.fitted = True
        return self

    def to(self, device) -> "Detector":
        """Move the model and the fitted tensors to a device."""
        if self.model is not None:
            self.model.to(device)
        for name in self.fitted_attributes:
            if hasattr(self, name):
                setattr(self, name, map_tensors(getattr(self, name), lambda t: t.to(device)))
        return self

    def _progress(self, loader: Iterable, desc: str) -> Iterable:
        return tqdm(loader, desc=desc, leave=False, disable=not self.progress)
