"""Fisher machinery for ROSE: per-sample capture (hooks), KFAC / EKFAC / DIAG curvature."""

from .capture import LayerTerms, check_supported, per_sample_gradients, per_sample_terms
from .fisher import FISHER_KINDS, KINDS, FisherKind, LayerCurvature, TermSums, fit_curvature

__all__ = ["FISHER_KINDS", "FisherKind", "KINDS", "LayerCurvature", "LayerTerms", "TermSums", "check_supported",
           "fit_curvature", "per_sample_gradients", "per_sample_terms"]
