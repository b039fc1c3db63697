"""ROSE and the likelihood baselines on deep generative models (docs/methods.md, "ROSE" and
"Likelihood baselines"): a ConvVAE with 256-way categorical pixels, its background twin for
Likelihood Ratio, and Glow."""

import math
from dataclasses import replace
from functools import partial

import torch
from torch import Tensor, nn

from ..data.images import to_tensor
from ..detectors import NLL, ROSE, InputComplexity, IWAELikelihood, LikelihoodRatio, LikelihoodRegret
from ..models import ConvVAE, Glow
from ..training import GlowSettings, VAESettings, train_glow, train_vae
from .registry import register
from .spec import Family, Method, MethodContext, ModelKind, PerProfile, TrainJob

padded = partial(to_tensor, pad_to=32)  # both papers' models take 32 × 32 inputs

VAE_SETTINGS = PerProfile(
    smoke=VAESettings(width=8, latent=16, epochs=1, batch_size=64, lr=1e-3, step=30, gamma=0.5, train_samples=600),
    quick=VAESettings(width=32, latent=100, epochs=3, batch_size=64, lr=1e-3, step=30, gamma=0.5, train_samples=3000),
    full=VAESettings(width=32, latent=100, epochs=100, batch_size=64, lr=1e-3, step=30, gamma=0.5, train_samples=None),
)
BACKGROUND_PERTURBATION = 0.3  # μ of Likelihood Ratio's background model (Fashion-MNIST)

IMAGES_PER_SET = PerProfile(smoke=100, quick=200, full=5000)
REGRET_IMAGES_PER_SET = PerProfile(smoke=20, quick=15, full=None)
IWAE_SAMPLES = PerProfile(smoke=2, quick=5, full=20)  # K of the IWAE log-likelihood
REGRET_STEPS = PerProfile(smoke=2, quick=5, full=100)  # Likelihood Regret's per-sample encoder steps
FISHER_SAMPLES = PerProfile(smoke=100, quick=1000, full=1000)  # ROSE: ID samples for the curvature ...
NORM_SAMPLES = PerProfile(smoke=100, quick=500, full=1000)  # ... and for the per-layer normalisation


def _train_vae(job: TrainJob) -> dict:
    data = job.train_subset(job.settings.train_samples)
    train_vae(job.model, job.inputs(data.images), job.settings, job.device, job.checkpoint, job.seed, job.progress)
    with torch.no_grad():
        x = job.inputs(job.test_subset(500).images).to(job.device)
        bits = job.model.neg_elbo(x, sample=False).mean().item() / (math.log(2) * x[0].numel())
    meta = {"test_neg_elbo_bits_per_dim": bits, "train_samples": len(data), "epochs": job.settings.epochs}
    return meta | ({"perturbation": job.settings.perturbation} if job.settings.perturbation else {})


def _train_glow(job: TrainJob) -> dict:
    data = job.train_subset(job.settings.train_samples)
    train_glow(job.model, job.inputs(data.images), job.settings, job.device, job.checkpoint, job.seed, job.progress)
    with torch.no_grad():
        bits = job.model.nll_bits(job.inputs(job.test_subset(500).images).to(job.device)).mean().item()
    return {"test_bits_per_dim": bits, "train_samples": len(data), "epochs": job.settings.epochs}


def _vae(train, s: VAESettings) -> nn.Module:
    return ConvVAE(train.images.shape[1], s.width, s.latent)


VAE = ModelKind("vae", _vae, _train_vae, VAE_SETTINGS, padded)
BACKGROUND_VAE = ModelKind("vae-background", _vae, _train_vae,
                           VAE_SETTINGS.map(lambda s: replace(s, perturbation=BACKGROUND_PERTURBATION)), padded,
                           seed_offset=7)
GLOW = ModelKind(
    "glow", lambda train, s: Glow(train.images.shape[1], 32, s.levels, s.steps, s.hidden), _train_glow,
    PerProfile(
        smoke=GlowSettings(levels=2, steps=2, hidden=16, train_samples=300, epochs=1, batch_size=32, lr=5e-4,
                           warmup_steps=5),
        quick=GlowSettings(levels=2, steps=8, hidden=64, train_samples=3000, epochs=2, batch_size=64, lr=5e-4,
                           warmup_steps=50),
        full=GlowSettings(levels=2, steps=16, hidden=200, train_samples=None, epochs=50, batch_size=64, lr=5e-4,
                          warmup_steps=1000)),
    padded)


def vae_loss(model: nn.Module, x: Tensor) -> Tensor:
    """ROSE's per-sample loss on the VAE: −ELBO with the decoder at the posterior mean."""
    return model.neg_elbo(x, sample=False)


def glow_loss(model: nn.Module, x: Tensor) -> Tensor:
    """ROSE's per-sample loss on Glow: NLL in bits per dimension (eval mode: bin centres)."""
    return model.nll_bits(x)


def _likelihood(ctx: MethodContext, kind: str = "vae") -> IWAELikelihood:
    """One memoised likelihood per model in an experiment: NLL, LR, LRatio and IC agree."""
    samples = ctx.option("iwae_samples", IWAE_SAMPLES)
    return ctx.memo(f"likelihood:{kind}", lambda: IWAELikelihood(ctx.model(kind), samples))


def _rose(**options):
    def make(ctx: MethodContext) -> ROSE:
        return ROSE(ctx.model("vae"), vae_loss, "encoder", fisher_samples=ctx.option("fisher_samples",
                                                                                     FISHER_SAMPLES),
                    norm_samples=ctx.option("norm_samples", NORM_SAMPLES), **options)

    return make


def _rose_glow(ctx: MethodContext) -> ROSE:
    glow = ctx.model("glow")
    return ROSE(glow, glow_loss, glow.curvature_layers(), "diag",
                fisher_samples=ctx.option("fisher_samples", FISHER_SAMPLES),
                norm_samples=ctx.option("norm_samples", NORM_SAMPLES))


FAMILY = register(Family("rose", "ROSE and likelihood baselines on a VAE and Glow", (VAE, BACKGROUND_VAE, GLOW), (
    Method("rose", "ROSE on the VAE encoder, EKFAC, max over layers", ("vae",), _rose(), IMAGES_PER_SET,
           default=True),
    Method("rose-kfac", "ROSE, KFAC", ("vae",), _rose(fisher="kfac"), IMAGES_PER_SET),
    Method("rose-diag", "ROSE, diagonal Fisher", ("vae",), _rose(fisher="diag"), IMAGES_PER_SET),
    Method("rose-relu", "ROSE, EKFAC, Σ ReLU over layers", ("vae",), _rose(aggregate="relu_sum"), IMAGES_PER_SET),
    Method("rose-glow", "ROSE on Glow's invertible 1×1 convolutions, diagonal Fisher", ("glow",), _rose_glow,
           IMAGES_PER_SET),
    Method("nll-glow", "Glow negative log-likelihood", ("glow",),
           lambda c: NLL(c.model("glow"), likelihood=_likelihood(c, "glow")), IMAGES_PER_SET),
    Method("nll", "VAE negative log-likelihood (IWAE)", ("vae",),
           lambda c: NLL(c.model("vae"), likelihood=_likelihood(c)), IMAGES_PER_SET, default=True),
    Method("lr", "Likelihood Regret (per-sample encoder fit)", ("vae",),
           lambda c: LikelihoodRegret(c.model("vae"), c.option("regret_steps", REGRET_STEPS),
                                            likelihood=_likelihood(c)),
           REGRET_IMAGES_PER_SET),
    Method("lratio", "Likelihood Ratio against a background VAE", ("vae", "vae-background"),
           lambda c: LikelihoodRatio(c.model("vae"), c.model("vae-background"), likelihood=_likelihood(c)),
           IMAGES_PER_SET),
    Method("ic-png", "Input Complexity, PNG", ("vae",),
           lambda c: InputComplexity(c.model("vae"), "png", likelihood=_likelihood(c)), IMAGES_PER_SET),
    Method("ic-jp2", "Input Complexity, lossless JPEG 2000", ("vae",),
           lambda c: InputComplexity(c.model("vae"), "jp2", likelihood=_likelihood(c)), IMAGES_PER_SET),
)))
