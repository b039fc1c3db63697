"""Loads the compiled operator library ood_ext._C and checks the running torch is new enough.

ood_ext._C uses only the LibTorch stable ABI, so one build runs under every torch from the
minimum it targets (``_build_info.MIN_TORCH``) on.
"""

from pathlib import Path

import torch


def release(version: str) -> tuple[int, int]:
    """(major, minor) of a torch version string such as '2.14.1+cu130' or '2.13'."""
    major, minor = version.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def load() -> None:
    """Import ood_ext._C (registering torch.ops.ood_ext.*) or raise ImportError saying why."""
    try:
        from . import _build_info
    except ImportError as exc:
        raise ImportError(
            "ood_ext's compiled extension is not built: install the package with `pip install .` "
            "or build it in place with `python setup.py build_ext --inplace`"
        ) from exc
    if release(torch.__version__) < release(_build_info.MIN_TORCH):
        raise ImportError(
            f"ood_ext._C needs torch >= {_build_info.MIN_TORCH} (the LibTorch stable ABI it targets) but torch "
            f"{torch.__version__} is installed; upgrade torch"
        )
    from . import _C  # noqa: F401  (import registers the operators)


def has_cuda_kernels() -> bool:
    """True when this build registered CUDA kernels for the ood_ext operators."""
    return torch._C._dispatch_has_kernel_for_dispatch_key("ood_ext::gaussian_log_prob", "CUDA")


def library_path() -> Path:
    """The file of the loaded operator library (ood_ext/_C.abi3.so)."""
    from . import _C

    return Path(_C.__file__)
