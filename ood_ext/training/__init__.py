"""Training loops (seeded, resumable, device-agnostic) and profiles."""

from .checkpoint import atomic_save, load, load_model, save_model
from .classifier import accuracy, train_classifier
from .glow import train_glow
from .ncsn import denoising_loss, train_ncsn
from .profiles import PROFILES, Profile, get_profile
from .trainer import Trainer, seed_everything
from .vae import perturb, train_vae

__all__ = ["PROFILES", "denoising_loss", "train_ncsn", "Profile", "Trainer", "accuracy", "atomic_save", "get_profile", "load", "load_model",
           "perturb", "save_model", "seed_everything", "train_classifier", "train_glow", "train_vae"]
