"""The networks of the methods and the baselines, and the interfaces detectors need of a model."""

from .classifier import ResNetClassifier
from .dlsgan import DLSGAN, Autoencoder
from .glow import Glow
from .hscae import SelfConditionedAutoencoder
from .interfaces import (
                         Classifier,
                         LatentEncoder,
                         LatentVariableModel,
                         LikelihoodModel,
                         Reconstructor,
                         ScoreNetwork,
                         require,
)
from .ncsn import NCSN
from .vae import ConvVAE
from .vmdls import VMDLSNet

__all__ = ["Autoencoder", "Classifier", "ConvVAE", "DLSGAN", "Glow", "LatentEncoder", "LatentVariableModel",
           "LikelihoodModel", "NCSN", "Reconstructor", "ResNetClassifier", "ScoreNetwork",
           "SelfConditionedAutoencoder", "VMDLSNet", "require"]
