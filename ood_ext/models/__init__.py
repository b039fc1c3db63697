"""The networks of the five methods and the baselines."""

from .classifier import ResNetClassifier

__all__ = ["ResNetClassifier"]
