"""OOD detection metrics. Convention: a score is an OOD score (higher = more OOD) and, for the
threshold metrics, in-distribution is the positive class (docs/methods.md, "Metrics").

All functions take array-likes (numpy, torch, lists) of ID and OOD scores.
"""


import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score, roc_curve


def _scores(id_scores, ood_scores):
    id_scores = np.asarray(id_scores.detach().cpu() if torch.is_tensor(id_scores) else id_scores, dtype=np.float64)
    ood_scores = np.asarray(ood_scores.detach().cpu() if torch.is_tensor(ood_scores) else ood_scores, dtype=np.float64)
    if id_scores.ndim != 1 or ood_scores.ndim != 1 or len(id_scores) == 0 or len(ood_scores) == 0:
        raise ValueError("id_scores and ood_scores must be non-empty 1-D")
    if not (np.isfinite(id_scores).all() and np.isfinite(ood_scores).all()):
        raise ValueError("scores contain NaN or infinite values")
    labels = np.concatenate([np.zeros(len(id_scores)), np.ones(len(ood_scores))])
    return id_scores, ood_scores, labels, np.concatenate([id_scores, ood_scores])


def auroc(id_scores, ood_scores) -> float:
    """Area under the ROC curve of OOD (positive) vs ID by score."""
    _, _, y, s = _scores(id_scores, ood_scores)
    return float(roc_auc_score(y, s))


def aupr_out(id_scores, ood_scores) -> float:
    """Average precision with OOD as the positive class, ranked by score."""
    _, _, y, s = _scores(id_scores, ood_scores)
    return float(average_precision_score(y, s))


def aupr_in(id_scores, ood_scores) -> float:
    """Average precision with ID as the positive class, ranked by −score."""
    _, _, y, s = _scores(id_scores, ood_scores)
    return float(average_precision_score(1 - y, -s))


def threshold_at_tpr(id_scores, tpr: float = 0.95) -> float:
    """The score τ that accepts (score ≤ τ) a fraction `tpr` of the ID scores: their tpr-quantile
    (linear interpolation)."""
    if not 0.0 < tpr <= 1.0:
        raise ValueError(f"tpr must be in (0, 1], got {tpr}")
    id_scores = np.asarray(id_scores.detach().cpu() if torch.is_tensor(id_scores) else id_scores, dtype=np.float64)
    return float(np.quantile(id_scores, tpr))


def fpr_at_tpr(id_scores, ood_scores, tpr: float = 0.95) -> float:
    """Fraction of OOD scores accepted as ID (≤ τ) at the threshold τ that accepts `tpr` of ID."""
    id_scores, ood_scores, _, _ = _scores(id_scores, ood_scores)
    return float(np.mean(ood_scores <= threshold_at_tpr(id_scores, tpr)))


def tnr_at_tpr(id_scores, ood_scores, tpr: float = 0.95) -> float:
    """1 − fpr_at_tpr: the fraction of OOD rejected."""
    return 1.0 - fpr_at_tpr(id_scores, ood_scores, tpr)


def detection_accuracy(id_scores, ood_scores) -> float:
    """max over thresholds of ½ (TPR + TNR)."""
    _, _, y, s = _scores(id_scores, ood_scores)
    fpr, tpr, _ = roc_curve(y, s)
    return float(np.max(0.5 * (tpr + 1.0 - fpr)))


def summary(id_scores, ood_scores) -> dict:
    """AUROC, AUPR-In, AUPR-Out, FPR@95TPR, TNR@95TPR and detection accuracy, as a dict."""
    return {
        "auroc": auroc(id_scores, ood_scores),
        "aupr_in": aupr_in(id_scores, ood_scores),
        "aupr_out": aupr_out(id_scores, ood_scores),
        "fpr95": fpr_at_tpr(id_scores, ood_scores),
        "tnr95": tnr_at_tpr(id_scores, ood_scores),
        "detection_accuracy": detection_accuracy(id_scores, ood_scores),
    }


# The per-pair metrics by the names results.json and reproduction.json use.
PAIR_METRICS = {"auroc": auroc, "aupr_in": aupr_in, "aupr_out": aupr_out, "fpr95": fpr_at_tpr}


def _ranked_auroc(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """AUROC by the Mann–Whitney statistic (ties count ½), as roc_auc_score."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([id_scores, ood_scores]))
    n_id, n_ood = len(id_scores), len(ood_scores)
    return float((ranks[n_id:].sum() - n_ood * (n_ood + 1) / 2) / (n_id * n_ood))


def bootstrap_interval(metric: str, id_scores, ood_scores, draws: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a PAIR_METRICS metric: the ID and the OOD scores are each
    resampled with replacement `draws` times; returns the (1 − level)/2 and (1 + level)/2
    quantiles of the metric over the draws."""
    if metric not in PAIR_METRICS:
        raise ValueError(f"metric must be one of {', '.join(PAIR_METRICS)}, got {metric!r}")
    id_scores, ood_scores, _, _ = _scores(id_scores, ood_scores)
    fn = _ranked_auroc if metric == "auroc" else PAIR_METRICS[metric]
    rng = np.random.default_rng(seed)
    values = [fn(id_scores[rng.integers(len(id_scores), size=len(id_scores))],
                 ood_scores[rng.integers(len(ood_scores), size=len(ood_scores))]) for _ in range(draws)]
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def open_set_f1(id_pred, id_true, id_scores, ood_scores, threshold: float, num_classes: int) -> float:
    """Open-set macro-F1 over C + 1 labels: a sample with score > threshold is labelled
    'unknown' (label C), otherwise with its predicted class; OOD samples' true label is C."""
    id_pred, id_true = np.asarray(id_pred), np.asarray(id_true)
    id_scores, ood_scores, _, _ = _scores(id_scores, ood_scores)
    predicted = np.concatenate([np.where(id_scores > threshold, num_classes, id_pred),
                                np.where(ood_scores > threshold, num_classes, -1)])
    truth = np.concatenate([id_true, np.full(len(ood_scores), num_classes)])
    predicted[predicted == -1] = num_classes + 1  # an OOD sample accepted as ID: always wrong
    return float(f1_score(truth, predicted, labels=np.arange(num_classes + 1), average="macro", zero_division=0))


def zero_acc(ood_scores, threshold: float) -> float:
    """OOD recall at a threshold: the fraction of OOD scores above it."""
    return float(np.mean(np.asarray(ood_scores, dtype=np.float64) > threshold))


def else_acc(id_scores, threshold: float, id_pred=None, id_true=None) -> float:
    """ID accuracy at a threshold: the fraction of ID samples accepted (score ≤ threshold) and,
    when predictions and labels are given, also classified correctly."""
    accepted = np.asarray(id_scores, dtype=np.float64) <= threshold
    if id_pred is not None:
        accepted &= np.asarray(id_pred) == np.asarray(id_true)
    return float(np.mean(accepted))


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image of [N, C, H, W] batches, in dB: [N]."""
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float, dtype) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean structural similarity per image of [N, C, H, W] batches: [N].

    Gaussian window (11, σ 1.5), population statistics, means over the valid (unpadded) region
    and channels — the convention of Wang et al. and of skimage's gaussian_weights=True."""
    x, y = x.double(), y.double()
    n, c = x.shape[:2]
    w = _gaussian_window(window, sigma, x.dtype).to(x.device).expand(c, 1, window, window)

    def filt(t):
        return F.conv2d(t, w, groups=c)

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x**2
    var_y = filt(y * y) - mu_y**2
    cov = filt(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1)


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to feature rows a [N, F] and b [M, F] (FID when
    the features come from a classifier; ours is "FID-in-house", no Inception weights offline):
    ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}), in float64 (the trace of the square root
    from the eigenvalues of Σ_a^{1/2} Σ_b Σ_a^{1/2}, which are real and non-negative)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    lam, q = torch.linalg.eigh(cov_a)
    root_a = (q * lam.clamp(min=0).sqrt()) @ q.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


__all__ = ["PAIR_METRICS", "aupr_in", "aupr_out", "auroc", "bootstrap_interval", "detection_accuracy", "else_acc",
           "fpr_at_tpr", "frechet_distance", "open_set_f1", "psnr", "ssim", "summary", "threshold_at_tpr", "tnr_at_tpr",
           "zero_acc"]
