# ood_ext developer commands. On a fresh machine `make test` and `make run` set everything up
# themselves (Debian packages, a virtual environment, the build) before they run.
#
#   make run         the main job: OOD benchmark on the embedded default data → runs/report/
#   make test        pytest over python_tests/ and the C++ GoogleTest suite (ctest)
#   make cuda-check  one wheel for torch 2.13.0 and 2.14.1; the CUDA build against torch 2.14.1+cu130
#   make bench       op, ROSE, MSMA, AnoDLSGAN, VMDLS, distributed and peer benchmarks → benchmarks/results/*.json
#   make build       incremental in-place build for development (python setup.py build_ext)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CUDA_VENV := .venv-cuda
BIN := $(VENV)/bin
TORCH_CPU := torch==2.13.0
TORCH_CUDA := torch==2.14.1
APT_PACKAGES := libgtest-dev dataset-fashion-mnist cmake fonts-dejavu-core
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

# The package with build isolation (pyproject pins the build torch), then the test tools; done
# again only when a source file changed since (the stamp file), so a second `make run` starts at once.
SOURCES := setup.py pyproject.toml $(shell git ls-files csrc ood_ext 2>/dev/null)
INSTALLED := $(VENV)/.installed

install: deps $(INSTALLED)

# animal-mnist is installed last and without its dependencies (only its data are used; it declares
# tensorflow and pandas): pip checks declared dependencies on every other install and would print
# a resolver ERROR for them, so it is taken out first when the package is reinstalled.
$(INSTALLED): $(BIN)/python $(SOURCES)
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip uninstall -q -y animal-mnist 2>/dev/null || true
	$(BIN)/pip install -q ".[test]"
	$(BIN)/pip install -q --no-deps animal-mnist==0.4
	touch $@

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

# One build for every torch >= 2.13 (a wheel built against torch 2.13.0 CPU, tested under torch
# 2.14.1+cu130; `pip install .` keeps that torch), and the CUDA kernels compile and link against
# torch 2.14.1+cu130 (nothing can run on a GPU here): .ci/cuda_check.sh.
cuda-check: install
	test -x $(CUDA_VENV)/bin/python || $(PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/pip install -q $(TORCH_CUDA) numpy ninja setuptools wheel scipy scikit-learn pytest pytest-timeout hypothesis \
	  tqdm matplotlib pillow scikit-image
	VENV=$(VENV) CUDA_VENV=$(CUDA_VENV) .ci/cuda_check.sh

clean:
	rm -rf build $(CMAKE_BUILD) ood_ext/_C*.so ood_ext/_build_info.py
