"""`ood-ext reproduce SEED`: run a paper's protocol through the benchmark's machinery (model cache,
method specs, data and OOD catalogue, scoring, metrics, figures) and tabulate it beside the
paper's numbers, with a bootstrap interval per cell and each claim evaluated on our rows."""

import platform
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Optional

import numpy as np

from .. import distributed
from .. import methods as registry
from ..eval import catalog, figures
from ..eval.benchmark import BenchmarkConfig, BenchmarkError, evaluate, validate
from ..eval.scoring import ScoredSet, set_metrics
from ..files import write_folder
from ..metrics import PAIR_METRICS, bootstrap_interval, threshold_at_tpr
from .protocol import Protocol, protocols
from .report import write_report

BOOTSTRAP_DRAWS = 1000
DECISION_ACCEPTANCE = 0.95  # the share of held-out ID images a threshold accepts (as the OR ensemble's)


def get(seed: str) -> Protocol:
    """The registered protocol `seed`, checked against the registry and the catalogue."""
    known = protocols()
    if seed not in known:
        raise BenchmarkError(f"no protocol {seed!r}; choose from {', '.join(known)}")
    try:
        known[seed].check(registry.methods(), catalog.BUILDERS)
    except ValueError as exc:
        raise BenchmarkError(str(exc)) from exc
    return known[seed]


def run(seed: str, scale: str = "cpu", out: Optional[Path] = None, cache: Optional[Path] = None,
        data_root: Optional[Path] = None, device: str = "auto", run_seed: int = 0, progress: bool = True) -> dict:
    """Reproduce protocol `seed` at `scale`; writes report.md, reproduction.json and ROC figures
    into `out` (default runs/reproduce/SEED) and returns the reproduction dictionary."""
    protocol = get(seed)
    if scale not in protocol.scales:
        raise BenchmarkError(f"protocol {seed} has no scale {scale!r}; choose from {', '.join(protocol.scales)}")
    profile = protocol.scales[scale].build(f"{seed}-{scale}")
    out = Path(out) if out is not None else Path("runs") / "reproduce" / seed
    catalogue_sets = [s for s in protocol.sets if not s.startswith("heldout-")]
    configs = [BenchmarkConfig(id=protocol.id, methods=list(protocol.methods),
                               ood=catalogue_sets or ["none"], profile=profile.name, out=out,
                               cache=Path(cache) if cache else Path("runs") / "cache", data_root=data_root,
                               device=device, seed=run_seed, heldout_classes=split, progress=progress)
               for split in protocol.splits]
    for config in configs:
        validate(config)
    started = time.perf_counter()
    scored: dict[str, list[ScoredSet]] = {}
    models, machine = {}, {}
    for split, config in zip(protocol.splits, configs):
        results, split_scored = evaluate(config, profile)
        for method, pairs in split_scored.items():
            scored.setdefault(method, []).extend(pairs)
        tag = "" if len(protocol.splits) == 1 else f" (without {', '.join(map(str, split or ())) or 'none'})"
        models |= {f"{kind}{tag}": info for kind, info in results["models"].items()}
        machine = results["machine"]
    produced = {p.name for pairs in scored.values() for p in pairs}
    missing = sorted({s for t in protocol.tables for s in t.rows} - produced)
    if missing:
        raise BenchmarkError(f"protocol {seed}: no run produced the set(s) {', '.join(missing)} its tables name "
                             f"(check its splits)")
    reproduction = tabulate(protocol, scored)
    reproduction |= {"seed": protocol.seed, "paper": protocol.paper, "scale": scale,
                     "seconds": round(time.perf_counter() - started, 1), "source": protocol.source,
                     "stand_ins": dict(protocol.stand_ins),
                     "notes": list(protocol.notes) + ([protocol.scales[scale].note] if protocol.scales[scale].note
                                                      else []),
                     "sizes": asdict(profile.sizes) | {"images_per_set": dict(profile.images_per_set)},
                     "options": dict(profile.options), "models": models,
                     "machine": machine | {"cpu": platform.processor() or platform.machine()},
                     "budget_seconds": protocol.seconds_per_scale.get(scale)}
    if distributed.is_main():
        try:
            write_folder(out, lambda folder: _write(folder, reproduction, scored))
        except OSError as exc:
            raise BenchmarkError(f"cannot write the reproduction to {out}: {exc.strerror or exc}") from exc
    return reproduction


def _write(folder: Path, reproduction: dict, scored: dict[str, list[ScoredSet]]) -> None:
    written = []
    for method, pairs in scored.items():
        figures.roc_curves(method, pairs, folder / f"roc_{method}.png")
        written.append(f"roc_{method}.png")
    write_report(folder, reproduction, written)


def tabulate(protocol: Protocol, scored: dict[str, list[ScoredSet]]) -> dict:
    """{"rows", "overall", "claims"} of a protocol from the scored pairs of its methods: one row
    per table cell (ours with a bootstrap interval, the paper's value or None), one overall row
    per table column whose rows share one ID test set (one split), and the claims."""
    rows, overall = [], []
    for table in protocol.tables:
        for method in table.columns:
            pairs = {p.name: p for p in scored[method]}
            for name in table.rows:
                pair = pairs[name]
                value, interval = _measure(table.metric, pair.id_scores, pair.ood_scores, pair)
                rows.append({"table": table.name, "method": method, "set": name, "metric": table.metric,
                             "ours": value, "paper": table.paper.get((method, name)), "interval": interval})
            chosen = [pairs[name] for name in table.rows]
            if table.metric in PAIR_METRICS and all(p.id_scores is chosen[0].id_scores for p in chosen):
                ood = np.concatenate([p.ood_scores for p in chosen])
                value, interval = _measure(table.metric, chosen[0].id_scores, ood)
                overall.append({"table": table.name, "method": method, "metric": table.metric, "ours": value,
                                "paper": table.overall.get(method), "interval": interval, "sets": list(table.rows)})
    claims = []
    for claim in protocol.claims:
        holds, detail = claim.evaluate(rows, overall)
        claims.append({"claim": claim.text, "holds": bool(holds), "detail": detail})
    return {"rows": rows, "overall": overall, "claims": claims}


def _measure(metric: str, id_scores: np.ndarray, ood_scores: np.ndarray,
             pair: Optional[ScoredSet] = None) -> tuple[float, Optional[list]]:
    """(the metric, its bootstrap interval or None) of ID vs OOD scores; the decision metrics
    (zero_acc, else_acc, osr_f1) come from the benchmark's per-pair metrics: at the detector's own
    threshold, or else at the one that accepts DECISION_ACCEPTANCE of the held-out ID images the
    pair was calibrated on (none of which its models or fit saw)."""
    if metric in PAIR_METRICS:
        value = PAIR_METRICS[metric](id_scores, ood_scores)
        return float(value), list(bootstrap_interval(metric, id_scores, ood_scores, BOOTSTRAP_DRAWS))
    if metric in ("zero_acc", "else_acc") and pair.threshold is None:
        if pair.calibration is None:
            raise BenchmarkError(f"{metric} of {pair.name}: the detector has no threshold of its own and no held-out "
                                 "ID images were left to choose one on (give the scale fewer training images)")
        pair = replace(pair, threshold=threshold_at_tpr(pair.calibration, DECISION_ACCEPTANCE))
    return float(set_metrics(pair)[metric]), None


__all__ = ["get", "run", "tabulate"]
