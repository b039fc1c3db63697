"""Training loops: seeded, resumable, device-agnostic; each trainer with its settings type."""

from .checkpoint import load, load_model, save_model
from .classifier import ClassifierSettings, accuracy, train_classifier
from .dlsgan import AutoencoderSettings, DLSGANSettings, inversion_figures, train_autoencoder, train_dlsgan
from .glow import GlowSettings, train_glow
from .hscae import HSCAESettings, train_hscae
from .ncsn import NCSNSettings, denoising_loss, dsm_loss_per_level, train_ncsn
from .trainer import Trainer, seed_everything
from .vae import VAESettings, perturb, train_vae
from .vmdls import VMDLSSettings, train_vmdls

__all__ = ["AutoencoderSettings", "ClassifierSettings", "DLSGANSettings", "GlowSettings", "HSCAESettings",
           "NCSNSettings", "Trainer", "VAESettings", "VMDLSSettings", "accuracy", "denoising_loss",
           "dsm_loss_per_level", "inversion_figures", "load", "load_model", "perturb", "save_model",
           "seed_everything", "train_autoencoder", "train_classifier", "train_dlsgan", "train_glow", "train_hscae",
           "train_ncsn", "train_vae", "train_vmdls"]
