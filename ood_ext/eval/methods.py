"""The detection methods the benchmark knows, by name: which trained models each needs, how to
build its detector, and how many images per set it scores (expensive methods are capped)."""

from dataclasses import dataclass
from typing import Callable, Optional

from torch import nn

from ..detectors import MSMA, MSP, ODIN, ROSE, Energy, Mahalanobis, ReAct, RotNCSN
from ..detectors.base import Detector
from ..detectors.generative import IWAELikelihood, InputComplexity, LikelihoodRatio, LikelihoodRegret, NLL
from ..training import Profile


@dataclass
class Context:
    """What a method's factory gets: the trained models by kind, the profile, and objects its
    detectors may share within one experiment (e.g. memoised likelihoods)."""

    models: dict
    profile: Profile
    progress: bool
    shared: dict

    def likelihood(self, kind: str = "vae") -> IWAELikelihood:
        key = f"likelihood:{kind}"
        if key not in self.shared:
            self.shared[key] = IWAELikelihood(self.models[kind], self.profile.generative.iwae_samples)
        return self.shared[key]


@dataclass(frozen=True)
class Method:
    name: str
    models: tuple  # keys of eval.models.KINDS; the first one's inputs are fed to the detector
    make: Callable[[Context], Detector]
    summary: str
    cap: Optional[Callable[[Profile], Optional[int]]] = None  # images per set (None: all)
    fit_cap: Optional[Callable[[Profile], Optional[int]]] = None  # ID images to fit on (None: profile.fit_samples)


def GENERATIVE_CAP(profile: Profile) -> Optional[int]:  # noqa: N802 (used like a constant)
    return profile.generative.samples_per_set


def NCSN_CAP(profile: Profile) -> Optional[int]:  # noqa: N802
    return profile.ncsn.samples_per_set


def NCSN_FIT(profile: Profile) -> Optional[int]:  # noqa: N802
    return profile.ncsn.fit_samples


def vae_loss(model: nn.Module, x):
    """ROSE's per-sample loss on the VAE: −ELBO with the decoder at the posterior mean."""
    return model.neg_elbo(x, sample=False)


def glow_loss(model: nn.Module, x):
    """ROSE's per-sample loss on Glow: NLL in bits per dimension (eval mode: bin centres)."""
    return model.nll_bits(x)


def _rose(fisher: str, aggregate: str = "max"):
    def make(ctx: Context) -> Detector:
        g = ctx.profile.generative
        return ROSE(ctx.models["vae"], vae_loss, "encoder", fisher, 1e-8, aggregate, g.fisher_samples,
                    g.norm_samples, progress=ctx.progress)

    return make


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("msp", ("classifier",), lambda c: MSP(c.models["classifier"], progress=c.progress),
           "maximum softmax probability"),
    Method("odin", ("classifier",), lambda c: ODIN(c.models["classifier"], 1000.0, 0.0014, progress=c.progress),
           "ODIN, T = 1000, ε = 0.0014"),
    Method("energy", ("classifier",), lambda c: Energy(c.models["classifier"], 1.0, progress=c.progress),
           "energy score, T = 1"),
    Method("react", ("classifier",), lambda c: ReAct(c.models["classifier"], 0.9, 1.0, progress=c.progress),
           "ReAct (90th percentile clip) + energy"),
    Method("mahalanobis", ("classifier",), lambda c: Mahalanobis(c.models["classifier"], 0.0, progress=c.progress),
           "Mahalanobis, tied covariance, penultimate features"),
    Method("mahalanobis-pre", ("classifier",),
           lambda c: Mahalanobis(c.models["classifier"], 0.001, progress=c.progress),
           "Mahalanobis with input preprocessing, ε = 0.001"),
    Method("rose", ("vae",), _rose("ekfac"), "ROSE on the VAE encoder, EKFAC, max over layers", GENERATIVE_CAP),
    Method("rose-kfac", ("vae",), _rose("kfac"), "ROSE, KFAC", GENERATIVE_CAP),
    Method("rose-diag", ("vae",), _rose("diag"), "ROSE, diagonal Fisher", GENERATIVE_CAP),
    Method("rose-relu", ("vae",), _rose("ekfac", "relu_sum"), "ROSE, EKFAC, Σ ReLU over layers", GENERATIVE_CAP),
    Method("rose-glow", ("glow",),
           lambda c: ROSE(c.models["glow"], glow_loss, c.models["glow"].curvature_layers(), "diag", 1e-8, "max",
                          c.profile.generative.fisher_samples, c.profile.generative.norm_samples,
                          progress=c.progress),
           "ROSE on Glow's invertible 1×1 convolutions, diagonal Fisher", GENERATIVE_CAP),
    Method("nll-glow", ("glow",), lambda c: NLL(c.models["glow"], likelihood=c.likelihood("glow"),
                                                 progress=c.progress),
           "Glow negative log-likelihood (bits/dim up to a constant)", GENERATIVE_CAP),
    Method("nll", ("vae",), lambda c: NLL(c.models["vae"], likelihood=c.likelihood(), progress=c.progress),
           "VAE negative log-likelihood (IWAE)", GENERATIVE_CAP),
    Method("lr", ("vae",), lambda c: LikelihoodRegret(c.models["vae"], c.profile.generative.regret_steps,
                                                       likelihood=c.likelihood(), progress=c.progress),
           "Likelihood Regret (per-sample encoder fit)", lambda p: p.generative.regret_samples_per_set),
    Method("lratio", ("vae", "vae-background"),
           lambda c: LikelihoodRatio(c.models["vae"], c.models["vae-background"], likelihood=c.likelihood(),
                                     progress=c.progress),
           "Likelihood Ratio against a background VAE (μ = 0.3)", GENERATIVE_CAP),
    Method("ic-png", ("vae",), lambda c: InputComplexity(c.models["vae"], "png", likelihood=c.likelihood(),
                                                         progress=c.progress),
           "Input Complexity, PNG", GENERATIVE_CAP),
    Method("ic-jp2", ("vae",), lambda c: InputComplexity(c.models["vae"], "jp2", likelihood=c.likelihood(),
                                                         progress=c.progress),
           "Input Complexity, lossless JPEG 2000", GENERATIVE_CAP),
    Method("msma", ("ncsn",), lambda c: MSMA(c.models["ncsn"], "msma", "gmm", progress=c.progress),
           "MSMA: GMM (components by CV) on ‖σ_i s(x, i)‖", NCSN_CAP, NCSN_FIT),
    Method("msma-rec", ("ncsn",), lambda c: MSMA(c.models["ncsn"], "rec", "gmm", progress=c.progress),
           "MSMA on the denoising residual norms f_rec", NCSN_CAP, NCSN_FIT),
    Method("msma-knn", ("ncsn",), lambda c: MSMA(c.models["ncsn"], "msma", "knn", progress=c.progress),
           "MSMA normality vectors, 5-NN distance", NCSN_CAP, NCSN_FIT),
    Method("rotncsn", ("rotncsn",), lambda c: RotNCSN(c.models["rotncsn"], "gmm", progress=c.progress),
           "RotNCSN: GMM on f_rot of a rotation-trained NCSN", NCSN_CAP, NCSN_FIT),
]}

DEFAULT_METHODS = ["msp", "odin", "energy", "react", "mahalanobis"]
