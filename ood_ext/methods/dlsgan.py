"""AnoDLSGAN (docs/methods.md, "AnoDLSGAN"): the latent likelihood of a dynamic latent scale GAN's
encoder, against InfoGAN (the same GAN with s ≡ 1), the GAN's and a plain autoencoder's
reconstruction errors. Model quality: how well the encoder inverts the generator (code correlation,
collapsed dimensions: training.dlsgan.inversion_figures), FID-in-house (on the project's classifier's features; no
Inception weights offline) for the GANs, PSNR and SSIM of test reconstructions for all three."""

from dataclasses import replace
from functools import partial

import torch

from .. import metrics
from ..data.images import to_tensor
from ..detectors import LatentLikelihood, ReconstructionError
from ..models import DLSGAN, Autoencoder
from ..training import AutoencoderSettings, DLSGANSettings, inversion_figures, train_autoencoder, train_dlsgan
from .registry import kinds, register
from .spec import Family, Method, ModelKind, PerProfile, TrainJob

padded = partial(to_tensor, pad_to=32)  # the architecture is for 32 × 32 inputs (the paper pads MNIST)

# Quick: chosen on how well the encoder inverts the generator (code correlation) within the main
# job's share (docs/methods.md, "AnoDLSGAN"): a 16-dimensional latent space inverts ~2× faster than 64
# dimensions, 3e-3 moves v where the paper's 1e-3 has not after 600 steps, and 1,500 steps over 12,000
# images invert better than 1,250 over 4,000 (correlation 0.66 against 0.47). Full: the paper's.
DLSGAN_SETTINGS = PerProfile(
    smoke=DLSGANSettings(width=4, latent=8, epochs=1, batch_size=32, train_samples=300, lr=3e-3),
    quick=DLSGANSettings(width=8, latent=16, epochs=4, batch_size=32, train_samples=12000, lr=3e-3),
    full=DLSGANSettings(width=128, latent=256, epochs=30, batch_size=32, train_samples=None, lr=1e-3),
)
# Quick: chosen on the test PSNR (28 × 28 centre, 1,000 known test images; curves in docs/methods.md):
# width 8, the paper's latent 256, one cycle peaking at 1e-2 (the equalized layers take larger steps
# than plain ones), 10 epochs on 12,000 images: 20.2 dB in 121 s (latent 64 needed 12 epochs, 157 s).
AUTOENCODER_SETTINGS = PerProfile(
    smoke=AutoencoderSettings(width=4, latent=16, epochs=1, batch_size=32, train_samples=300),
    quick=AutoencoderSettings(width=8, latent=256, epochs=10, batch_size=32, train_samples=12000),
    full=AutoencoderSettings(width=128, latent=256, epochs=30, batch_size=32, train_samples=None),
)
QUALITY_IMAGES = PerProfile(smoke=200, quick=1000, full=10000)  # test (and generated) images per figure


def _crop(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The centre of padded images x, cropped back to the ID size of `like` [.., H, W]."""
    top, left = (x.shape[-2] - like.shape[-2]) // 2, (x.shape[-1] - like.shape[-1]) // 2
    return x[..., top : top + like.shape[-2], left : left + like.shape[-1]]


def _reconstruction_quality(job: TrainJob, n: int) -> tuple[dict, torch.Tensor]:
    """PSNR and SSIM of the test reconstructions (on the unpadded image), and the test images."""
    images = torch.from_numpy(job.test_subset(n).images)
    with torch.no_grad():
        recon = _crop(job.model.reconstruct(job.inputs(images.numpy()).to(job.device)).cpu(), images).clamp(0, 1)
    return {"psnr_db": float(metrics.psnr(recon, images).mean()), "ssim": float(metrics.ssim(recon, images).mean())}, \
        images


def _train_gan(job: TrainJob) -> dict:
    data = job.train_subset(job.settings.train_samples)
    train_dlsgan(job.model, job.inputs(data.images), job.settings, job.device, job.checkpoint, job.seed, job.progress)
    quality, images = _reconstruction_quality(job, QUALITY_IMAGES[job.profile])
    classifier = job.uses["classifier"]
    feed = kinds()["classifier"].inputs
    with torch.no_grad():
        torch.manual_seed(job.seed)
        fake = job.model.generate(torch.randn(len(images), job.model.latent_dim, device=job.device)).cpu()
        real_features = classifier.features(feed(images.numpy()).to(job.device)).cpu()
        fake_features = classifier.features(_crop(fake, images).clamp(0, 1).to(job.device)).cpu()
    return {**inversion_figures(job.model, QUALITY_IMAGES[job.profile], job.seed),
            "fid_in_house": metrics.frechet_distance(real_features, fake_features), **quality,
            "train_samples": len(data), "epochs": job.settings.epochs}


def _train_autoencoder(job: TrainJob) -> dict:
    data = job.train_subset(job.settings.train_samples)
    train_autoencoder(job.model, job.inputs(data.images), job.settings, job.device, job.checkpoint, job.seed,
                      job.progress)
    quality, _ = _reconstruction_quality(job, QUALITY_IMAGES[job.profile])
    return {**quality, "train_samples": len(data), "epochs": job.settings.epochs}


def _gan(train, s: DLSGANSettings) -> DLSGAN:
    return DLSGAN(train.images.shape[1], s.width, s.latent, s.dynamic_scale)


INFOGAN_SETTINGS = DLSGAN_SETTINGS.map(lambda s: replace(s, dynamic_scale=False))
DLSGAN_KIND = ModelKind("dlsgan", _gan, _train_gan, DLSGAN_SETTINGS, padded, uses=("classifier",))
INFOGAN_KIND = ModelKind("infogan", _gan, _train_gan, INFOGAN_SETTINGS, padded, uses=("classifier",))
AUTOENCODER_KIND = ModelKind("autoencoder", lambda train, s: Autoencoder(train.images.shape[1], s.width, s.latent),
                             _train_autoencoder, AUTOENCODER_SETTINGS, padded)

FAMILY = register(Family("dlsgan", "AnoDLSGAN: latent likelihood of a dynamic latent scale GAN's encoder",
                         (DLSGAN_KIND, INFOGAN_KIND, AUTOENCODER_KIND), (
    Method("anodlsgan", "AnoDLSGAN: −log N(E(x); 0, diag v) of the DLSGAN encoder", ("dlsgan",),
           lambda c: LatentLikelihood(c.model("dlsgan")), default=True),
    Method("infogan", "the same latent likelihood on an InfoGAN (s ≡ 1)", ("infogan",),
           lambda c: LatentLikelihood(c.model("infogan"))),
    Method("gan-reconstruction", "mean squared error of the DLSGAN reconstruction G(E(x) ⊙ s)", ("dlsgan",),
           lambda c: ReconstructionError(c.model("dlsgan"))),
    Method("ae-reconstruction", "mean squared error of a plain autoencoder", ("autoencoder",),
           lambda c: ReconstructionError(c.model("autoencoder"))),
)))
