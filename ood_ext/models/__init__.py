"""The networks of the methods and the baselines, the interfaces detectors need of a model, and
`adapt`, which gives a user's own classifier those interfaces (and `PaddedReconstructor`, a
fixed-size reconstructor on smaller images)."""

from .adapt import AdaptedClassifier, PaddedReconstructor, adapt
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

__all__ = ["AdaptedClassifier", "Autoencoder", "Classifier", "ConvVAE", "DLSGAN", "Glow", "LatentEncoder",
           "LatentVariableModel", "LikelihoodModel", "NCSN", "PaddedReconstructor", "Reconstructor", "ResNetClassifier",
           "ScoreNetwork", "SelfConditionedAutoencoder", "VMDLSNet", "adapt", "require"]
