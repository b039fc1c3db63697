"""ood_ext: out-of-distribution detection for PyTorch, on fused C++/CUDA operators."""

from . import _extension

_extension.load()

from . import data, detectors, metrics, models, ops, training  # noqa: E402

__version__ = "0.1.0"
__all__ = ["data", "detectors", "metrics", "models", "ops", "training"]
