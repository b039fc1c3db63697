"""Python face of the fused operators in torch.ops.ood_ext (see each function for shapes).

``reference`` holds the same maths in plain float64 PyTorch, for tests and benchmarks.
"""

from .curvature import curvature_eigen_correction, curvature_quadratic_form
from .gaussian import MaxResult, diag_gaussian_log_prob, gaussian_log_prob, precision_cholesky
from .score_norms import multiscale_score_norms

__all__ = [
    "MaxResult",
    "curvature_eigen_correction",
    "curvature_quadratic_form",
    "diag_gaussian_log_prob",
    "gaussian_log_prob",
    "multiscale_score_norms",
    "precision_cholesky",
]
