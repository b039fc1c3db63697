"""The `ood-ext` command.

    ood-ext benchmark [--id fashion-mnist] [--methods msp,odin,...] [--ood all|set,set,...]
                      [--profile quick|full] [--out runs/report] [--cache DIR] [--data-root DIR]
                      [--device auto|cpu|cuda] [--seed 0] [--heldout-class 0|none] [--no-progress]
    ood-ext list      the ID datasets, methods and OOD sets it knows

Bad arguments print one line to stderr and exit with status 2.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from .data import datasets
from .eval import catalog
from .eval.benchmark import BenchmarkConfig, BenchmarkError, run
from .eval.methods import DEFAULT_METHODS, METHODS
from .training import PROFILES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        self.exit(2, f"ood-ext: error: {message}\n")


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _heldout(text: str) -> Optional[int]:
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a class index or 'none', got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ood-ext", description="Out-of-distribution detection benchmarks on offline data.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    b = sub.add_parser("benchmark", help="train / load models, score ID and OOD sets, write a report")
    b.add_argument("--id", default="fashion-mnist", help=f"ID dataset: {', '.join(datasets.IN_DISTRIBUTION)}")
    b.add_argument("--methods", type=_names, default=list(DEFAULT_METHODS),
                   help=f"comma-separated, from: {', '.join(METHODS)} (default: {','.join(DEFAULT_METHODS)})")
    b.add_argument("--ood", type=_names, default=None,
                   help="comma-separated OOD sets, or 'all' (default: the ID dataset's offline set list)")
    b.add_argument("--profile", default="quick", help=f"{', '.join(PROFILES)} (default quick)")
    b.add_argument("--out", type=Path, default=Path("runs/report"), help="output folder (default runs/report)")
    b.add_argument("--cache", type=Path, default=None, help="trained-model cache (default <out>/../cache)")
    b.add_argument("--data-root", type=Path, default=None, help="folder with datasets ($OOD_EXT_DATA also works)")
    b.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--heldout-class", type=_heldout, default=0,
                   help="class left out of training as an extra OOD set, or 'none' (default 0)")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    sub.add_parser("list", help="list the ID datasets, methods and OOD sets")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "list":
        print("ID datasets:", ", ".join(datasets.IN_DISTRIBUTION))
        print("methods:", ", ".join(f"{m.name} ({m.summary})" for m in METHODS.values()))
        print("OOD sets:", ", ".join(catalog.BUILDERS))
        return 0
    ood = args.ood
    if ood == ["all"]:
        ood = [s for s in catalog.BUILDERS if s != args.id]
    config = BenchmarkConfig(id=args.id, methods=args.methods, ood=ood, profile=args.profile, out=args.out,
                             cache=args.cache, data_root=args.data_root, device=args.device, seed=args.seed,
                             heldout_class=args.heldout_class, progress=not args.no_progress)
    try:
        results = run(config)
    except BenchmarkError as exc:
        print(f"ood-ext: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {config.out / 'report.md'} ({results['elapsed_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
