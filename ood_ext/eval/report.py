"""The benchmark's written outputs: report.md (tables per metric) and results.json."""

import json
from pathlib import Path

from ..files import write_text

METRICS = [("auroc", "AUROC (%) ↑"), ("aupr_in", "AUPR-In (%) ↑"), ("aupr_out", "AUPR-Out (%) ↑"),
           ("fpr95", "FPR@95TPR (%) ↓")]


def _cell(value: float, best: float) -> str:
    """A percentage, bold when it is the best."""
    return f"**{100 * value:.1f}**" if value == best else f"{100 * value:.1f}"


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
        cells = ["–" if v is None else _cell(v, best) for v in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


# A model's quality figure in the summary: the first of these its trainer reported.
QUALITY = [("test_accuracy", lambda v: f"accuracy {100 * v:.1f} %"),
           ("test_bits_per_dim", lambda v: f"{v:.2f} bits/dim"),
           ("test_neg_elbo_bits_per_dim", lambda v: f"−ELBO {v:.2f} bits/dim"),
           ("code_correlation", lambda v: f"code correlation {v:.2f}"),
           ("fid_in_house", lambda v: f"FID {v:.1f} (in-house)"),
           ("psnr_db", lambda v: f"PSNR {v:.1f} dB"),
           ("test_mse", lambda v: f"test MSE {v:.4f}"),
           ("test_dsm_loss", lambda v: f"test DSM loss {v:.4g}")]


def quality(info: dict) -> str:
    """The model's quality figure, e.g. 'accuracy 91.2 %', or '–'."""
    return next((show(info[key]) for key, show in QUALITY if key in info), "–")


def _figure(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_figure, value)) + "]"
    return str(value)


def model_details(info: dict, skip: tuple[str, ...] = ()) -> str:
    """A trainer's figures as 'name value, …' (floats and lists of them to 4 significant digits)."""
    return ", ".join(f"{k} {_figure(v)}" for k, v in info.items() if k not in skip)


def summary_table(results: dict) -> list[str]:
    """One row per method: AUROC (%) per OOD set and its mean, then its models' training time and
    quality (a model cached by an earlier run shows the time it took then)."""
    grid = results["metrics"]
    sets = list(dict.fromkeys(name for m in grid for name in grid[m]))
    lines = ["| method | " + " | ".join(sets) + " | **mean** | models: training time, quality |",
             "|---|" + "---:|" * (len(sets) + 1) + "---|"]
    best = {s: max(grid[m][s]["auroc"] for m in grid if s in grid[m]) for s in sets}
    means = {m: sum(v["auroc"] for v in grid[m].values()) / len(grid[m]) for m in grid}
    for method in grid:
        cells = []
        for s in sets:
            value = grid[method].get(s, {}).get("auroc")
            cells.append("–" if value is None else _cell(value, best[s]))
        mean = _cell(means[method], max(means.values()))
        trained = []
        for kind in results["methods"][method].get("models", []):
            info = results["models"].get(kind, {})
            seconds = info.get("train_seconds")
            trained.append(f"{kind} {'–' if seconds is None else f'{seconds:.0f} s'}, {quality(info)}")
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {mean} | " + "; ".join(trained) + " |")
    return lines


def write_report(out: Path, results: dict, figures: list[str]) -> None:
    """report.md and results.json in `out`."""
    write_text(out / "results.json", json.dumps(results, indent=2))
    cfg, data = results["config"], results["id"]
    heldout = cfg.get("heldout_classes")
    known = (f"its {len(data['classes'])} known classes ({', '.join(data['classes'])})" if data.get("classes")
             else "all of it")
    held_out_sets = sorted({s for sets in results["metrics"].values() for s in sets if s.startswith("heldout-")})
    held_out = (f"; class(es) {', '.join(map(str, heldout))} held out as the OOD set "
                + ", ".join(f"`{s}`" for s in held_out_sets)) if heldout else ""
    lines = [f"# OOD benchmark: {cfg['id']} (profile {cfg['profile']})", "",
             f"In-distribution: {cfg['id']}, {known}{held_out}. "
             f"Sizes: {data['train_size']} ID training images (models train on at most these; each "
             f"trainer's own cap is in its settings), {data['test_size']} ID test images, up to "
             f"{cfg['ood_samples'] or 'all'} images per OOD set; "
             + ("the papers' scale (all the data, the papers' model sizes and epochs, for a GPU)."
                if cfg["profile"] == "full" else
                f"the {cfg['profile']} profile's sizes — `--profile full` gives the papers' scale (all the data, "
                "the papers' model sizes and epochs; for a GPU)."), "",
             f"Run on {results['machine']['device']} ({results['machine']['cpu_threads']} CPU threads, torch "
             f"{results['machine']['torch']}, {results['machine'].get('processes', 1)} process(es)) in "
             f"{results['elapsed_seconds']:.0f} s. Scores: higher = more OOD; ID is the positive class for "
             "FPR@95TPR.", "",
             "## Summary: AUROC (%) ↑", ""] + summary_table(results) + [
             "", "Per-family details, every metric, ROC curves and histograms follow.", "",
             "## Models", "", "| model | details |", "|---|---|"]
    for name, info in results["models"].items():
        lines.append(f"| {name} | {model_details(info)} |")
    lines += ["", "## Methods", "",
              "| method | family | description | detector settings | fit images | fit (s) | scoring (images/s) |",
              "|---|---|---|---|---:|---:|---:|"]
    for name, info in results["methods"].items():
        settings = ", ".join(f"{k} {v}" for k, v in info["settings"].items()) or "–"
        if info.get("fitted"):
            settings += "; fitted: " + ", ".join(f"{k} {v:.4g}" for k, v in info["fitted"].items())
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
                  "accepts 95 % of known training images its models and fit did not see), the ID test images "
                  "against each OOD set."]
        lines += [""] + metric_table(recognising, "osr_f1", False)
    calibrated = {m: sets for m, sets in results["metrics"].items()
                  if all("conformal_recall" in v for v in sets.values())}
    if calibrated:
        sets = list(dict.fromkeys(s for v in calibrated.values() for s in v))
        lines += ["", "## Decisions at a promised false-alarm rate (split conformal, α = 0.05)", "",
                  "Each detector calibrated on as many ID training images as it scores ID test images, "
                  f"{next(iter(results['methods'][m]['calibration'] for m in calibrated))}; an image is flagged OOD "
                  "when its conformal p-value is at most 0.05, which promises that at most 5 % of exchangeable ID "
                  "images are flagged. Realised false-alarm rate on the ID test images beside the target (it "
                  "scatters around the promise: a calibration set of n images gives a rate with a standard deviation "
                  "of about √(0.05 · 0.95 / n)), and the recall (%) of each OOD set.", "",
                  "| method | false alarms (%) | target (%) | " + " | ".join(sets) + " | mean recall |",
                  "|---|---:|---:|" + "---:|" * (len(sets) + 1)]
        for method, values in calibrated.items():
            alarms = next(iter(values.values()))["conformal_false_alarms"]
            recalls = [values[s]["conformal_recall"] if s in values else None for s in sets]
            present = [r for r in recalls if r is not None]
            cells = ["–" if r is None else f"{100 * r:.1f}" for r in recalls]
            lines.append(f"| {method} | {100 * alarms:.1f} | 5.0 | " + " | ".join(cells)
                         + f" | {100 * sum(present) / len(present):.1f} |")
    if results.get("skipped"):
        lines += ["", "## Skipped OOD sets", ""] + [f"- {name}: {why}" for name, why in results["skipped"].items()]
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    write_text(out / "report.md", "\n".join(lines) + "\n")
