"""VMDLS's per-class Gaussian scoring, l = max_c log N(t; μ_c, Σ_c) and its argmax, in float64:
the fused op against a loop of torch.distributions.MultivariateNormal over the classes (the
plain-PyTorch way) and scikit-learn's QuadraticDiscriminantAnalysis.decision_function (the same
per-class Gaussians; sklearn drops the constants, so only the argmax is compared). Feature sizes
of the quick profile (D = 272: width 16, latent 32) and the full one (D = 1088: width 64, latent
128); 6 known classes. Writes benchmarks/results/vmdls.json.

    python benchmarks/bench_vmdls.py [--n 4000] [--rounds 9]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

sys.path.insert(0, str(Path(__file__).parent))
from ood_ext.detectors.vmdls import class_gaussians  # noqa: E402
from ood_ext.files import write_text  # noqa: E402
from ood_ext.ops import gaussian_log_prob, precision_cholesky  # noqa: E402
from harness import compare, machine  # noqa: E402


def case(n: int, d: int, classes: int):
    """Class-structured features [n, d] (float64), their labels, and the fitted Gaussians."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, classes, 3 * d * classes)
    centres = rng.normal(0, 3, (classes, d))
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    train = torch.tensor(centres[labels] + rng.normal(size=(len(labels), d)) @ mix)
    means, covariances, _ = class_gaussians(train, torch.tensor(labels), classes)
    test = torch.tensor(centres[rng.integers(0, classes, n)] + rng.normal(size=(n, d)) @ mix)
    return train.numpy(), labels, test, means, covariances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "vmdls.json")
    args = parser.parse_args()
    results = {"machine": machine(), "n": args.n, "classes": args.classes, "cases": []}
    for d in (272, 1088):
        train, labels, x, means, covariances = case(args.n, d, args.classes)
        prec_chol = precision_cholesky(covariances)
        normals = [torch.distributions.MultivariateNormal(m, covariance_matrix=s) for m, s in zip(means, covariances)]
        qda = QuadraticDiscriminantAnalysis(reg_param=0.0, tol=1e-12).fit(train, labels)
        test = x.numpy()

        def fused():
            return gaussian_log_prob(x, means, prec_chol, reduce="max")

        def loop():
            return torch.stack([normal.log_prob(x) for normal in normals], 1).max(1)

        ours, theirs = fused(), loop()
        error = float(((ours.values - theirs.values).abs() / theirs.values.abs()).max())
        assert error < 1e-10 and torch.equal(ours.indices, theirs.indices), error
        agree = float((qda.decision_function(test).argmax(1) == ours.indices.numpy()).mean())
        torch_loop = compare(loop, fused, args.rounds)
        sklearn = compare(lambda: qda.decision_function(test), fused, args.rounds, interleave=False)
        row = {"d": d, "op_images_per_s": args.n / (torch_loop.candidate_ms / 1e3),
               "mvn_loop_images_per_s": args.n / (torch_loop.baseline_ms / 1e3), "op_vs_mvn_loop": torch_loop.speedup,
               "sklearn_qda_images_per_s": args.n / (sklearn.baseline_ms / 1e3), "op_vs_sklearn_qda": sklearn.speedup,
               "max_relative_difference_vs_mvn": error, "argmax_agreement_with_qda": agree}
        results["cases"].append(row)
        print(f"D = {d:4d}: op {row['op_images_per_s']:9.0f} images/s, MultivariateNormal loop "
              f"{row['mvn_loop_images_per_s']:9.0f} ({torch_loop.speedup:.2f}x), sklearn QDA "
              f"{row['sklearn_qda_images_per_s']:9.0f} ({sklearn.speedup:.2f}x); max rel. diff {error:.1e}, "
              f"argmax agreement with QDA {agree:.4f}", flush=True)
    write_text(args.out, json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
