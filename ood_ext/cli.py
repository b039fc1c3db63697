"""The `ood-ext` command.

    ood-ext benchmark [--id fashion-mnist] [--methods msp,odin,...] [--ood all|set,set,...]
                      [--profile smoke|quick|full] [--out runs/report] [--cache DIR] [--data-root DIR]
                      [--device auto|cpu|cuda] [--seed 0] [--heldout-class 0|6,7,8,9|none] [--no-progress]
                      [--dist-timeout 600]
    ood-ext reproduce SEED [--scale cpu|paper|smoke] [--out DIR] [--cache DIR] [--seed N] [--data-root DIR]
                      [--device auto|cpu|cuda] [--no-progress]
    ood-ext list      the ID datasets, method families and their methods, OOD sets, profiles and the
                      paper protocols

Over N processes (gloo on CPU, NCCL on GPUs; rank 0 writes the report):

    torchrun --nproc_per_node=N -m ood_ext.cli benchmark ...

Options left out take BenchmarkConfig's defaults. Bad arguments print one line to stderr and
exit with status 2; a process whose peers never arrive or are lost prints one line and exits
with status 1.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import distributed
from . import methods as registry
from .data import datasets
from .eval import catalog
from .eval.benchmark import MAX_SEED, BenchmarkConfig, BenchmarkError, run
from .reproduce import SCALES, protocols
from .reproduce.runner import run as reproduce


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        self.exit(2, f"ood-ext: error: {message}\n")


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be an integer, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"--seed must be in [0, {MAX_SEED}], got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--dist-timeout must be a positive number of seconds, got {text!r}")
    return value


def _heldout(text: str) -> Optional[tuple[int, ...]]:
    if text.lower() == "none":
        return None
    try:
        return tuple(int(part) for part in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected class indices (3 or 6,7,8,9) or 'none', got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    defaults = BenchmarkConfig()
    p = _Parser(prog="ood-ext", description="Out-of-distribution detection benchmarks on offline data.",
                argument_default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    b = sub.add_parser("benchmark", help="train / load models, score ID and OOD sets, write a report",
                       argument_default=argparse.SUPPRESS)
    b.add_argument("--id", help=f"ID dataset: {', '.join(datasets.IN_DISTRIBUTION)} (default {defaults.id})")
    b.add_argument("--methods", type=_names, help=f"comma-separated, from `ood-ext list` (default: "
                   f"{','.join(defaults.methods)})")
    b.add_argument("--ood", type=_names, help="comma-separated OOD sets, 'all' (every offline set), or 'none' "
                   "(only the held-out classes) (default: a representative far and near selection)")
    b.add_argument("--profile", help=f"{', '.join(registry.PROFILES)} (default {defaults.profile})")
    b.add_argument("--out", type=Path, help=f"output folder (default {defaults.out})")
    b.add_argument("--cache", type=Path, help="trained-model cache (default <out>/../cache)")
    b.add_argument("--data-root", type=Path, help="folder with datasets ($OOD_EXT_DATA also works)")
    b.add_argument("--device", help=f"auto, cpu or cuda[:N] (default {defaults.device})")
    b.add_argument("--seed", type=_seed, help=f"0 to {MAX_SEED} (default {defaults.seed})")
    b.add_argument("--heldout-class", "--heldout-classes", dest="heldout_classes", type=_heldout,
                   help="class(es) left out of training as an extra OOD set (one: leave-one-class-out; several, "
                   "e.g. 6,7,8,9: open-set recognition), or 'none' (default "
                   f"{','.join(map(str, defaults.heldout_classes))})")
    b.add_argument("--dist-timeout", dest="dist_timeout", type=_seconds, metavar="SECONDS",
                   help="under torchrun: how long a process waits for its peers, at start-up and in any one "
                   "exchange, before it exits with an error naming the missing ones "
                   f"(default {defaults.dist_timeout:g})")
    b.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress lines or bars (off a terminal, progress is one line per stage and epoch)")
    r = sub.add_parser("reproduce", help="a paper's tables regenerated on offline data beside its numbers",
                       argument_default=argparse.SUPPRESS)
    r.add_argument("seed", metavar="SEED", choices=sorted(protocols()),
                   help=f"the paper: {', '.join(sorted(protocols()))}")
    r.add_argument("--scale", choices=SCALES, default="cpu",
                   help="cpu (default: at most 45 minutes on a 2-core CPU), paper (the paper's sizes; for a GPU), "
                   "smoke (seconds; checks that it runs)")
    r.add_argument("--out", type=Path, help="output folder (default runs/reproduce/SEED)")
    r.add_argument("--cache", type=Path, help="trained-model cache (default runs/cache)")
    r.add_argument("--data-root", type=Path, help="folder with datasets ($OOD_EXT_DATA also works)")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default auto)")
    r.add_argument("--seed", dest="run_seed", type=_seed, default=0, help=f"0 to {MAX_SEED} (default 0)")
    r.add_argument("--no-progress", dest="progress", action="store_false", help="no progress lines or bars")
    sub.add_parser("list", help="list the ID datasets, methods, OOD sets and paper protocols")
    return p


def _list() -> None:
    print("ID datasets:", ", ".join(datasets.IN_DISTRIBUTION))
    print("profiles:", ", ".join(registry.PROFILES))
    defaults = set(registry.default_methods())
    for family in registry.families().values():
        kinds = ", ".join(k.name for k in family.kinds) or "none of its own"
        print(f"\nfamily {family.name}: {family.summary} (models: {kinds})")
        for m in family.methods:
            print(f"  {m.name:16s} {m.summary}{' [default]' if m.name in defaults else ''}")
    print("\nOOD sets:", ", ".join(catalog.BUILDERS))
    print("\npaper protocols (ood-ext reproduce SEED):")
    for name, protocol in protocols().items():
        print(f"  {name:16s} {protocol.paper} ({len(protocol.methods)} methods, {len(protocol.sets)} sets)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = vars(parser().parse_args(argv))
    command = args.pop("command")
    if command == "list":
        _list()
        return 0
    if command == "reproduce":
        return _reproduce(args)
    config = BenchmarkConfig(**args)  # the parser's destinations are BenchmarkConfig's fields
    if config.ood == ["all"]:
        config.ood = list(catalog.ALL_OOD[config.id])
    try:
        joined = not distributed.active() and distributed.init_from_environment(config.dist_timeout)  # torchrun's
        results = run(config)
        main, processes = distributed.is_main(), distributed.world_size()
        if joined:
            distributed.leave()
    except BenchmarkError as exc:
        print(f"ood-ext: error: {exc}", file=sys.stderr)
        return 2
    except distributed.PeerError as exc:
        print(f"ood-ext: error: {exc}", file=sys.stderr)
        return 1
    if main:
        print(f"wrote {config.out / 'report.md'} ({results['elapsed_seconds']:.0f} s, "
              f"{processes} process{'es' if processes > 1 else ''})")
    return 0


def _reproduce(args: dict) -> int:
    try:
        reproduction = reproduce(**args)
    except BenchmarkError as exc:
        print(f"ood-ext: error: {exc}", file=sys.stderr)
        return 2
    held = sum(c["holds"] for c in reproduction["claims"])
    out = args.get("out") or Path("runs") / "reproduce" / args["seed"]
    print(f"wrote {out / 'report.md'} ({reproduction['seconds']:.0f} s; {held} of {len(reproduction['claims'])} "
          "claims hold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
