"""Training of the DLSGAN / InfoGAN and of the plain autoencoder (docs/methods.md, "AnoDLSGAN").

One step on a batch x of ID images, with prior draws z ~ N(0, I_d) and the current scale s
(a constant, models.dlsgan), from one forward pass of each network (as the authors' code):
    encoder loss   L_enc = mean_b (1/d) Σ_j ((ẑ_j − z_j) s_j)²,   ẑ = E(G(z ⊙ s))
    discriminator  softplus(−D(x)) + softplus(D(G(z ⊙ s))) + λ_enc L_enc + λ_r1 ‖∂D(x)/∂x'‖²
    generator      softplus(−D(G(z ⊙ s))) + λ_enc L_enc
with the R1 gradient taken on the networks' input scale x' = 2x − 1; then v ← β v + (1 − β) mean(ẑ²).
Adam (β = (0, 0.99)), the learning rate decayed geometrically per epoch. β follows the run's length:
the paper's 0.999 over its ~56k steps is a time constant of 1.8 % of the run, and `trace_horizon`
keeps that fraction (β = 1 − 1 / (horizon · steps)); a fixed 0.999 would hold every v_j above
0.999^steps (0.78 after 250 steps), freezing s at 1.

The plain autoencoder minimises the mean squared error with Adam (its default β = (0.9, 0.999):
the GAN's β₁ = 0 left it at 10.8 dB PSNR in the quick profile, against 15.8 dB with momentum) on a
one-cycle schedule peaking at 1e-2.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .trainer import Trainer, one_cycle


@dataclass(frozen=True)
class AutoencoderSettings:
    """The plain autoencoder (the same encoder and decoder, mean squared error) on up to
    `train_samples` ID images (None: all): Adam on a one-cycle schedule (peak `lr`, warm-up over
    the first 15 % of the steps)."""

    width: int
    latent: int
    epochs: int
    batch_size: int
    train_samples: Optional[int]
    lr: float = 1e-2


@dataclass(frozen=True)
class DLSGANSettings:
    """DLSGAN / InfoGAN: architecture, data, Adam (β = (0, 0.99)) with the learning rate decayed
    geometrically after every epoch to `lr_final` × its start by the end (the paper's × 0.95 per
    epoch over 30 epochs, kept as a fraction of any run), the GAN's loss weights and the traced
    variance's horizon."""

    width: int
    latent: int
    epochs: int
    batch_size: int
    train_samples: Optional[int]
    lr: float = 1e-3
    lr_final: float = 0.95**29  # the last epoch's learning rate / the first's (the paper: × 0.95 after each of 30 epochs)
    encoder_weight: float = 1.0  # λ_enc
    r1_weight: float = 0.1  # λ_r1 (= γ / 2 of Mescheder et al. with γ = 0.2), on the [−1, 1] input scale
    trace_horizon: float = 1000 / 56250  # the moving average's time constant, as a fraction of the steps
    dynamic_scale: bool = True  # False: InfoGAN

    def trace_rate(self, steps: int) -> float:
        """β of the traced variance for a run of `steps` steps: 1 − 1 / (horizon · steps), or 0 (v follows
        the last batch) when the run is shorter than one time constant."""
        return 1.0 - 1.0 / max(1.0, self.trace_horizon * steps)


def encoder_loss(code: Tensor, z: Tensor, scale: Tensor) -> Tensor:
    """mean_b (1/d) Σ_j ((ẑ_j − z_j) s_j)²: a scalar."""
    return ((code - z) * scale).pow(2).mean()


def r1_penalty(logits: Tensor, x: Tensor, input_scale: float = 2.0) -> Tensor:
    """mean_b ‖∂D/∂x'_b‖² of real inputs x (which must require grad) that the network sees as
    x' = input_scale · x + const (∂D/∂x' = ∂D/∂x / input_scale): a scalar, differentiable."""
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean() / input_scale**2


@torch.no_grad()
def inversion_figures(model: nn.Module, samples: int = 2000, seed: int = 0) -> dict:
    """How well the encoder inverts the generator, on `samples` fresh prior draws z [n, d]:
    code_correlation, the mean over dimensions j of the correlation of E(G(z ⊙ s))_j with z_j;
    collapsed_dims, the number of j with v_j < 0.1 · max v (the dimensions the dynamic scale has
    switched off); code_correlation_active, the same mean over the other dimensions."""
    z = torch.randn(samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    z = z.to(model.latent_variance.device)
    code = model.encode_latent(model.generate(z)).double()
    zc, cc = z.double() - z.double().mean(0), code - code.mean(0)
    corr = (zc * cc).sum(0) / (zc.norm(dim=0) * cc.norm(dim=0)).clamp_min(1e-300)
    v = model.latent_variance
    active = v >= 0.1 * v.max()
    return {"code_correlation": float(corr.mean()), "code_correlation_active": float(corr[active].mean()),
            "collapsed_dims": int((~active).sum())}


def _gan_optimizer(params, settings: DLSGANSettings) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=settings.lr, betas=(0.0, 0.99))


def train_dlsgan(model: nn.Module, images: Tensor, settings: DLSGANSettings, device="cpu",
                 checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> nn.Module:
    """Train a DLSGAN (or InfoGAN, model.dynamic_scale False) on images [N, C, 32, 32] in [0, 1];
    returns it in eval mode. Resumes from `checkpoint` (the traced v included)."""
    model.to(device)
    opt_d, opt_g = (_gan_optimizer(model.encoder.parameters(), settings),
                    _gan_optimizer(model.generator.parameters(), settings))
    decay = settings.lr_final ** (1 / max(1, settings.epochs - 1))
    schedulers = {name: torch.optim.lr_scheduler.ExponentialLR(opt, decay)
                  for name, opt in (("encoder", opt_d), ("generator", opt_g))}
    trainer = Trainer({"model": model}, {"encoder": opt_d, "generator": opt_g}, schedulers, checkpoint, seed,
                      desc="dlsgan" if model.dynamic_scale else "infogan", progress=progress)

    beta = settings.trace_rate(settings.epochs * -(-len(images) // settings.batch_size))
    encoder_params, generator_params = list(model.encoder.parameters()), list(model.generator.parameters())

    def step(batch):
        x = batch[0].to(device).requires_grad_(True)
        z = torch.randn(len(x), model.latent_dim, device=device)
        scale = model.latent_scale()
        real_logits, _ = model.encoder(x)
        r1 = r1_penalty(real_logits, x)
        fake_logits, code = model.encoder(model.generate(z, scale))
        enc = encoder_loss(code, z, scale)
        loss_d = (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean() + settings.encoder_weight * enc
                  + settings.r1_weight * r1)
        loss_g = F.softplus(-fake_logits).mean() + settings.encoder_weight * enc
        grads_g = torch.autograd.grad(loss_g, generator_params, retain_graph=True)
        grads_d = torch.autograd.grad(loss_d, encoder_params)
        for params, grads in ((generator_params, grads_g), (encoder_params, grads_d)):
            for p, g in zip(params, grads):
                p.grad = g
        opt_g.step()
        opt_d.step()
        model.trace_latent(code, beta)
        return {"generator": loss_g.detach(), "discriminator": loss_d.detach(), "encoder": enc.detach(),
                "r1": r1.detach()}

    trainer.run_on(images, None, settings.epochs, settings.batch_size, step)
    return model.eval()


def train_autoencoder(model: nn.Module, images: Tensor, settings: AutoencoderSettings, device="cpu",
                      checkpoint: Optional[Path] = None, seed: int = 0, progress: bool = True) -> nn.Module:
    """Minimise the mean squared reconstruction error of images [N, C, 32, 32] in [0, 1]; returns
    the model in eval mode. Resumes from `checkpoint`."""
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    steps = settings.epochs * -(-len(images) // settings.batch_size)
    scheduler = one_cycle(optimizer, settings.lr, steps)
    trainer = Trainer({"model": model}, {"optimizer": optimizer}, checkpoint=checkpoint, seed=seed,
                      desc="autoencoder", progress=progress, step_schedulers={"scheduler": scheduler})

    def step(batch):
        x = batch[0].to(device)
        loss = (model.reconstruct(x) - x).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"mse": loss.detach()}

    trainer.run_on(images, None, settings.epochs, settings.batch_size, step)
    return model.eval()
