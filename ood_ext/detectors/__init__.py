"""OOD detectors: one API (base.Detector), higher score = more OOD for all of them."""

from .base import Detector, NotFittedError, eval_mode
from .classifier import MSP, ODIN, Energy, Mahalanobis, ReAct
from .generative import NLL, InputComplexity, IWAELikelihood, LikelihoodRatio, LikelihoodRegret
from .hscae import HSCAE, OrEnsemble
from .latent import LatentLikelihood, ReconstructionError
from .msma import MSMA, RotNCSN
from .rose import ROSE
from .vmdls import VMDLS, VMDLSBasic

__all__ = ["Detector", "Energy", "HSCAE", "IWAELikelihood", "InputComplexity", "LatentLikelihood", "LikelihoodRatio",
           "LikelihoodRegret", "MSMA", "MSP", "Mahalanobis", "NLL", "NotFittedError", "ODIN", "OrEnsemble", "ROSE",
           "ReAct", "ReconstructionError", "RotNCSN", "VMDLS", "VMDLSBasic", "eval_mode"]
