"""Conformal decisions keep their promise: the false-alarm rate of exchangeable ID images stays
within binomial error of (and not far below) alpha, ID p-values are uniform, Benjamini–Hochberg
holds its false-discovery rate, ties are conservative, and states round-trip."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ood_ext import Conformal
from ood_ext.conformal import any_is_ood, benjamini_hochberg
from ood_ext.detectors import Detector


class FirstFeature(Detector):
    """score(x) = x[:, 0]: the test's stand-in for any fitted detector."""

    def _fit(self, loader):
        pass

    def _score(self, x):
        return x[:, 0]


def calibrated(n, generator, shift=0.0):
    cal = torch.randn(n, 1, generator=generator, dtype=torch.float64) + shift
    return Conformal(FirstFeature(progress=False).fit([])).calibrate([cal])


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
@pytest.mark.parametrize("n", [19, 99, 499])
def test_false_alarm_rate_is_at_most_alpha_and_not_far_below(alpha, n):
    generator = torch.Generator().manual_seed(n + int(1000 * alpha))
    trials = 3000
    flags = torch.tensor([bool(calibrated(n, generator).is_ood(torch.randn(1, 1, generator=generator,
                                                                              dtype=torch.float64), alpha))
                          for _ in range(trials)])
    rate, exact = flags.double().mean().item(), math.floor(alpha * (n + 1)) / (n + 1)
    error = 3.5 * math.sqrt(exact * (1 - exact) / trials)
    assert rate <= alpha + error, "the guarantee"
    assert rate >= exact - error, "not bought by refusing to flag: the rate is the exact ⌊α(n + 1)⌋ / (n + 1)"


def test_id_p_values_are_uniform():
    generator = torch.Generator().manual_seed(7)
    p = torch.cat([calibrated(999, generator).p_values(torch.randn(1, 1, generator=generator, dtype=torch.float64))
                   for _ in range(1500)]).numpy()
    assert ((p > 0) & (p <= 1)).all()
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    ood = calibrated(999, generator).p_values(torch.randn(500, 1, generator=generator, dtype=torch.float64) + 3)
    assert stats.kstest(ood.numpy(), "uniform").pvalue < 1e-6, "OOD p-values pile up near 0: the test can fail"


def test_benjamini_hochberg_keeps_its_false_discovery_rate():
    generator = torch.Generator().manual_seed(3)
    fdr, proportions, recalls = 0.1, [], []
    for _ in range(300):
        conformal = calibrated(499, generator)
        x = torch.cat([torch.randn(80, 1, generator=generator, dtype=torch.float64),
                       torch.randn(20, 1, generator=generator, dtype=torch.float64) + 3.0])
        flagged = conformal.select(x, fdr)
        proportions.append(flagged[:80].sum().item() / max(flagged.sum().item(), 1))
        recalls.append(flagged[80:].double().mean().item())
    assert np.mean(proportions) <= fdr + 3 * np.std(proportions) / math.sqrt(len(proportions))
    assert np.mean(recalls) > 0.5, "it does flag"


def test_benjamini_hochberg_by_hand():
    p = torch.tensor([0.01, 0.04, 0.03, 0.5, 0.2])
    # sorted 0.01 ≤ 0.02, 0.03 ≤ 0.04, 0.04 ≤ 0.06, 0.2 > 0.08, 0.5 > 0.1 → the three smallest
    assert benjamini_hochberg(p, 0.1).tolist() == [True, True, True, False, False]
    assert benjamini_hochberg(p, 0.001).tolist() == [False] * 5


def test_ties_count_against_flagging():
    constant = Conformal(FirstFeature(progress=False).fit([])).calibrate([torch.zeros(50, 1)])
    p = constant.p_values(torch.zeros(4, 1))
    assert torch.equal(p, torch.ones(4, dtype=torch.float64)) and not constant.is_ood(torch.zeros(4, 1), 0.5).any()
    assert constant.p_values(torch.ones(1, 1)).item() == pytest.approx(1 / 51)


def test_a_union_at_alpha_over_k_keeps_the_rate():
    generator = torch.Generator().manual_seed(11)
    flags = []
    for _ in range(2000):
        parts = [calibrated(199, generator), calibrated(199, generator)]
        flags.append(bool(any_is_ood(parts, torch.randn(1, 1, generator=generator, dtype=torch.float64), 0.1)))
    assert np.mean(flags) <= 0.1 + 3.5 * math.sqrt(0.09 / 2000)


def test_state_round_trip_and_validation(tmp_path):
    conformal = calibrated(30, torch.Generator().manual_seed(0))
    torch.save(conformal.state_dict(), tmp_path / "c.pt")
    again = Conformal(FirstFeature(progress=False)).load_state_dict(torch.load(tmp_path / "c.pt", weights_only=True))
    x = torch.randn(9, 1, dtype=torch.float64)
    assert torch.equal(again.p_values(x), conformal.p_values(x))
    for change, message in [(lambda s: s.update(scores=s["scores"].flip(0)), "sorted"),
                            (lambda s: s.update(scores=s["scores"].float()), "float64"),
                            (lambda s: s.update(scores=torch.tensor([0.0, math.nan], dtype=torch.float64)), "finite"),
                            (lambda s: s.pop("detector"), "not a Conformal state")]:
        state = conformal.state_dict()
        change(state)
        with pytest.raises(ValueError, match=message):
            Conformal(FirstFeature(progress=False)).load_state_dict(state)


def test_bad_levels_and_uncalibrated_use_are_refused():
    conformal = calibrated(10, torch.Generator().manual_seed(0))
    for bad in (0.0, 1.0, -0.1, math.nan):
        with pytest.raises(ValueError, match="alpha must be in"):
            conformal.is_ood(torch.zeros(1, 1), bad)
    with pytest.raises(ValueError, match="fdr must be in"):
        conformal.select(torch.zeros(1, 1), 2.0)
    with pytest.raises(RuntimeError, match="calibrate"):
        Conformal(FirstFeature(progress=False).fit([])).p_values(torch.zeros(1, 1))
    with pytest.raises(ValueError, match="no calibration images"):
        Conformal(FirstFeature(progress=False).fit([])).calibrate([])
