"""Loads the compiled operator library ood_ext._C and checks it matches the running torch."""

import torch


def load() -> None:
    """Import ood_ext._C (registering torch.ops.ood_ext.*) or raise ImportError saying why."""
    try:
        from . import _build_info
    except ImportError as exc:
        raise ImportError(
            "ood_ext's compiled extension is not built: install the package with `pip install .` "
            "or build it in place with `python setup.py build_ext --inplace`"
        ) from exc
    if torch.__version__ != _build_info.TORCH_VERSION:
        raise ImportError(
            f"ood_ext._C was built against torch {_build_info.TORCH_VERSION} but torch "
            f"{torch.__version__} is installed; rebuild ood_ext against the installed torch "
            "(`pip install --no-build-isolation .`) or install the torch it was built with"
        )
    from . import _C  # noqa: F401  (import registers the operators)


def has_cuda_kernels() -> bool:
    """True when this build registered CUDA kernels for the ood_ext operators."""
    return torch._C._dispatch_has_kernel_for_dispatch_key("ood_ext::gaussian_log_prob", "CUDA")
