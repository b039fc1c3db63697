"""The networks of the five methods and the baselines."""

from .classifier import ResNetClassifier
from .glow import Glow
from .ncsn import NCSN
from .vae import ConvVAE

__all__ = ["ConvVAE", "Glow", "NCSN", "ResNetClassifier"]
