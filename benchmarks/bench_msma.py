"""MSMA / RotNCSN throughput: normality-vector extraction with the fused score-norm op against the
same network passes followed by eager PyTorch norms; each feature's images/s against the same
number of bare network passes (10 levels an image, × 4 rotations for RotNCSN, in passes of
models.ncsn.EVAL_CHUNK inputs: the ceiling of any implementation); and GMM scoring through the
fused Gaussian op against scikit-learn's score_samples. Writes benchmarks/results/msma.json.

    python benchmarks/bench_msma.py [--width 8] [--batch 64]   (width 8: the quick profile's)
"""

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ood_ext.files import write_text  # noqa: E402
import cases  # noqa: E402
from harness import compare, machine, throughput  # noqa: E402
from ood_ext.detectors.msma import normality_vectors  # noqa: E402
from ood_ext.models import NCSN  # noqa: E402
from ood_ext.models.ncsn import in_chunks  # noqa: E402


def eager_vectors(model, x, features):
    """The same network passes as normality_vectors, with the norms in plain PyTorch."""
    sigmas = model.sigmas
    view = (-1,) + (1,) * x.dim()
    if features == "msma":
        return (sigmas.view(view) * model.scores_all_levels(x)).flatten(2).norm(dim=2).T
    levels = len(sigmas)
    index = torch.arange(levels).repeat_interleave(x.shape[0])
    noisy = x[None] + sigmas.view(view) * torch.randn(levels, *x.shape)
    scores = model(noisy.flatten(0, 1), index).view(levels, *x.shape)
    return (scores + (noisy - x[None]) / sigmas.view(view) ** 2).flatten(2).norm(dim=2).T


PASSES = {"msma": 1, "rec": 1, "rot": 4}  # network passes per image and noise level


def bare_passes(model, x, repeats):
    """The network alone on x [B, ...] at every level, `repeats` times over: [repeats · L · B] scores."""
    levels = len(model.sigmas)
    inputs = x.repeat(repeats * levels, *(1,) * (x.dim() - 1))
    index = torch.arange(levels).repeat_interleave(x.shape[0]).repeat(repeats)
    return in_chunks(model, inputs, index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "msma.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = NCSN(1, args.width, 10).eval()
    x = torch.rand(args.batch, 1, 28, 28)
    results = {"machine": machine(), "width": args.width, "batch": args.batch}
    with torch.no_grad():
        for features in ("msma", "rec", "rot"):
            results[f"{features}_fused_images_per_s"] = throughput(lambda: normality_vectors(model, x, features),
                                                                   args.batch, 3)
            bare = throughput(lambda: bare_passes(model, x, PASSES[features]), args.batch, 3)
            results[f"{features}_bare_passes_images_per_s"] = bare
            results[f"{features}_vs_bare_passes"] = results[f"{features}_fused_images_per_s"] / bare
        for features in ("msma", "rec"):
            results[f"{features}_eager_images_per_s"] = throughput(lambda: eager_vectors(model, x, features),
                                                                   args.batch, 3)
            results[f"{features}_fused_vs_eager"] = (results[f"{features}_fused_images_per_s"]
                                                     / results[f"{features}_eager_images_per_s"])
    fns = cases.gmm_scoring()
    c = compare(fns["sklearn_score_samples"], fns["ood_ext"], 21, interleave=False)
    results["gmm_scoring_N10000_D10_C20"] = {"sklearn_ms": c.baseline_ms, "ood_ext_ms": c.candidate_ms,
                                            "speedup": c.speedup}
    write_text(args.out, json.dumps(results, indent=2))
    for k, v in results.items():
        print(f"{k:32s} {v}")


if __name__ == "__main__":
    main()
