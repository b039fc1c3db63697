"""ood_ext: out-of-distribution detection for PyTorch, on fused C++/CUDA operators."""

from . import _extension

_extension.load()

from . import ops  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ops"]
