"""Saving and restoring models and training state. Files are written through ood_ext.files;
what is read back is validated before it is used or printed (its structure bounded in depth and
size, then types, keys, shapes and values), so a file holding something else (another object,
other shapes, NaN weights, a crafted nest of shared containers) gives one ValueError naming the
file and what is wrong."""

from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ..files import save_torch
from ..loaded import check_flat_record, check_structure, summary


def _reason(exc: Exception) -> str:
    """Why torch.load refused a file, in one line and without torch's advice to load it unsafely."""
    text = str(exc).strip()
    if "Weights only load failed" in text or "weights_only" in text:  # torch's refusal, with its advice
        return "it holds objects other than tensors and plain containers"
    return (text.splitlines() or [type(exc).__name__])[0]


def load(path: Path, map_location="cpu") -> Any:
    """torch.load of a file this library wrote (tensors and plain containers only, of bounded
    depth and size: loaded.check_structure)."""
    try:
        saved = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign files
        raise ValueError(f"{path}: not a checkpoint ood_ext wrote ({_reason(exc)})") from exc
    check_structure(saved, f"{path}: not a checkpoint ood_ext wrote: its content")
    return saved


def require_keys(path: Path, saved: Any, keys: Iterable[str], what: str) -> dict:
    """`saved` itself if it is a dict holding `keys`; ValueError otherwise."""
    keys = list(keys)
    if not isinstance(saved, dict) or not set(keys) <= set(saved):
        found = sorted(map(str, saved))[:12] if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{path}: not an ood_ext {what} (expected the entries {keys}, found {found})")
    return saved


def load_state(path: Path, target: Any, state: Any, name: str) -> None:
    """target.load_state_dict(state) (a module, optimiser or scheduler); a state that does not fit
    raises ValueError naming the file, and a module's restored weights must be finite."""
    if not isinstance(state, dict):
        raise ValueError(f"{path}: the saved {name} is a {type(state).__name__}, not a state dict")
    if isinstance(target, nn.Module):
        mismatch = state_mismatch(target.state_dict(), state)
        if mismatch:
            raise ValueError(f"{path}: the saved {name} does not fit {type(target).__name__} ({mismatch})")
    try:
        target.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: the saved {name} does not fit {type(target).__name__} ({reason})") from exc
    if isinstance(target, nn.Module):
        bad = [k for k, t in target.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:
            raise ValueError(f"{path}: the saved {name} has NaN or infinite values in {', '.join(bad[:3])}")


def state_mismatch(expected: dict, state: dict, show: int = 3) -> str:
    """The keys of a module's state dict `state` that do not fit `expected` (missing, unexpected,
    not a tensor of the expected shape), the first `show` of each; '' when all fit."""
    def listed(keys: list) -> str:
        return ", ".join(keys[:show]) + (f" and {len(keys) - show} more" if len(keys) > show else "")

    missing = [k for k in expected if k not in state]
    unexpected = [k[:60] if isinstance(k, str) else summary(k, 60) for k in state if k not in expected]
    shapes = [f"{k} {summary(state[k], 60)} (expected {list(expected[k].shape)})" for k in expected
              if k in state and (not torch.is_tensor(state[k]) or state[k].shape != expected[k].shape)]
    parts = [f"missing {listed(missing)}" if missing else "", f"unexpected {listed(unexpected)}" if unexpected else "",
             f"wrong {listed(shapes)}" if shapes else ""]
    return "; ".join(p for p in parts if p)


def save_model(model: nn.Module, path: Path, **meta: Any) -> None:
    """Weights, the constructor config (model.config) and metadata."""
    save_torch({"config": getattr(model, "config", {}), "state": model.state_dict(), "meta": meta}, path)


def load_model(model: nn.Module, path: Path) -> dict:
    """Load weights saved by save_model into `model` (its config must match); returns the metadata."""
    saved = require_keys(path, load(path), ("config", "state", "meta"), "model file")
    config = getattr(model, "config", {})
    check_flat_record(saved["config"], f"{path}: the saved model's config")
    meta = check_flat_record(saved["meta"], f"{path}: the saved model's metadata")
    if saved["config"] != config:
        raise ValueError(f"{path}: saved for {type(model).__name__} {summary(saved['config'], 300)}, not "
                         f"{summary(config, 300)}")
    load_state(path, model, saved["state"], "model")
    return meta
