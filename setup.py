"""Builds ood_ext and its operator library ood_ext._C.

CPU kernels are always built. CUDA kernels are built when the build-time torch has CUDA and a
CUDA toolkit is found (no GPU needed); OOD_EXT_CUDA=0 forces a CPU-only build, OOD_EXT_CUDA=1
makes a missing toolkit an error.

The op glue uses only the LibTorch stable ABI (torch/csrc/stable, torch/headeronly) targeting
torch 2.13, and Python's limited API: one build runs under every torch >= 2.13, so the build torch
is the minimum supported one (recorded in ood_ext/_build_info.py and required at install).
"""

import glob
import os
from pathlib import Path

import torch
from setuptools import setup
from torch.utils import cpp_extension

ROOT = Path(__file__).parent
MIN_TORCH = "2.13"  # the stable ABI version targeted below
TORCH_TARGET_VERSION = "0x020d000000000000"  # 2.13: (2 << 56) | (13 << 48)
PY_LIMITED_API = "cp310"  # the oldest Python the package supports (pyproject's requires-python)


def cuda_requested() -> bool:
    flag = os.environ.get("OOD_EXT_CUDA", "auto")
    if flag not in ("auto", "0", "1"):
        raise SystemExit(f"OOD_EXT_CUDA must be 0, 1 or unset, got {flag!r}")
    available = torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None
    if flag == "1" and not available:
        raise SystemExit(
            f"OOD_EXT_CUDA=1 but CUDA cannot be built: torch {torch.__version__} "
            f"(CUDA {torch.version.cuda}), CUDA_HOME={cpp_extension.CUDA_HOME}"
        )
    return available and flag != "0"


def sources(with_cuda: bool) -> list[str]:
    found = ["csrc/ood_ext.cpp", "csrc/parallel_check.cpp", "csrc/python_module.cpp"]
    found += sorted(glob.glob("csrc/common/*.cpp"))
    for path in sorted(glob.glob("csrc/ops/*/*.cpp") + glob.glob("csrc/ops/*/*.cu")):
        is_cuda = path.endswith(".cu") or path.endswith("_cuda.cpp")
        if with_cuda or not is_cuda:
            found.append(path)
    return found


def write_build_info(with_cuda: bool) -> None:
    (ROOT / "ood_ext" / "_build_info.py").write_text(
        '"""Written by setup.py: how this build of ood_ext._C was made. It runs under any torch >= MIN_TORCH."""\n\n'
        f"BUILT_WITH_TORCH = {torch.__version__!r}\n"
        f"MIN_TORCH = {MIN_TORCH!r}\n"
        f"WITH_CUDA = {with_cuda!r}\n"
    )


def extension(with_cuda: bool):
    # Threads come from torch's own pool (torch::stable::parallel_for); OpenMP here only
    # vectorises (`omp simd`), so no OpenMP runtime is linked.
    stable = [f"-DTORCH_TARGET_VERSION={TORCH_TARGET_VERSION}"]
    # Hidden visibility, as the stable headers' own namespaces: only PyInit__C is exported.
    cxx = ["-O3", "-g0", "-fopenmp-simd", "-DOOD_EXT_OMP_SIMD", "-fvisibility=hidden", "-std=c++20",
           "-ffp-contract=off"] + stable
    kwargs = dict(
        name="ood_ext._C",
        sources=sources(with_cuda),
        include_dirs=[str(ROOT / "csrc")],
        extra_compile_args={"cxx": cxx},
        py_limited_api=True,
    )
    if with_cuda:
        kwargs["extra_compile_args"]["cxx"].append("-DUSE_CUDA")  # declares the stable CUDA shims
        kwargs["extra_compile_args"]["nvcc"] = ["-O3", "-std=c++20", "-lineinfo"] + stable
        return cpp_extension.CUDAExtension(**kwargs)
    return cpp_extension.CppExtension(**kwargs)


WITH_CUDA = cuda_requested()
write_build_info(WITH_CUDA)

setup(
    ext_modules=[extension(WITH_CUDA)],
    options={"bdist_wheel": {"py_limited_api": PY_LIMITED_API}},
    cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)},
    install_requires=[
        f"torch>={MIN_TORCH}",
        "numpy",
        "scikit-learn",
        "scipy",
        "tqdm",
        "matplotlib",
        "pillow",
        "scikit-image",
    ],
)
