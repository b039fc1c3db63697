"""ood_ext: out-of-distribution detection for PyTorch, on fused C++/CUDA operators.

`import ood_ext` loads the operator library and `ood_ext.ops`; the other subpackages (data,
detectors, methods, metrics, models, training, eval, reproduce) and `ood_ext.Conformal` load on
first use.
"""

import importlib

from . import _extension

_extension.load()

from . import ops  # noqa: E402

__version__ = "0.1.0"
_LAZY = ("conformal", "data", "detectors", "eval", "methods", "metrics", "models", "reproduce", "training")
__all__ = ["Conformal", "ops", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name == "Conformal":
        return importlib.import_module(".conformal", __name__).Conformal
    raise AttributeError(f"module 'ood_ext' has no attribute {name!r}")
