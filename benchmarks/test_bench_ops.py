"""pytest-benchmark suite: each op and its baseline in one group per case.

    pytest benchmarks/ --benchmark-only --benchmark-group-by=group
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import cases  # noqa: E402

CASES = {
    "gaussian_D64": (cases.gaussian, (64,), ["ood_ext", "torch_mvn_loop", "gemm_roofline"]),
    "gaussian_D256": (cases.gaussian, (256,), ["ood_ext", "torch_mvn_loop", "gemm_roofline"]),
    "gmm_vs_sklearn_D64": (cases.gaussian_vs_sklearn, (64,), ["ood_ext_float64", "ood_ext_float32",
                                                              "sklearn_score_samples"]),
    "diag_gaussian": (cases.diag_gaussian, (), ["ood_ext", "torch_normal"]),
    "curvature_linear": (cases.curvature, (64, 1, 257, 256), ["ood_ext", "materialised_einsum"]),
    "curvature_conv": (cases.curvature, (64, 196, 289, 64), ["ood_ext", "materialised_einsum"]),
    "score_norms": (cases.score_norms, (), ["ood_ext_weighted", "eager_weighted", "ood_ext_residual",
                                            "eager_residual"]),
}
PARAMS = [(group, name) for group, (_, _, names) in CASES.items() for name in names]
_built = {}


@pytest.mark.parametrize("group,name", PARAMS, ids=[f"{g}-{n}" for g, n in PARAMS])
def test_op(benchmark, group, name):
    if group not in _built:
        make, args, _ = CASES[group]
        _built[group] = make(*args)
    benchmark.group = group
    benchmark(_built[group][name])
