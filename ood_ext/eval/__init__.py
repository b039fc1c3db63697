"""The benchmark: OOD-set catalogue, methods, model cache, scoring, report and figures."""

from .benchmark import BenchmarkConfig, BenchmarkError, run

__all__ = ["BenchmarkConfig", "BenchmarkError", "run"]
