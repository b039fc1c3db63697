"""Python face of the fused operators in torch.ops.ood_ext (see each function for shapes)."""

from .gaussian import MaxResult, diag_gaussian_log_prob, gaussian_log_prob, precision_cholesky

__all__ = ["MaxResult", "diag_gaussian_log_prob", "gaussian_log_prob", "precision_cholesky"]
