"""Saving and restoring models and training state, atomically."""

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file, then rename: a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: Path, map_location="cpu") -> Any:
    """torch.load of a file this library wrote (tensors and plain containers only)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign files
        raise ValueError(f"{path}: not a readable ood_ext checkpoint ({exc})") from exc


def save_model(model: nn.Module, path: Path, **meta: Any) -> None:
    """Weights, the constructor config (model.config) and metadata."""
    atomic_save({"config": getattr(model, "config", {}), "state": model.state_dict(), "meta": meta}, path)


def load_model(model: nn.Module, path: Path) -> dict:
    """Load weights saved by save_model into `model` (its config must match); returns the metadata."""
    saved = load(path)
    config = getattr(model, "config", {})
    if saved["config"] != config:
        raise ValueError(f"{path}: saved for {type(model).__name__}{saved['config']}, not {config}")
    model.load_state_dict(saved["state"])
    return saved["meta"]
