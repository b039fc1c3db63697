"""The benchmark's written outputs: report.md (tables per metric) and results.json."""

import json
from pathlib import Path

from ..files import write_text

METRICS = [("auroc", "AUROC (%) ↑"), ("aupr_in", "AUPR-In (%) ↑"), ("aupr_out", "AUPR-Out (%) ↑"),
           ("fpr95", "FPR@95TPR (%) ↓")]


def metric_table(grid: dict, metric: str, lower_is_better: bool) -> list[str]:
    """Markdown rows: one per OOD set, one column per method, the best of each row in bold,
    and a closing mean row."""
    methods = list(grid)
    sets = list(dict.fromkeys(name for m in methods for name in grid[m]))
    lines = ["| OOD set | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for name in sets + ["**mean**"]:
        if name == "**mean**":
            values = [sum(grid[m][s][metric] for s in grid[m]) / len(grid[m]) for m in methods]
        else:
            values = [grid[m][name][metric] if name in grid[m] else None for m in methods]
        present = [v for v in values if v is not None]
        best = (min if lower_is_better else max)(present) if present else None
        cells = ["–" if v is None else (f"**{100 * v:.1f}**" if v == best else f"{100 * v:.1f}") for v in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def write_report(out: Path, results: dict, figures: list[str]) -> None:
    """report.md and results.json in `out`."""
    write_text(out / "results.json", json.dumps(results, indent=2))
    cfg = results["config"]
    lines = [f"# OOD benchmark: {cfg['id']} (profile {cfg['profile']})", "",
             f"Methods: {', '.join(cfg['methods'])}. ID test images: {results['id_test_size']}; "
             f"up to {cfg['ood_samples'] or 'all'} images per OOD set. Scores: higher = more OOD; "
             "ID is the positive class for FPR@95TPR.", "",
             f"Run on {results['machine']['device']} ({results['machine']['cpu_threads']} CPU threads, torch "
             f"{results['machine']['torch']}, {results['machine'].get('processes', 1)} process(es)) in "
             f"{results['elapsed_seconds']:.0f} s.", "", "## Models", "",
             "| model | experiment | details |", "|---|---|---|"]
    for name, info in results["models"].items():
        details = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items())
        lines.append(f"| {name.split('@')[0]} | {name.split('@')[1]} | {details} |")
    lines += ["", "## Methods", "",
              "| method | family | description | detector settings | fit images | fit (s) | scoring (images/s) |",
              "|---|---|---|---|---:|---:|---:|"]
    for name, info in results["methods"].items():
        settings = ", ".join(f"{k} {v}" for k, v in info["settings"].items()) or "–"
        lines.append(f"| {name} | {info['family']} | {info['summary']} | {info['detector']}: {settings} | "
                     f"{info['fit_images']} | {info['fit_seconds']:.1f} | {info['images_per_second']:.0f} |")
    for metric, title in METRICS:
        lines += ["", f"## {title}", ""] + metric_table(results["metrics"], metric, metric == "fpr95")
    deciding = {m: sets for m, sets in results["metrics"].items() if all("zero_acc" in v for v in sets.values())}
    if deciding:
        lines += ["", "## Decisions at each detector's own threshold", "",
                  "Detectors that decide (e.g. the OR ensemble, thresholds chosen on ID data): OOD recall "
                  "(zero_acc) and ID acceptance (else_acc), %."]
        for metric in ("zero_acc", "else_acc"):
            lines += ["", f"### {metric}", ""] + metric_table(deciding, metric, False)
    recognising = {m: sets for m, sets in results["metrics"].items() if all("osr_f1" in v for v in sets.values())}
    if recognising:
        lines += ["", "## Open-set recognition: macro-F1 (%) ↑", "",
                  "Detectors that also classify: known classes plus 'unknown' (score above the threshold that "
                  "accepts 95 % of known training images left out of the detector's fit), the ID test images "
                  "against each OOD set."]
        lines += [""] + metric_table(recognising, "osr_f1", False)
    if results.get("skipped"):
        lines += ["", "## Skipped OOD sets", ""] + [f"- {name}: {why}" for name, why in results["skipped"].items()]
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    write_text(out / "report.md", "\n".join(lines) + "\n")
