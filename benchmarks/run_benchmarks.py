"""Measure every op against its plain-PyTorch baseline and write the ratios as JSON.

    python benchmarks/run_benchmarks.py [--out benchmarks/results/ops.json] [--rounds 25]

Prints one line per comparison: times (median ms), speed-up (median of per-round ratios),
and peak memory, bandwidth or GFLOP/s (beside one large matmul's) where the issues ask for them.
"""

import argparse
import json
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))
from ood_ext.files import write_text  # noqa: E402
import cases  # noqa: E402
from harness import compare, machine, median_seconds, peak_memory_bytes  # noqa: E402


def run(rounds: int) -> list[dict]:
    rows = []

    def record(name, baseline_name, fns, base, cand, interleave=True, **extra):
        c = compare(fns[base], fns[cand], rounds, interleave=interleave)
        row = dict(case=name, baseline=baseline_name, baseline_ms=round(c.baseline_ms, 3),
                   ood_ext_ms=round(c.candidate_ms, 3), speedup=round(c.speedup, 2), **extra)
        rows.append(row)
        shown = " ".join(f"{k}={v}" for k, v in extra.items())
        print(f"{name:42s} vs {baseline_name:24s} {c.baseline_ms:9.2f} ms / {c.candidate_ms:8.2f} ms "
              f"= {c.speedup:6.2f}x {shown}", flush=True)

    for d in (64, 256):
        fns = cases.gaussian(d)
        record(f"gaussian_log_prob N=4096 C=10 D={d} f32", "MultivariateNormal loop", fns, "torch_mvn_loop", "ood_ext")
        record(f"gaussian_log_prob N=4096 C=10 D={d} f32", "one GEMM, same FLOPs", fns, "gemm_roofline", "ood_ext")
        fns = cases.gaussian_vs_sklearn(d)
        record(f"gaussian_log_prob GMM D={d} f64", "sklearn score_samples", fns, "sklearn_score_samples",
               "ood_ext_float64", interleave=False)
        record(f"gaussian_log_prob GMM D={d} f32", "sklearn score_samples", fns, "sklearn_score_samples",
               "ood_ext_float32", interleave=False)
    fns = cases.gmm_scoring()
    record("gaussian_log_prob GMM N=10000 D=10 C=20 f64", "sklearn score_samples", fns, "sklearn_score_samples",
           "ood_ext", interleave=False)
    fns = cases.diag_gaussian()
    record("diag_gaussian_log_prob N=4096 C=10 D=256 f32", "torch Normal", fns, "torch_normal", "ood_ext")

    roofline = cases.matmul_roofline()
    roofline_gflops = roofline["flops"] / (median_seconds(roofline["matmul"], rounds) * 1e9)
    rows.append(dict(case="matmul 2048x2048 f32 (the practical roofline)", GFLOP_per_s=round(roofline_gflops, 1)))
    print(f"{rows[-1]['case']:42s} {roofline_gflops:.0f} GFLOP/s", flush=True)
    for label, shape in (("Linear 256->256 T=1", (64, 1, 257, 256)), ("Conv2d 3x3 32->64 14x14 T=196", (64, 196, 289, 64))):
        fns = cases.curvature(*shape)
        record(f"curvature_quadratic_form {label} N=64", "materialised einsum", fns, "materialised_einsum", "ood_ext")
        record(f"curvature_eigen_correction {label} N=64", "materialised einsum", fns, "materialised_correction",
               "ood_ext_correction")
        for row in rows[-2:]:  # one count for both ways: the cheapest exact form's GEMM FLOPs
            row["ood_ext_GFLOP_per_s"] = round(fns["flops"] / (row["ood_ext_ms"] * 1e6), 1)
            row["baseline_GFLOP_per_s"] = round(fns["flops"] / (row["baseline_ms"] * 1e6), 1)
        print(f"    GFLOP/s: ood_ext {rows[-2]['ood_ext_GFLOP_per_s']} / {rows[-1]['ood_ext_GFLOP_per_s']}, "
              f"materialised {rows[-2]['baseline_GFLOP_per_s']} / {rows[-1]['baseline_GFLOP_per_s']} "
              f"(quadratic form / correction; matmul {roofline_gflops:.0f})", flush=True)
        # In child processes, after the timings (spawning perturbs the parent's next timings).
        rows[-2]["peak_MiB_ood_ext"] = round(peak_memory_bytes("curvature", shape, "ood_ext") / 2**20, 2)
        rows[-2]["peak_MiB_baseline"] = round(peak_memory_bytes("curvature", shape, "materialised_einsum") / 2**20, 2)
        print(f"    peak memory: ood_ext {rows[-2]['peak_MiB_ood_ext']} MiB, "
              f"materialised {rows[-2]['peak_MiB_baseline']} MiB", flush=True)

    fns = cases.score_norms()
    for mode in ("weighted", "residual"):
        c = compare(fns[f"eager_{mode}"], fns[f"ood_ext_{mode}"], rounds)
        gbps = fns[f"bytes_{mode}"] / (c.candidate_ms * 1e-3) / 1e9
        row = dict(case=f"multiscale_score_norms {mode} L=10 N=512 1x28x28 f32", baseline="eager torch",
                   baseline_ms=round(c.baseline_ms, 3), ood_ext_ms=round(c.candidate_ms, 3),
                   speedup=round(c.speedup, 2), ood_ext_GBps=round(gbps, 1))
        rows.append(row)
        print(f"{row['case']:42s} vs {'eager torch':24s} {c.baseline_ms:9.2f} ms / {c.candidate_ms:8.2f} ms "
              f"= {c.speedup:6.2f}x read {gbps:.1f} GB/s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ops.json")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    rows = run(args.rounds)
    write_text(args.out, json.dumps({"machine": machine(), "results": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
