"""Builds ood_ext and its operator library ood_ext._C.

CPU kernels are always built. CUDA kernels are built when the build-time torch has CUDA and a
CUDA toolkit is found (no GPU needed); OOD_EXT_CUDA=0 forces a CPU-only build, OOD_EXT_CUDA=1
makes a missing toolkit an error. The torch version built against is recorded in
ood_ext/_build_info.py and pinned in the package's requirements.
"""

import glob
import os
from pathlib import Path

import torch
from setuptools import setup
from torch.utils import cpp_extension

ROOT = Path(__file__).parent
TORCH_RELEASE = torch.__version__.split("+")[0]


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
        '"""Written by setup.py: the torch this build of ood_ext._C was compiled against."""\n\n'
        f"TORCH_VERSION = {torch.__version__!r}\n"
        f"WITH_CUDA = {with_cuda!r}\n"
    )


def extension(with_cuda: bool):
    cxx = ["-O3", "-g0", "-fopenmp", "-std=c++20", "-ffp-contract=off"]
    kwargs = dict(
        name="ood_ext._C",
        sources=sources(with_cuda),
        include_dirs=[str(ROOT / "csrc")],
        extra_compile_args={"cxx": cxx + (["-DOOD_EXT_WITH_CUDA"] if with_cuda else [])},
        extra_link_args=["-fopenmp"],
    )
    if with_cuda:
        kwargs["extra_compile_args"]["nvcc"] = ["-O3", "-std=c++20", "-lineinfo"]
        return cpp_extension.CUDAExtension(**kwargs)
    return cpp_extension.CppExtension(**kwargs)


WITH_CUDA = cuda_requested()
write_build_info(WITH_CUDA)

setup(
    ext_modules=[extension(WITH_CUDA)],
    cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)},
    install_requires=[
        f"torch=={TORCH_RELEASE}",
        "numpy",
        "scikit-learn",
        "scipy",
        "tqdm",
        "matplotlib",
        "pillow",
        "scikit-image",
    ],
)
