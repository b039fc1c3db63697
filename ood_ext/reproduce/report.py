"""A reproduction's written outputs: report.md in the paper's table layout ("ours [95 % bootstrap
interval] / paper" per cell), the claims with their verdicts, what stands in for what, sizes,
scale, wall time and machine; and reproduction.json."""

import json
from pathlib import Path

from ..eval.report import model_details, quality
from ..files import write_text
from .protocol import protocols

METRIC_TITLES = {"auroc": "AUROC", "aupr_in": "AUPR-In", "aupr_out": "AUPR-Out", "fpr95": "FPR@95TPR",
                 "zero_acc": "zero_acc (OOD recall)", "else_acc": "else_acc (ID accuracy)",
                 "osr_f1": "open-set macro-F1"}


def cell(row: dict) -> str:
    """'0.987 [0.975, 0.995] / 0.995': ours, its interval, the paper's value (– where it has none)."""
    interval = f" [{row['interval'][0]:.3f}, {row['interval'][1]:.3f}]" if row.get("interval") else ""
    paper = "–" if row["paper"] is None else f"{row['paper']:.3f}"
    return f"{row['ours']:.3f}{interval} / {paper}"


def table_lines(table, rows: list[dict], overall: list[dict]) -> list[str]:
    """The paper's table: its rows (with our stand-in) × its columns, then its Overall row."""
    lines = [f"| {table.name} | " + " | ".join(f"{label} (`{m}`)" for m, label in table.columns.items()) + " |",
             "|---|" + "---:|" * len(table.columns)]
    index = {(r["method"], r["set"]): r for r in rows if r["table"] == table.name}
    for name, label in table.rows.items():
        cells = [cell(index[(m, name)]) if (m, name) in index else "–" for m in table.columns]
        lines.append(f"| {label} (ours: `{name}`) | " + " | ".join(cells) + " |")
    totals = {r["method"]: r for r in overall if r["table"] == table.name}
    if totals:
        cells = [cell(totals[m]) if m in totals else "–" for m in table.columns]
        lines.append("| **Overall** (all rows' OOD images together) | " + " | ".join(cells) + " |")
    return lines


def write_report(out: Path, reproduction: dict, figures: list[str]) -> None:
    """report.md and reproduction.json in `out`."""
    write_text(out / "reproduction.json", json.dumps(reproduction, indent=2))
    protocol = protocols()[reproduction["seed"]]
    m = reproduction["machine"]
    sizes = reproduction["sizes"]
    held = "; ".join("all of its classes" if split is None else
                     f"all but class(es) {', '.join(map(str, split))} (held out: OOD set `heldout-…`)"
                     for split in protocol.splits)
    if len(protocol.splits) > 1:
        held = f"{len(protocol.splits)} runs, each with its own models: " + held
    budget = reproduction.get("budget_seconds")
    lines = [f"# Reproducing “{reproduction['paper']}”", "",
             f"Seed `{reproduction['seed']}` (shared/seeds/{reproduction['source']}), scale `{reproduction['scale']}`: "
             f"in-distribution {protocol.id}, {held}. Wall time {reproduction['seconds']:.0f} s"
             + (f" (budget {budget / 60:.0f} min)" if budget else "") +
             f" on {m['device']} ({m['cpu_threads']} CPU threads of {m['cores']} cores, {m['cpu']}, torch "
             f"{m['torch']}, {m.get('processes', 1)} process(es)).", "",
             f"Sizes: models train on up to {sizes['train_samples'] or 'all'} ID training images (each model's own "
             f"cap below), detectors fit on {sizes['fit_samples'] or 'all'}, {sizes['test_samples'] or 'all'} ID test "
             f"images, up to {sizes['ood_samples'] or 'all'} images per OOD set"
             + "".join(f"; `{k}` scores {v or 'all'} per set" for k, v in sizes["images_per_set"].items())
             + ". Cells: ours [95 % bootstrap interval, 1000 resamples of the ID and OOD scores] / the paper's "
             "number (– where the paper has no cell for the stand-in).", "",
             "## Claims", ""]
    for claim in reproduction["claims"]:
        verdict = "holds" if claim["holds"] else "does not hold"
        lines.append(f"- **{verdict}**: {claim['claim']} — {claim['detail']}")
    for table in protocol.tables:
        lines += ["", f"## {table.name}: {METRIC_TITLES[table.metric]}", ""]
        lines += table_lines(table, reproduction["rows"], reproduction["overall"])
    lines += ["", "## What stands in for what", ""]
    lines += [f"- `{name}` for {why}" for name, why in reproduction["stand_ins"].items()]
    lines += ["", "## Models", "", "| model | quality | training time | details |", "|---|---|---:|---|"]
    for kind, info in reproduction["models"].items():
        lines.append(f"| {kind} | {quality(info)} | {info.get('train_seconds', '–')} s | "
                     f"{model_details(info, skip=('train_seconds',))} |")
    if reproduction["options"]:
        lines += ["", "Method options at this scale: " + ", ".join(f"{k} = {v}" for k, v in
                                                                   reproduction["options"].items()) + "."]
    if reproduction["notes"]:
        lines += ["", "## Where this run differs from the paper", ""] + [f"- {note}" for note in reproduction["notes"]]
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    write_text(out / "report.md", "\n".join(lines) + "\n")


__all__ = ["cell", "table_lines", "write_report"]
