"""Saving and restoring models and training state. Files are written through ood_ext.files;
what is read back is validated, so a file holding something else (another object, other
shapes, NaN weights) gives one ValueError naming the file and what is wrong."""

from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ..files import save_torch


def load(path: Path, map_location="cpu") -> Any:
    """torch.load of a file this library wrote (tensors and plain containers only)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign files
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{path}: not a readable ood_ext checkpoint ({reason})") from exc


def require_keys(path: Path, saved: Any, keys: Iterable[str], what: str) -> dict:
    """`saved` itself if it is a dict holding `keys`; ValueError otherwise."""
    keys = list(keys)
    if not isinstance(saved, dict) or not set(keys) <= set(saved):
        found = sorted(map(str, saved)) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{path}: not an ood_ext {what} (expected the entries {keys}, found {found})")
    return saved


def load_state(path: Path, target: Any, state: Any, name: str) -> None:
    """target.load_state_dict(state) (a module, optimiser or scheduler); a state that does not fit
    raises ValueError naming the file, and a module's restored weights must be finite."""
    if not isinstance(state, dict):
        raise ValueError(f"{path}: the saved {name} is a {type(state).__name__}, not a state dict")
    try:
        target.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: the saved {name} does not fit {type(target).__name__} ({reason})") from exc
    if isinstance(target, nn.Module):
        bad = [k for k, t in target.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:
            raise ValueError(f"{path}: the saved {name} has NaN or infinite values in {', '.join(bad[:3])}")


def save_model(model: nn.Module, path: Path, **meta: Any) -> None:
    """Weights, the constructor config (model.config) and metadata."""
    save_torch({"config": getattr(model, "config", {}), "state": model.state_dict(), "meta": meta}, path)


def load_model(model: nn.Module, path: Path) -> dict:
    """Load weights saved by save_model into `model` (its config must match); returns the metadata."""
    saved = require_keys(path, load(path), ("config", "state", "meta"), "model file")
    config = getattr(model, "config", {})
    if saved["config"] != config:
        raise ValueError(f"{path}: saved for {type(model).__name__}{saved['config']}, not {config}")
    load_state(path, model, saved["state"], "model")
    return saved["meta"]
