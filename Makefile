# ood_ext developer commands. On a fresh machine `make test` and `make run` set everything up
# themselves (Debian packages, a virtual environment, the build) before they run.
#
#   make run         the main job: OOD benchmark on the embedded default data → runs/report/
#   make test        pytest over python_tests/ and the C++ GoogleTest suite (ctest)
#   make cuda-check  build against torch 2.14.1+cu130 with nvcc, import, list the CUDA kernels
#   make bench       op, ROSE, MSMA, AnoDLSGAN, VMDLS, distributed and peer benchmarks → benchmarks/results/*.json
#   make build       incremental in-place build for development (python setup.py build_ext)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CUDA_VENV := .venv-cuda
BIN := $(VENV)/bin
TORCH_CPU := torch==2.13.0
TORCH_CUDA := torch==2.14.1
APT_PACKAGES := libgtest-dev dataset-fashion-mnist cmake
CMAKE_BUILD := build/cmake

.PHONY: run test cuda-check bench build deps install pytest ctest clean

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get install -y -q $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The package with build isolation (pyproject pins the build torch), then the test tools.
install: deps $(BIN)/python
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q --no-deps animal-mnist==0.4
	$(BIN)/pip install -q ".[test]"

pytest: install
	cd python_tests && ../$(BIN)/python -m pytest -q

ctest: install
	PATH="$(abspath $(BIN)):$$PATH" cmake -S . -B $(CMAKE_BUILD) -G Ninja \
	  -DCMAKE_PREFIX_PATH="$$($(BIN)/python -c 'import torch; print(torch.utils.cmake_prefix_path)')" >/dev/null
	PATH="$(abspath $(BIN)):$$PATH" cmake --build $(CMAKE_BUILD)
	ctest --test-dir $(CMAKE_BUILD) --output-on-failure

test: pytest ctest

run: install
	$(BIN)/ood-ext benchmark --out runs/report

bench: install
	$(BIN)/python benchmarks/run_benchmarks.py
	$(BIN)/python benchmarks/bench_rose.py
	$(BIN)/python benchmarks/bench_msma.py
	$(BIN)/python benchmarks/bench_dlsgan.py
	$(BIN)/python benchmarks/bench_vmdls.py
	$(BIN)/python benchmarks/bench_distributed.py
	$(BIN)/python benchmarks/bench_peers.py  # kronfluence / pytorch-ood parts run when those are installed

build: deps $(BIN)/python
	$(BIN)/pip install -q $(TORCH_CPU) numpy ninja setuptools wheel
	$(BIN)/python setup.py build_ext --inplace

# Compile-and-link check of the CUDA kernels (nothing can run on a GPU here): build a copy of the
# tree against the CUDA torch, require a CUDA kernel for every op, and run the op tests on the
# CPU kernels of that build.
cuda-check: deps
	test -x $(CUDA_VENV)/bin/python || $(PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/pip install -q $(TORCH_CUDA) numpy ninja setuptools wheel scipy scikit-learn pytest hypothesis \
	  tqdm matplotlib pillow scikit-image
	tmp=$$(mktemp -d) && git ls-files -z | xargs -0 cp --parents -t $$tmp && \
	cd $$tmp && CUDA_HOME=/usr/local/cuda TORCH_CUDA_ARCH_LIST=9.0 OOD_EXT_CUDA=1 \
	  $(abspath $(CUDA_VENV))/bin/python setup.py -q build_ext --inplace && \
	PYTHONPATH=$$tmp $(abspath $(CUDA_VENV))/bin/python -c "import torch, ood_ext; \
	ops = sorted(n for n in torch._C._dispatch_get_all_op_names() if n.startswith('ood_ext::') and \
	             n != 'ood_ext::parallel_threads_used'); \
	missing = [n for n in ops if not torch._C._dispatch_has_kernel_for_dispatch_key(n, 'CUDA')]; \
	assert ops and not missing, f'no CUDA kernel for {missing}'; \
	print('CUDA build OK against torch', torch.__version__, '- CUDA kernels registered for:', ', '.join(ops))" && \
	PYTHONPATH=$$tmp $(abspath $(CUDA_VENV))/bin/python -m pytest -q -p no:cacheprovider -m ops python_tests

clean:
	rm -rf build $(CMAKE_BUILD) ood_ext/_C*.so ood_ext/_build_info.py
