"""The networks of the five methods and the baselines."""

from .classifier import ResNetClassifier
from .vae import ConvVAE

__all__ = ["ConvVAE", "ResNetClassifier"]
