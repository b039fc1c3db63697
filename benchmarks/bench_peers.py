"""ood_ext against the libraries a user would otherwise pick, in one process, interleaved repeats
(harness.compare; scikit-learn in blocks, see gmm_vs_sklearn):

* ROSE (EKFAC) vs kronfluence 1.0.1's EKFAC self-influence on the paper's Fashion-MNIST VAE
  (32 × 32, width 32, latent 100, the six encoder convolutions), the same absolute damping, the
  empirical Fisher of the same per-sample loss: fit time, scoring time, and the agreement of the
  unnormalised scores Σ_l gᵀ(F + λ)⁻¹g, in float32 and float64 (asserted ≤ 1e-8 in float64).
* Mahalanobis vs pytorch-ood 0.4's Mahalanobis on the same classifier features: fit and score
  time, rank agreement.
* GMM scoring vs scikit-learn's GaussianMixture.score_samples (MSMA's sizes).

The peers are optional benchmark dependencies, never runtime ones: without them their sections
are skipped. pytorch-ood's package root imports torchvision (for its model zoo); its detectors do
not, so they are imported without the root when torchvision is absent or does not load.
Writes benchmarks/results/peers.json.

    python benchmarks/bench_peers.py [--rounds 3] [--threads 2]
"""

import argparse
import importlib
import importlib.util
import json
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

sys.path.insert(0, str(Path(__file__).parent))
from ood_ext.data.images import loader  # noqa: E402
from ood_ext.detectors import ROSE, Mahalanobis  # noqa: E402
from ood_ext.files import write_text  # noqa: E402
from ood_ext.models import ConvVAE, ResNetClassifier  # noqa: E402
from ood_ext.ops import gaussian_log_prob  # noqa: E402
from harness import compare, machine  # noqa: E402


def vae_loss(model, x):
    return model.neg_elbo(x, sample=False)


# ----- ROSE vs kronfluence -------------------------------------------------------------------------------------
def rose_vs_kronfluence(dtype: torch.dtype, damping: float, rounds: int) -> dict:
    from kronfluence.analyzer import Analyzer, prepare_model
    from kronfluence.arguments import FactorArguments, ScoreArguments
    from kronfluence.task import Task

    torch.manual_seed(0)
    model = ConvVAE(1, 32, 100).to(dtype).eval()
    fit = torch.rand(256, 1, 32, 32, dtype=dtype, generator=torch.Generator().manual_seed(1))
    scored = torch.rand(128, 1, 32, 32, dtype=dtype, generator=torch.Generator().manual_seed(2))
    rose = ROSE(model, vae_loss, "encoder", "ekfac", damping=damping, fisher_samples=len(fit), norm_samples=2,
                progress=False)
    names = [name for name, module in model.named_modules() if module in set(rose.layers)]

    class VAETask(Task):
        def compute_train_loss(self, batch, model, sample=False):
            return vae_loss(model, batch[0]).sum()

        def compute_measurement(self, batch, model):
            return vae_loss(model, batch[0]).sum()

        def get_influence_tracked_modules(self):
            return names

        def get_attention_mask(self, batch):
            return None

    peer_model = ConvVAE(1, 32, 100).to(dtype).eval()
    peer_model.load_state_dict(model.state_dict())
    task = VAETask()
    peer_model = prepare_model(peer_model, task)
    folder = tempfile.mkdtemp()
    analyzer = Analyzer("peers", peer_model, task, cpu=True, disable_tqdm=True, output_dir=folder)
    factor_args = FactorArguments(strategy="ekfac", use_empirical_fisher=True, activation_covariance_dtype=dtype,
                                  gradient_covariance_dtype=dtype, per_sample_gradient_dtype=dtype,
                                  lambda_dtype=dtype)
    score_args = ScoreArguments(damping_factor=damping, score_dtype=dtype, per_sample_gradient_dtype=dtype,
                                precondition_dtype=dtype)
    fit_set, scored_set = TensorDataset(fit), TensorDataset(scored)
    with_fit = torch.cat([fit, fit[:2]])  # ROSE's normalisation needs 2 more samples (not timed apart)

    def rose_fit():
        rose.fit(loader(with_fit, batch_size=128))

    def rose_score():
        return torch.cat([rose._layer_scores(scored[i:i + 64]) for i in range(0, len(scored), 64)]).sum(1)

    def peer_fit():
        analyzer.fit_all_factors("ekfac", fit_set, per_device_batch_size=128, factor_args=factor_args,
                                 overwrite_output_dir=True)

    def peer_score():
        analyzer.compute_self_scores("self", "ekfac", scored_set, per_device_train_batch_size=64,
                                     score_args=score_args, overwrite_output_dir=True)
        return analyzer.load_self_scores("self")["all_modules"]

    fits = compare(peer_fit, rose_fit, rounds, warmup=1)
    scores = compare(peer_score, rose_score, rounds, warmup=1)
    ours, theirs = rose_score().double(), peer_score().double()
    difference = float(((ours - theirs).abs() / theirs.abs()).max())
    if dtype == torch.float64:
        assert difference <= 1e-8, f"ROSE and kronfluence disagree in float64: {difference:.2e}"
    return {"dtype": str(dtype).split(".")[-1], "damping": damping, "fit_images": len(fit),
            "scored_images": len(scored), "ood_ext_fit_s": fits.candidate_ms / 1e3,
            "kronfluence_fit_s": fits.baseline_ms / 1e3, "fit_speedup": fits.speedup,
            "ood_ext_score_s": scores.candidate_ms / 1e3, "kronfluence_score_s": scores.baseline_ms / 1e3,
            "score_speedup": scores.speedup,
            "max_relative_score_difference": difference}


# ----- Mahalanobis vs pytorch-ood ------------------------------------------------------------------------------
def pytorch_ood_detectors():
    """pytorch_ood.detector, importing the package root only when torchvision loads."""
    try:
        return importlib.import_module("pytorch_ood.detector")
    except (ImportError, RuntimeError):
        for name in [m for m in sys.modules if m == "pytorch_ood" or m.startswith("pytorch_ood.")]:
            del sys.modules[name]
        spec = importlib.util.find_spec("pytorch_ood")
        root = types.ModuleType("pytorch_ood")
        root.__path__ = list(spec.submodule_search_locations)
        sys.modules["pytorch_ood"] = root
        return importlib.import_module("pytorch_ood.detector")


def mahalanobis_vs_pytorch_ood(rounds: int) -> dict:
    detectors = pytorch_ood_detectors()
    torch.manual_seed(0)
    model = ResNetClassifier(1, 10, width=16).eval()
    g = torch.Generator().manual_seed(3)
    fit_x, fit_y = torch.rand(5000, 1, 28, 28, generator=g), torch.randint(0, 10, (5000,), generator=g)
    test = torch.rand(4000, 1, 28, 28, generator=g)
    ours = Mahalanobis(model, progress=False)
    theirs = detectors.Mahalanobis(model.features)

    def our_fit():
        ours.fit(loader(fit_x, fit_y.numpy(), batch_size=256))

    def their_fit():
        theirs.fit(torch.utils.data.DataLoader(TensorDataset(fit_x, fit_y), batch_size=256))

    def our_score():
        return ours.score_loader(loader(test, batch_size=256))

    def their_score():
        with torch.no_grad():
            return torch.cat([theirs.predict(test[i:i + 256]) for i in range(0, len(test), 256)])

    fits = compare(their_fit, our_fit, rounds, warmup=1)
    scores = compare(their_score, our_score, rounds, warmup=1)
    a, b = our_score().double().numpy(), their_score().double().numpy()
    row = {"fit_images": len(fit_x), "scored_images": len(test), "ood_ext_fit_s": fits.candidate_ms / 1e3,
           "pytorch_ood_fit_s": fits.baseline_ms / 1e3, "fit_speedup": fits.speedup,
           "ood_ext_score_s": scores.candidate_ms / 1e3, "pytorch_ood_score_s": scores.baseline_ms / 1e3,
           "score_speedup": scores.speedup, "score_rank_correlation": _ranks(a, b)}
    return row | features_only(detectors, rounds)


def _ranks(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


class GivenFeatures(torch.nn.Module):
    """A 'classifier' whose inputs are already its features (Mahalanobis on given features)."""

    def __init__(self, classes: int):
        super().__init__()
        self.classes = classes
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the detector a device and dtype

    def features(self, z):
        return z

    def head(self, z):
        return z[:, : self.classes]


def features_only(detectors, rounds: int, n: int = 20000, d: int = 256, classes: int = 10) -> dict:
    """The detectors' own work on given features [n, d] (the network's forward pass excluded):
    class means + tied covariance + its factor, then the minimum distance over classes."""
    g = torch.Generator().manual_seed(4)
    labels = torch.randint(0, classes, (n,), generator=g)
    features = torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) / 16 + labels[:, None] * 0.1
    test = torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) / 16
    ours = Mahalanobis(GivenFeatures(classes), progress=False)
    theirs = detectors.Mahalanobis(torch.nn.Identity())

    def our_fit():
        ours.fit([(features, labels)])

    def our_score():
        return ours._distance(test)

    fits = compare(lambda: theirs.fit_features(features, labels), our_fit, rounds, warmup=1)
    scores = compare(lambda: theirs.predict_features(test), our_score, rounds, warmup=1)
    return {"features_n": n, "features_d": d, "features_fit_speedup": fits.speedup,
            "features_score_speedup": scores.speedup, "features_ood_ext_score_s": scores.candidate_ms / 1e3,
            "features_pytorch_ood_score_s": scores.baseline_ms / 1e3,
            "features_rank_correlation": _ranks(our_score().double().numpy(),
                                                theirs.predict_features(test).double().numpy())}


# ----- GMM scoring vs scikit-learn -----------------------------------------------------------------------------
def gmm_vs_sklearn(rounds: int) -> dict:
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    data = rng.normal(size=(20000, 10))
    gmm = GaussianMixture(20, covariance_type="full", max_iter=5, random_state=0).fit(data[:5000])
    args = [torch.tensor(v) for v in (data, gmm.means_, gmm.precisions_cholesky_, np.log(gmm.weights_))]
    # In blocks, not interleaved: scikit-learn's OpenBLAS threads keep spinning after a call and
    # would steal the cores from whatever runs right after them (harness.compare).
    c = compare(lambda: gmm.score_samples(data), lambda: gaussian_log_prob(*args, reduce="logsumexp"),
                max(rounds, 9), interleave=False)
    difference = float(np.abs(gaussian_log_prob(*args, reduce="logsumexp").numpy() - gmm.score_samples(data)).max())
    return {"samples": len(data), "components": 20, "dims": 10, "ood_ext_s": c.candidate_ms / 1e3,
            "sklearn_s": c.baseline_ms / 1e3, "speedup": c.speedup, "max_abs_difference": difference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--damping", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "peers.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {"machine": machine(), "rounds": args.rounds}
    if importlib.util.find_spec("kronfluence"):
        results["rose_vs_kronfluence"] = [rose_vs_kronfluence(dtype, args.damping, args.rounds)
                                          for dtype in (torch.float32, torch.float64)]
        for row in results["rose_vs_kronfluence"]:
            print(f"ROSE vs kronfluence EKFAC, {row['dtype']}: fit {row['ood_ext_fit_s']:.2f} s vs "
                  f"{row['kronfluence_fit_s']:.2f} s ({row['fit_speedup']:.2f}x), "
                  f"score {row['ood_ext_score_s']:.2f} s vs {row['kronfluence_score_s']:.2f} s ({row['score_speedup']:.2f}x), scores agree to "
                  f"{row['max_relative_score_difference']:.1e}", flush=True)
    else:
        print("kronfluence not installed: ROSE comparison skipped")
    if importlib.util.find_spec("pytorch_ood"):
        row = results["mahalanobis_vs_pytorch_ood"] = mahalanobis_vs_pytorch_ood(args.rounds)
        print(f"Mahalanobis vs pytorch-ood: fit {row['fit_speedup']:.2f}x, score {row['score_speedup']:.2f}x "
              f"(on features alone: fit {row['features_fit_speedup']:.2f}x, "
              f"score {row['features_score_speedup']:.2f}x), "
              f"rank correlation {row['score_rank_correlation']:.6f} / {row['features_rank_correlation']:.6f}",
              flush=True)
    else:
        print("pytorch-ood not installed: Mahalanobis comparison skipped")
    row = results["gmm_vs_sklearn"] = gmm_vs_sklearn(args.rounds)
    print(f"GMM scoring vs sklearn: {row['speedup']:.2f}x, max |difference| {row['max_abs_difference']:.1e}")
    write_text(args.out, json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
