"""The benchmark cases: each op against the plain-PyTorch (or scikit-learn) way of doing it.

Each case returns named callables on shared inputs; shapes follow the issue's targets:
Gaussian N = 4096, C = 10, D ∈ {64, 256}; curvature batch 64 for Linear 256→256 (T = 1) and
Conv2d 3×3 32→64 on 14×14 (T = 196); score norms L = 10, N = 512, 1×28×28.
"""

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch.distributions import MultivariateNormal, Normal

from ood_ext import ops
from ood_ext.ops import reference


def _spd(c, d, generator):
    a = torch.randn(c, d, d, generator=generator, dtype=torch.float64) / d**0.5
    return a @ a.transpose(1, 2) + torch.eye(d, dtype=torch.float64)


def gaussian(d: int, n: int = 4096, c: int = 10, dtype=torch.float32):
    """Full-covariance per-class log-densities [N, C]."""
    gen = torch.Generator().manual_seed(0)
    cov = _spd(c, d, gen)
    mean = torch.randn(c, d, generator=gen, dtype=torch.float64)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) + mean[0]
    prec_chol = ops.precision_cholesky(cov)
    x32, mean32, u32, cov32 = (t.to(dtype) for t in (x, mean, prec_chol, cov))
    dists = [MultivariateNormal(mean32[k], cov32[k]) for k in range(c)]
    weights = u32.permute(1, 0, 2).reshape(d, c * d)  # the same FLOPs as one dense GEMM
    return {
        "ood_ext": lambda: ops.gaussian_log_prob(x32, mean32, u32),
        "torch_mvn_loop": lambda: torch.stack([dist.log_prob(x32) for dist in dists], 1),
        "gemm_roofline": lambda: torch.matmul(x32, weights),
    }


def gaussian_vs_sklearn(d: int, n: int = 4096, c: int = 10):
    """GMM log-likelihood [N] against GaussianMixture.score_samples (float64 inside sklearn)."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(n, d))
    gmm = GaussianMixture(c, covariance_type="full", max_iter=2, random_state=0).fit(data[:2000])
    args64 = [torch.tensor(v) for v in (data, gmm.means_, gmm.precisions_cholesky_, np.log(gmm.weights_))]
    args32 = [t.float() for t in args64]
    return {
        "ood_ext_float64": lambda: ops.gaussian_log_prob(*args64, reduce="logsumexp"),
        "ood_ext_float32": lambda: ops.gaussian_log_prob(*args32, reduce="logsumexp"),
        "sklearn_score_samples": lambda: gmm.score_samples(data),
    }


def diag_gaussian(d: int = 256, n: int = 4096, c: int = 10):
    """Diagonal-covariance per-class log-densities [N, C]."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=gen)
    mean = torch.randn(c, d, generator=gen)
    var = torch.rand(c, d, generator=gen) + 0.5
    dist = Normal(mean, var.sqrt())
    return {
        "ood_ext": lambda: ops.diag_gaussian_log_prob(x, mean, var),
        "torch_normal": lambda: dist.log_prob(x[:, None, :]).sum(-1),
    }


def curvature(n: int, t: int, d_in: int, d_out: int, dtype=torch.float32):
    """EKFAC per-sample quadratic forms [N] and the eigenvalue correction [Dout, Din]."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, t, d_in, generator=gen).to(dtype)
    g = torch.randn(n, t, d_out, generator=gen).to(dtype)
    basis_a = torch.linalg.qr(torch.randn(d_in, d_in, generator=gen))[0].to(dtype)
    basis_g = torch.linalg.qr(torch.randn(d_out, d_out, generator=gen))[0].to(dtype)
    weight = torch.rand(d_out, d_in, generator=gen).to(dtype)

    def materialised():  # per-sample gradients, rotated, contracted: the einsum way
        rotated = basis_g.T @ torch.einsum("nto,nti->noi", g, a) @ basis_a
        return (rotated**2 * weight).sum((1, 2))

    def materialised_correction():
        rotated = basis_g.T @ torch.einsum("nto,nti->noi", g, a) @ basis_a
        return (rotated**2).sum(0)

    return {
        "ood_ext": lambda: ops.curvature_quadratic_form(a, g, weight, basis_a, basis_g),
        "materialised_einsum": materialised,
        "ood_ext_correction": lambda: ops.curvature_eigen_correction(a, g, basis_a, basis_g),
        "materialised_correction": materialised_correction,
        "flops": curvature_flops(n, t, d_in, d_out),
    }


def curvature_flops(n: int, t: int, d_in: int, d_out: int) -> int:
    """GEMM FLOPs of the cheapest exact form: Σ_t g_t a_tᵀ per sample, and each rotation applied
    before the sum over t (T·D² per sample) or after it (Dout·Din·D), whichever costs less."""
    return 2 * n * (t * d_in * d_out + min(t, d_out) * d_in**2 + min(t, d_in) * d_out**2)


def matmul_roofline(d: int = 2048):
    """One large float32 GEMM [d, d] @ [d, d]: the practical GFLOP/s ceiling of this machine."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(d, d, generator=gen), torch.randn(d, d, generator=gen)
    return {"matmul": lambda: x @ y, "flops": 2 * d**3}


def score_norms(levels: int = 10, n: int = 512, shape=(1, 28, 28)):
    """Normality vectors [N, L] in both modes."""
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(levels, n, *shape, generator=gen)
    sigmas = torch.logspace(0, -2, levels)
    clean = torch.rand(n, *shape, generator=gen)
    noisy = clean + sigmas.view(-1, 1, 1, 1, 1) * torch.randn(levels, n, *shape, generator=gen)
    view = sigmas.view(-1, *([1] * (scores.dim() - 1)))
    return {
        "ood_ext_weighted": lambda: ops.multiscale_score_norms(scores, sigmas),
        "eager_weighted": lambda: (view * scores).flatten(2).norm(dim=2).T,
        "ood_ext_residual": lambda: ops.multiscale_score_norms(scores, sigmas, "residual", noisy, clean),
        "eager_residual": lambda: (scores + (noisy - clean) / view**2).flatten(2).norm(dim=2).T,
        "bytes_weighted": scores.numel() * scores.element_size(),
        "bytes_residual": (2 * scores.numel() + clean.numel()) * scores.element_size(),
    }


def gmm_scoring(n: int = 10000, d: int = 10, c: int = 20):
    """MSMA-sized GMM scoring (normality vectors, L = 10) through the op vs sklearn."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(n, d))
    gmm = GaussianMixture(c, covariance_type="full", max_iter=3, random_state=0).fit(data[:3000])
    args = [torch.tensor(v) for v in (data, gmm.means_, gmm.precisions_cholesky_, np.log(gmm.weights_))]
    return {
        "ood_ext": lambda: ops.gaussian_log_prob(*args, reduce="logsumexp"),
        "sklearn_score_samples": lambda: gmm.score_samples(data),
    }


__all__ = ["curvature", "curvature_flops", "diag_gaussian", "gaussian", "gaussian_vs_sklearn", "gmm_scoring",
           "matmul_roofline", "reference", "score_norms"]
