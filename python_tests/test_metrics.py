"""Metrics against sklearn / scipy, hand-checked cases, ties, and SSIM against scikit-image."""

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from ood_ext import metrics


def random_scores(seed, ties=False):
    rng = np.random.default_rng(seed)
    id_s, ood_s = rng.normal(0, 1, 300), rng.normal(1, 1, 200)
    if ties:
        id_s, ood_s = np.round(id_s), np.round(ood_s)
    return id_s, ood_s


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_area_metrics_match_independent_computations(seed, ties):
    id_s, ood_s = random_scores(seed, ties)
    y = np.r_[np.zeros(len(id_s)), np.ones(len(ood_s))]
    s = np.r_[id_s, ood_s]
    # AUROC = Mann–Whitney U / (n_id · n_ood), ties counted half.
    u = mannwhitneyu(ood_s, id_s).statistic
    assert abs(metrics.auroc(id_s, ood_s) - u / (len(id_s) * len(ood_s))) < 1e-9
    assert abs(metrics.auroc(id_s, ood_s) - roc_auc_score(y, s)) < 1e-12
    assert abs(metrics.aupr_out(id_s, ood_s) - average_precision_score(y, s)) < 1e-12
    assert abs(metrics.aupr_in(id_s, ood_s) - average_precision_score(1 - y, -s)) < 1e-12


def test_hand_checked_small_case():
    id_s, ood_s = [0.1, 0.2, 0.3, 0.4], [0.35, 0.5]
    # Pairs (ood > id): 0.35 beats 3, 0.5 beats 4 → 7 of 8.
    assert metrics.auroc(id_s, ood_s) == pytest.approx(7 / 8)
    # OOD ranked first: 0.5 (P=1 at R=.5), 0.4 id, 0.35 (P=2/3 at R=1) → AP = .5·1 + .5·2/3.
    assert metrics.aupr_out(id_s, ood_s) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # τ = 95th percentile of ID = 0.385; OOD ≤ τ: 0.35 → FPR 1/2.
    assert metrics.threshold_at_tpr(id_s) == pytest.approx(0.385)
    assert metrics.fpr_at_tpr(id_s, ood_s) == pytest.approx(0.5)
    assert metrics.tnr_at_tpr(id_s, ood_s) == pytest.approx(0.5)
    # Best threshold between 0.3 and 0.35: TPR_id 3/4 accepted, all OOD rejected → ½(1 + 3/4).
    assert metrics.detection_accuracy(id_s, ood_s) == pytest.approx(0.875)


def test_perfect_and_reversed_separation():
    assert metrics.auroc([0, 1], [2, 3]) == 1.0 and metrics.fpr_at_tpr([0, 1], [2, 3]) == 0.0
    assert metrics.auroc([2, 3], [0, 1]) == 0.0 and metrics.fpr_at_tpr([2, 3], [0, 1]) == 1.0
    assert metrics.detection_accuracy([0, 0], [0, 0]) == 0.5


def test_fpr_counts_ties_at_the_threshold_as_accepted():
    assert metrics.fpr_at_tpr([1.0] * 20, [1.0, 2.0]) == 0.5


def test_accepts_tensors_and_rejects_bad_scores():
    assert metrics.auroc(torch.tensor([0.0, 1.0]), torch.tensor([2.0])) == 1.0
    with pytest.raises(ValueError, match="NaN"):
        metrics.auroc([0.0, float("nan")], [1.0])
    with pytest.raises(ValueError, match="non-empty"):
        metrics.auroc([], [1.0])


def test_open_set_f1_matches_sklearn():
    rng = np.random.default_rng(3)
    id_true = rng.integers(0, 3, 60)
    id_pred = np.where(rng.random(60) < 0.8, id_true, rng.integers(0, 3, 60))
    id_s, ood_s = rng.normal(0, 1, 60), rng.normal(1.5, 1, 40)
    tau = 1.0
    pred = np.r_[np.where(id_s > tau, 3, id_pred), np.where(ood_s > tau, 3, 4)]
    truth = np.r_[id_true, np.full(40, 3)]
    want = f1_score(truth, pred, labels=[0, 1, 2, 3], average="macro", zero_division=0)
    assert metrics.open_set_f1(id_pred, id_true, id_s, ood_s, tau, 3) == pytest.approx(want)


def test_zero_and_else_accuracy():
    assert metrics.zero_acc([0.5, 1.5, 2.5], 1.0) == pytest.approx(2 / 3)
    assert metrics.else_acc([0.5, 1.5], 1.0) == 0.5
    assert metrics.else_acc([0.5, 0.6], 1.0, id_pred=[1, 2], id_true=[1, 0]) == 0.5


def test_psnr_and_ssim_match_scikit_image():
    rng = np.random.default_rng(4)
    a = rng.random((3, 1, 28, 28))
    b = np.clip(a + 0.1 * rng.normal(size=a.shape), 0, 1)
    got_ssim = metrics.ssim(torch.tensor(a), torch.tensor(b))
    got_psnr = metrics.psnr(torch.tensor(a), torch.tensor(b))
    for i in range(3):
        want = structural_similarity(a[i, 0], b[i, 0], gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=1.0)
        assert got_ssim[i].item() == pytest.approx(want, abs=1e-9)
        assert got_psnr[i].item() == pytest.approx(peak_signal_noise_ratio(a[i, 0], b[i, 0], data_range=1.0))
    assert metrics.ssim(torch.tensor(a), torch.tensor(a)).allclose(torch.ones(3, dtype=torch.float64))
