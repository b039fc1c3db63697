"""AnoDLSGAN scoring throughput against a bare forward pass of the same encoder on the same batch
(the ceiling of any score that needs one encoder pass), at the quick profile's size (width 8,
latent 16) and the paper's (width 128, latent 256), 32 × 32 inputs. Writes
benchmarks/results/dlsgan.json.

    python benchmarks/bench_dlsgan.py [--batch 256] [--rounds 15]
"""

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ood_ext.detectors import LatentLikelihood  # noqa: E402
from ood_ext.files import write_text  # noqa: E402
from ood_ext.models import DLSGAN  # noqa: E402
from harness import compare, machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dlsgan.json")
    args = parser.parse_args()
    results = {"machine": machine(), "batch": args.batch, "cases": []}
    for width, latent in ((8, 16), (128, 256)):
        torch.manual_seed(0)
        model = DLSGAN(1, width, latent).eval()
        with torch.no_grad():
            model.latent_variance.uniform_(0.5, 1.5)
        detector = LatentLikelihood(model, progress=False).fit([])
        x = torch.rand(args.batch, 1, 32, 32)

        def bare_forward():
            with torch.no_grad():
                return model.encoder(x)

        c = compare(bare_forward, lambda: detector.score(x), args.rounds)
        row = {"width": width, "latent": latent, "encoder_forward_images_per_s": args.batch / (c.baseline_ms / 1e3),
               "anodlsgan_score_images_per_s": args.batch / (c.candidate_ms / 1e3), "score_vs_forward": c.speedup}
        results["cases"].append(row)
        print(f"width {width:3d} latent {latent:3d}: forward {row['encoder_forward_images_per_s']:8.0f} images/s, "
              f"AnoDLSGAN score {row['anodlsgan_score_images_per_s']:8.0f} images/s = {c.speedup:.2f}x", flush=True)
    write_text(args.out, json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
