"""The benchmark's figures (matplotlib, written as PNG): an AUROC heat map, ROC curves and score
histograms per method."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from ..files import save_figure  # noqa: E402
from .scoring import ScoredSet  # noqa: E402


def auroc_heatmap(grid: dict, path: Path) -> None:
    """Methods × OOD sets AUROC (%) as an annotated heat map."""
    methods = list(grid)
    sets = list(dict.fromkeys(s for m in methods for s in grid[m]))
    values = np.array([[100 * grid[m][s]["auroc"] if s in grid[m] else np.nan for m in methods] for s in sets])
    fig, ax = plt.subplots(figsize=(1.2 * len(methods) + 3, 0.32 * len(sets) + 1.5))
    image = ax.imshow(values, cmap="viridis", vmin=50, vmax=100, aspect="auto")
    ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
    ax.set_yticks(range(len(sets)), sets, fontsize=8)
    for i in range(len(sets)):
        for j in range(len(methods)):
            if not np.isnan(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] < 80 else "black")
    fig.colorbar(image, ax=ax, label="AUROC (%)")
    ax.set_title("AUROC per method and OOD set")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def roc_curves(method: str, scored: list[ScoredSet], path: Path) -> None:
    """ROC curves (OOD positive) of one method, one line per OOD set."""
    fig, ax = plt.subplots(figsize=(7, 6))
    colors = plt.cm.turbo(np.linspace(0, 1, max(len(scored), 2)))
    for color, s in zip(colors, scored):
        y = np.r_[np.zeros(len(s.id_scores)), np.ones(len(s.ood_scores))]
        fpr, tpr, _ = roc_curve(y, np.r_[s.id_scores, s.ood_scores])
        ax.plot(fpr, tpr, color=color, lw=1, label=s.name)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate (ID flagged OOD)", ylabel="true positive rate (OOD flagged)",
           title=f"ROC curves: {method}", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=6, ncol=2, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def score_histograms(method: str, scored: list[ScoredSet], path: Path) -> None:
    """Histograms of one method's ID scores against each OOD set's, in a grid of panels."""
    cols = 5
    rows = int(np.ceil(len(scored) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False)
    for ax, s in zip(axes.flat, scored):
        low, high = np.percentile(np.r_[s.id_scores, s.ood_scores], [0.5, 99.5])
        bins = np.linspace(low, high if high > low else low + 1, 40)
        ax.hist(np.clip(s.id_scores, low, high), bins, alpha=0.6, density=True, label="ID")
        ax.hist(np.clip(s.ood_scores, low, high), bins, alpha=0.6, density=True, label="OOD")
        ax.set_title(s.name, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.flat[len(scored):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Score histograms: {method} (higher = more OOD)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
