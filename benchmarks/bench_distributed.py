"""ROSE fit + score over torch.distributed: N images (fit: N/2 for the EKFAC curvature, N/2 for the
normalisation; then all N scored) by W gloo processes × 1 thread against 1 process × 1 thread, on
the paper's Fashion-MNIST VAE (32 × 32, width 32, latent 100, the six encoder convolutions). Runs
alternate between the two set-ups; medians of `rounds` runs each. Reports the speed-up and the
time rank 0 spent in collectives (all-reduce, gather, broadcast — waiting for the other rank
included). Writes benchmarks/results/distributed.json.

    python benchmarks/bench_distributed.py [--n 4000] [--processes 2] [--rounds 3]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).parent))
from ood_ext import distributed  # noqa: E402
from ood_ext.data.images import loader  # noqa: E402
from ood_ext.detectors import ROSE  # noqa: E402
from ood_ext.files import write_text  # noqa: E402
from ood_ext.methods.rose import vae_loss  # noqa: E402
from ood_ext.models import ConvVAE  # noqa: E402
from harness import machine  # noqa: E402


def _job(rank: int, world: int, n: int, folder: str) -> None:
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = ConvVAE(1, 32, 100).eval()
    x = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    rose = ROSE(model, vae_loss, "encoder", "ekfac", fisher_samples=n // 2, norm_samples=n - n // 2,
                progress=False).fit(loader(distributed.shard(x), batch_size=256))
    fitted = time.perf_counter()
    scores = distributed.gather(rose.score_loader(loader(distributed.shard(x), batch_size=128)))
    done = time.perf_counter()
    if distributed.is_main():
        assert scores.shape == (n,) and torch.isfinite(scores).all()
        torch.save({"fit_s": fitted - start, "score_s": done - fitted, "total_s": done - start,
                    "collective_s": distributed.collective_seconds(), "scores": scores}, f"{folder}/out.pt")
    if world > 1:
        dist.destroy_process_group()


def _run(world: int, n: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_job, args=(world, n, folder), nprocs=world)
        return torch.load(f"{folder}/out.pt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "distributed.json")
    args = parser.parse_args()
    runs = {1: [], args.processes: []}
    for _ in range(args.rounds):
        for world in runs:
            runs[world].append(_run(world, args.n))
    one, many = runs[1], runs[args.processes]
    difference = float(((one[0]["scores"] - many[0]["scores"]).abs() / one[0]["scores"].abs()).max())

    def median(rows, key):
        return statistics.median(r[key] for r in rows)

    result = {"machine": machine(), "n": args.n, "processes": args.processes, "threads_per_process": 1,
              "rounds": args.rounds, "max_relative_score_difference": difference}
    for key in ("fit_s", "score_s", "total_s"):
        result[f"one_process_{key}"] = median(one, key)
        result[f"{args.processes}_processes_{key}"] = median(many, key)
        result[f"speedup_{key[:-2]}"] = median(one, key) / median(many, key)
    result["collective_s_rank0"] = median(many, "collective_s")
    print(f"ROSE fit + score of {args.n} images: 1 process {result['one_process_total_s']:.1f} s, "
          f"{args.processes} processes {result[f'{args.processes}_processes_total_s']:.1f} s = "
          f"{result['speedup_total']:.2f}x (fit {result['speedup_fit']:.2f}x, score {result['speedup_score']:.2f}x); "
          f"rank 0 in collectives {result['collective_s_rank0']:.2f} s; scores agree to {difference:.1e}")
    write_text(args.out, json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
