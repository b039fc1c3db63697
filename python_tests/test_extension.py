"""The compiled library: registration, threads, ISA dispatch, the stable ABI and the torch-version guard."""

import os
import subprocess
import sys

import pytest
import torch

from ood_ext import _build_info, _extension

pytestmark = pytest.mark.ops  # the compiled operators (make cuda-check runs these again)

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


def test_runs_under_torch_at_least_its_minimum():
    assert _extension.release(torch.__version__) >= _extension.release(_build_info.MIN_TORCH) == (2, 13)
    assert _extension.release(_build_info.BUILT_WITH_TORCH) >= (2, 13)


def test_older_torch_is_refused_with_both_versions(monkeypatch):
    monkeypatch.setattr(_build_info, "MIN_TORCH", "99.1")
    with pytest.raises(ImportError, match=r"needs torch >= 99\.1 .* but torch .* is installed"):
        _extension.load()


def test_library_uses_only_the_stable_abi():
    """ood_ext._C is tagged for Python's limited API and, from torch, needs only the C symbols
    of the stable ABI: no C++ symbol of c10, ATen or torch, and not libtorch_python."""
    library = _extension.library_path()
    assert library.name == "_C.abi3.so"
    undefined = subprocess.run(["nm", "-D", "-C", "--undefined-only", str(library)], capture_output=True,
                               text=True, check=True).stdout.split("\n")
    assert any("aoti_torch_" in line for line in undefined)
    cpp_torch = [line for line in undefined if any(ns in line for ns in ("c10::", "at::", "torch::", "caffe2::"))]
    assert not cpp_torch
    needed = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
    assert "libtorch_python" not in needed


def test_baseline_and_avx2_kernels_agree_bit_for_bit(tmp_path):
    """The CPU kernels run an AVX2 copy when the CPU has it; forcing the baseline copy
    (OOD_EXT_DISABLE_AVX2=1) must give the very same bits (built with -ffp-contract=off)."""
    script = tmp_path / "ops.py"
    script.write_text(
        "import sys, torch, ood_ext\n"
        "from ood_ext import ops\n"
        "g = torch.Generator().manual_seed(0)\n"
        "x, mean = torch.randn(300, 70, generator=g), torch.randn(5, 70, generator=g)\n"
        "u = ops.precision_cholesky(torch.eye(70).expand(5, 70, 70) * 2.0)\n"
        "a, gr = torch.randn(20, 3, 11, generator=g), torch.randn(20, 3, 9, generator=g)\n"
        "s = torch.randn(4, 30, 1, 9, 9, generator=g)\n"
        "torch.save([ops.gaussian_log_prob(x, mean, u, reduce='logsumexp'),\n"
        "            ops.diag_gaussian_log_prob(x, mean, torch.ones(5, 70)),\n"
        "            ops.curvature_quadratic_form(a, gr, torch.ones(9, 11)),\n"
        "            ops.curvature_quadratic_form(a, gr, torch.ones(9, 11), strategy='chunked'),\n"
        "            ops.curvature_eigen_correction(a, gr, strategy='chunked'),\n"
        "            ops.multiscale_score_norms(s, torch.ones(4))], sys.argv[1])\n"
    )
    outputs = []
    for disable in ("0", "1"):
        path = tmp_path / f"out{disable}.pt"
        env = dict(os.environ, OOD_EXT_DISABLE_AVX2=disable)
        subprocess.run([sys.executable, str(script), str(path)], env=env, check=True)
        outputs.append(torch.load(path))
    for fast, base in zip(*outputs):
        assert torch.equal(fast, base)
