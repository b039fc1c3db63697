#!/usr/bin/env bash
# `make cuda-check`: one build for every torch >= 2.13, and the CUDA kernels compile and link.
# Run from the repository root with a venv holding torch 2.14.1+cu130 at $CUDA_VENV and the
# project's own venv (torch 2.13.0 CPU) at $VENV. Nothing here can run on a GPU.
#   1. `pip wheel .` once (build isolation: torch 2.13.0 CPU), install that wheel without
#      rebuilding into the torch 2.14.1 venv and run the op tests there;
#   2. `pip install .` into the torch 2.14.1 venv leaves its torch at 2.14.1;
#   3. build against torch 2.14.1+cu130 with nvcc, require a CUDA kernel for every op, and run the
#      op tests on the CPU kernels of that build.
set -euo pipefail
: "${VENV:?}" "${CUDA_VENV:?}"
venv=$(realpath "$VENV")
cuda_python=$(realpath "$CUDA_VENV")/bin/python
tree=$(mktemp -d)
trap 'rm -rf "$tree"; "$cuda_python" -m pip uninstall -q -y ood_ext >/dev/null 2>&1 || true' EXIT
git ls-files -z | xargs -0 cp --parents -t "$tree"
torch_version() { "$cuda_python" -c 'import torch; print(torch.__version__)'; }
before=$(torch_version)

echo "== 1. one wheel, built against torch 2.13.0 CPU, tested under torch $before"
"$venv/bin/pip" wheel -q --no-deps -w "$tree/wheel" "$tree"
wheel=$(ls "$tree"/wheel/ood_ext-*-cp310-abi3-*.whl)
"$cuda_python" -m pip install -q --no-deps --force-reinstall "$wheel"
(cd "$tree/python_tests" && "$cuda_python" -m pytest -q -p no:cacheprovider -m ops .)
"$cuda_python" -m pip uninstall -q -y ood_ext

echo "== 2. pip install . keeps the environment's torch"
"$cuda_python" -m pip install -q "$tree"
after=$(torch_version)
[ "$after" = "$before" ] || { echo "pip install . replaced torch $before by $after"; exit 1; }
echo "torch still $after"
"$cuda_python" -m pip uninstall -q -y ood_ext

echo "== 3. the CUDA build against torch $before"
cd "$tree"  # so that `import ood_ext` finds this build, not the checkout's
rm -rf build
CUDA_HOME=/usr/local/cuda TORCH_CUDA_ARCH_LIST=9.0 OOD_EXT_CUDA=1 "$cuda_python" setup.py -q build_ext --inplace
PYTHONPATH="$tree" "$cuda_python" -c "
import torch, ood_ext
ops = sorted(n for n in torch._C._dispatch_get_all_op_names()
             if n.startswith('ood_ext::') and n != 'ood_ext::parallel_threads_used')
missing = [n for n in ops if not torch._C._dispatch_has_kernel_for_dispatch_key(n, 'CUDA')]
assert ops and not missing, f'no CUDA kernel for {missing}'
print('CUDA build OK against torch', torch.__version__, '- CUDA kernels registered for:', ', '.join(ops))"
PYTHONPATH="$tree" "$cuda_python" -m pytest -q -p no:cacheprovider -m ops python_tests
