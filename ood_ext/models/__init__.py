"""The networks of the methods and the baselines, and the interfaces detectors need of a model."""

from .classifier import ResNetClassifier
from .glow import Glow
from .interfaces import Classifier, LatentVariableModel, LikelihoodModel, ScoreNetwork, require
from .ncsn import NCSN
from .vae import ConvVAE

__all__ = ["Classifier", "ConvVAE", "Glow", "LatentVariableModel", "LikelihoodModel", "NCSN", "ResNetClassifier",
           "ScoreNetwork", "require"]
