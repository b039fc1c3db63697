"""The compiled library: registration, OpenMP, and the torch-version guard."""

import pytest
import torch

from ood_ext import _build_info, _extension

OPS = ["gaussian_log_prob", "gaussian_log_prob_backward", "diag_gaussian_log_prob", "diag_gaussian_log_prob_backward",
       "curvature_quadratic_form", "curvature_eigen_correction", "multiscale_score_norms"]


@pytest.mark.parametrize("op", OPS)
def test_cpu_kernels_registered(op):
    assert torch._C._dispatch_has_kernel_for_dispatch_key(f"ood_ext::{op}", "CPU")
    if _build_info.WITH_CUDA:
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"ood_ext::{op}", "CUDA")


def test_parallel_for_uses_every_thread():
    threads = torch.get_num_threads()
    assert torch.ops.ood_ext.parallel_threads_used() == min(threads, 64)
    torch.set_num_threads(1)
    try:
        assert torch.ops.ood_ext.parallel_threads_used() == 1
    finally:
        torch.set_num_threads(threads)


def test_built_against_the_running_torch():
    assert _build_info.TORCH_VERSION == torch.__version__


def test_torch_mismatch_names_both_versions(monkeypatch):
    monkeypatch.setattr(_build_info, "TORCH_VERSION", "1.0.0+fake")
    with pytest.raises(ImportError, match=r"built against torch 1\.0\.0\+fake but torch .* is installed"):
        _extension.load()
