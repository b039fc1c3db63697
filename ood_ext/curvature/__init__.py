"""Fisher machinery for ROSE: per-sample capture (hooks), KFAC / EKFAC / DIAG curvature."""

from .capture import LayerTerms, check_supported, per_sample_gradients, per_sample_terms
from .fisher import KINDS, LayerCurvature, fit_curvature

__all__ = ["KINDS", "LayerCurvature", "LayerTerms", "check_supported", "fit_curvature", "per_sample_gradients",
           "per_sample_terms"]
