"""`ood-ext reproduce`: claims evaluated on hand-made rows, protocol validation, the bootstrap
intervals, the notMNIST stand-in, and the ROSE protocol end to end at smoke scale."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ood_ext import methods as registry
from ood_ext.cli import main
from ood_ext.data.datasets import LETTERS, letters
from ood_ext.eval import catalog
from ood_ext.metrics import bootstrap_interval
from ood_ext.reproduce import (
    METRICS,
    BeatsOnEverySet,
    BestAboveWithin,
    MeanAtLeast,
    MeanReaches,
    OverallAtLeast,
    PaperTable,
    Protocol,
    Scale,
    protocols,
)
from ood_ext.reproduce.runner import tabulate


def row(method, name, ours, table="T", metric="auroc"):
    return {"table": table, "method": method, "set": name, "metric": metric, "ours": ours, "paper": None}


ROWS = [row("a", "x", 0.9), row("a", "y", 0.8), row("b", "x", 0.7), row("b", "y", 0.85), row("c", "x", 0.1),
        row("c", "y", 0.2)]
OVERALL = [{"table": "T", "method": "a", "metric": "auroc", "ours": 0.84},
           {"table": "T", "method": "b", "metric": "auroc", "ours": 0.80}]


def test_a_claim_that_should_fail_does_and_says_where():
    holds, detail = BeatsOnEverySet("a > b everywhere", winner="a", loser="b").evaluate(ROWS, OVERALL)
    assert not holds and "y: 0.800 vs 0.850" in detail and "x:" not in detail
    holds, detail = BeatsOnEverySet("a > c everywhere", winner="a", loser="c").evaluate(ROWS, OVERALL)
    assert holds and "smallest gap 0.600" in detail
    holds, detail = BeatsOnEverySet("a > b on x", winner="a", loser="b", sets=("x",)).evaluate(ROWS, OVERALL)
    assert holds and "all 1 sets" in detail, "y is outside the claim's sets"


def test_mean_and_overall_claims():
    assert MeanAtLeast("a's mean ≥ c's", method="a", others=("c",)).evaluate(ROWS, OVERALL)[0]
    holds, detail = MeanAtLeast("b's mean ≥ a's and c's", method="b", others=("a", "c")).evaluate(ROWS, OVERALL)
    assert not holds and "< a 0.850" in detail and "≥ c 0.150" in detail
    tie = [row("a", "x", 0.5), row("b", "x", 0.5)]
    assert MeanAtLeast("a ≥ b", method="a", others=("b",)).evaluate(tie, [])[0]
    holds, detail = MeanAtLeast("a > b", method="a", others=("b",), strict=True).evaluate(tie, [])
    assert not holds and "≤ b 0.500" in detail, "a tie is not strictly above"
    assert MeanReaches("a reaches 0.85", method="a", value=0.85).evaluate(ROWS, OVERALL)[0]
    holds, detail = MeanReaches("b reaches 0.8", method="b", value=0.8).evaluate(ROWS, OVERALL)
    assert not holds and "mean 0.775 over 2 sets misses 0.800" in detail
    assert not MeanReaches("d reaches 0", method="d", value=0.0).evaluate(ROWS, OVERALL)[0], "nothing measured"
    assert OverallAtLeast("a ≥ b overall", method="a", other="b", table="T").evaluate(ROWS, OVERALL)[0]
    assert not OverallAtLeast("b ≥ a overall", method="b", other="a", table="T").evaluate(ROWS, OVERALL)[0]
    assert not OverallAtLeast("a ≥ c", method="a", other="c", table="T").evaluate(ROWS, OVERALL)[0], "no overall c"


def test_lower_is_better_for_fpr95():
    rows = [row("a", "x", 0.1, metric="fpr95"), row("b", "x", 0.3, metric="fpr95")]
    assert BeatsOnEverySet("a better", winner="a", loser="b", metric="fpr95").evaluate(rows, [])[0]
    assert not BeatsOnEverySet("b better", winner="b", loser="a", metric="fpr95").evaluate(rows, [])[0]


def test_best_above_within_compares_at_equal_acceptance():
    rows = [row(m, s, z, metric="zero_acc") for m, s, z in (("e1", "x", 0.5), ("e1", "y", 0.6), ("e2", "x", 0.7),
                                                             ("e2", "y", 0.8), ("o", "x", 0.6), ("o", "y", 0.6))]
    rows += [row(m, s, 0.95, metric="else_acc") for m in ("e1", "o") for s in ("x", "y")]
    rows += [row("e2", s, a, metric="else_acc") for s, a in (("x", 0.95), ("y", 0.955))]
    claim = BestAboveWithin("best e > o", candidates=("e1", "e2"), other="o")
    holds, detail = claim.evaluate(rows, [])
    assert holds and "best e2: zero_acc 0.750 > o 0.600" in detail and "within" in detail
    strict = BestAboveWithin("best e > o", candidates=("e1", "e2"), other="o", tolerance=0.001)
    holds, detail = strict.evaluate(rows, [])
    assert not holds and "beyond 0.001" in detail, "else_acc 0.9525 vs 0.95 is beyond 0.001"
    holds, detail = BestAboveWithin("e1 > o", candidates=("e1",), other="o").evaluate(rows, [])
    assert not holds and "0.550 ≤ o 0.600" in detail
    assert not BestAboveWithin("x", candidates=("e1",), other="nobody").evaluate(rows, [])[0]


def _protocol(**changes):
    base = dict(seed="toy", source="toy.txt", paper="Toy", sets=("noise", "digits"), methods=("msp", "energy"),
                tables=(PaperTable("T", "auroc", {"msp": "MSP", "energy": "E"}, {"noise": "Noise", "digits": "D"},
                                   {("msp", "noise"): 0.9}),),
                claims=(BeatsOnEverySet("msp > energy", winner="msp", loser="energy"),),
                stand_ins={}, scales={"smoke": Scale("smoke")})
    return Protocol(**(base | changes))


@pytest.mark.parametrize("changes,message", [
    (dict(methods=("msp", "nope")), "unknown method 'nope'"),
    (dict(sets=("noise", "mars")), "unknown OOD set 'mars'"),
    (dict(scales={"huge": Scale("smoke")}), "unknown scale 'huge'"),
    (dict(tables=(PaperTable("T", "accuracy", {"msp": "MSP"}, {"noise": "N"}),)), "unknown metric 'accuracy'"),
    (dict(tables=(PaperTable("T", "auroc", {"odin": "ODIN"}, {"noise": "N"}),)), "column 'odin' is not one of"),
    (dict(tables=(PaperTable("T", "auroc", {"msp": "MSP"}, {"faces": "F"}),)), "row 'faces' is not one of"),
    (dict(claims=(BeatsOnEverySet("odin wins", winner="odin", loser="msp"),)), "method 'odin' is not run"),
    (dict(claims=(OverallAtLeast("x", method="msp", other="energy", table="T9"),)), "no table 'T9'"),
    (dict(claims=(BeatsOnEverySet("x", winner="msp", loser="energy", sets=("mars",)),)), "set 'mars' is not one"),
    (dict(splits=((0,), (0,))), "splits must be distinct"),
    (dict(splits=()), "splits must be distinct and at least one"),
    (dict(splits=((0,), (1,))), "set 'noise': with several splits only held-out sets"),
])
def test_protocol_validation_names_what_is_wrong(changes, message):
    with pytest.raises(ValueError, match=message):
        _protocol(**changes).check(registry.methods(), catalog.BUILDERS)


def test_every_registered_protocol_is_valid():
    assert "rose" in protocols()
    for protocol in protocols().values():
        protocol.check(registry.methods(), catalog.BUILDERS)
        assert set(protocol.scales) == {"smoke", "cpu", "paper"}
        for scale, settings in protocol.scales.items():
            settings.build(f"{protocol.seed}-{scale}")


def test_tabulate_on_scored_pairs():
    from ood_ext.eval.scoring import ScoredSet

    rng = np.random.default_rng(0)
    id_scores = rng.normal(size=300)
    scored = {m: [ScoredSet(s, id_scores, rng.normal(shift, 1, 200)) for s in ("noise", "digits")]
              for m, shift in (("msp", 2.0), ("energy", 0.5))}
    out = tabulate(_protocol(), scored)
    assert len(out["rows"]) == 4 and len(out["overall"]) == 2
    first = out["rows"][0]
    assert first["paper"] == 0.9 and first["ours"] == pytest.approx(roc_auc_score(
        np.r_[np.zeros(300), np.ones(200)], np.r_[id_scores, scored["msp"][0].ood_scores]))
    assert first["interval"][0] < first["ours"] < first["interval"][1]
    assert out["claims"] == [{"claim": "msp > energy", "holds": True, "detail": out["claims"][0]["detail"]}]


def test_bootstrap_interval_covers_the_estimate_and_shrinks_with_more_images():
    rng = np.random.default_rng(1)
    widths = []
    for n in (100, 1600):
        a, b = rng.normal(size=n), rng.normal(0.5, 1, n)
        low, high = bootstrap_interval("auroc", a, b, draws=400)
        estimate = roc_auc_score(np.r_[np.zeros(n), np.ones(n)], np.r_[a, b])
        assert low < estimate < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2.5  # ~1/sqrt(n)
    assert bootstrap_interval("fpr95", a, b, draws=50)[0] <= bootstrap_interval("fpr95", a, b, draws=50)[1]
    with pytest.raises(ValueError, match="metric must be one of"):
        bootstrap_interval("accuracy", a, b)


def test_letters_are_a_deterministic_notmnist_like_set():
    first, again = letters(50, 28, seed=3), letters(50, 28, seed=3)
    assert np.array_equal(first.images, again.images) and first.classes == LETTERS
    assert first.images.shape == (50, 1, 28, 28) and first.images.min() == 0 and first.images.max() == 1
    assert 0.03 < first.images.mean() < 0.4, "white glyphs on black"
    assert not np.array_equal(first.images, letters(50, 28, seed=4).images)


def reproduce_smoke(seed, tmp_path, capsys):
    """`ood-ext reproduce SEED --scale smoke` into tmp_path / SEED; asserts it ran and says the claims
    were evaluated: (its output folder, reproduction.json)."""
    out = tmp_path / seed
    code = main(["reproduce", seed, "--scale", "smoke", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--no-progress"])
    assert code == 0 and "claims hold" in capsys.readouterr().out
    return out, json.loads((out / "reproduction.json").read_text())


def test_reproduce_rose_end_to_end_at_smoke_scale(tmp_path, capsys):
    out, saved = reproduce_smoke("rose", tmp_path, capsys)
    assert {"seed", "paper", "scale", "seconds", "rows", "claims"} <= set(saved)
    assert saved["seed"] == "rose" and saved["scale"] == "smoke" and saved["seconds"] > 0
    assert saved["paper"].startswith("Robust Out-of-distribution Detection")
    methods, sets = registry.methods(), catalog.BUILDERS
    assert len(saved["rows"]) == 7 * 6 + 7 * 2
    for r in saved["rows"]:
        assert {"table", "method", "set", "metric", "ours", "paper"} <= set(r)
        assert r["method"] in methods and r["set"] in sets and r["metric"] in METRICS
        assert 0 <= r["ours"] <= 1 and (r["paper"] is None or 0 <= r["paper"] <= 1)
    assert [c["claim"] for c in saved["claims"]] == ["ROSE > NLL on every OOD set",
                                                     "ROSE's mean AUROC ≥ each baseline's", "EKFAC ≥ DIAG overall"]
    assert all(isinstance(c["holds"], bool) for c in saved["claims"])
    report = (out / "report.md").read_text()
    assert "| MNIST (ours: `digits`) | " in report and " / 0.995 |" in report and "## What stands in for what" in report
    assert "holds" in report and (out / "roc_rose.png").exists()


def test_reproduce_hscae_runs_every_split_at_smoke_scale(tmp_path, capsys):
    _, saved = reproduce_smoke("hscae", tmp_path, capsys)
    held_out = ["heldout-T-shirt/top", "heldout-Trouser", "heldout-Pullover"]
    assert sorted({r["set"] for r in saved["rows"]}) == sorted(held_out)
    by_metric = {m: [r for r in saved["rows"] if r["metric"] == m] for m in ("zero_acc", "else_acc", "auroc")}
    assert len(by_metric["zero_acc"]) == len(by_metric["else_acc"]) == 3 * (2 + 15 + 5)
    assert all(0 <= r["ours"] <= 1 for r in saved["rows"]) and saved["overall"] == [], "rows of 3 splits: no overall"
    # Every threshold accepts 95 % of 100 held-out ID images: the 100 test images' acceptance scatters
    # around it (one ID test set per split, so the cells are not independent).
    accepted = [r["ours"] for r in by_metric["else_acc"]]
    assert 0.7 <= min(accepted) and 0.85 <= np.mean(accepted) <= 0.99
    models = set(saved["models"])
    assert {"classifier (without 0)", "classifier (without 1)", "hscae-l10 (without 2)"} <= models
    assert [c["claim"] for c in saved["claims"]] == [c.text for c in protocols()["hscae"].claims]


def test_reproduce_vmdls_scores_open_set_f1_on_both_splits_at_smoke_scale(tmp_path, capsys):
    _, saved = reproduce_smoke("vmdls", tmp_path, capsys)
    splits = ["heldout-Shirt+Sneaker+Bag+Ankle boot", "heldout-T-shirt/top+Trouser+Pullover+Dress"]
    assert sorted({r["set"] for r in saved["rows"]}) == sorted(splits)
    f1 = {(r["table"].split(" (")[0], r["method"], r["set"]): r for r in saved["rows"] if r["metric"] == "osr_f1"}
    assert len(f1) == 2 * (5 + 6 + 5) and all(0 <= r["ours"] <= 1 for r in f1.values())
    assert f1[("Table 3", "vmdls-b", splits[0])]["paper"] == 0.969
    assert f1[("Table 4", "vmdls-b-d2-lt-mt1", splits[1])]["paper"] == 0.829
    models = set(saved["models"])
    assert {"vmdls (without 6, 7, 8, 9)", "vmdls-d2-lt (without 0, 1, 2, 3)",
            "classifier (without 0, 1, 2, 3)"} <= models
    assert [c["claim"] for c in saved["claims"]] == [c.text for c in protocols()["vmdls"].claims]


def test_reproduce_anodlsgan_tabulates_far_and_near_sets_at_smoke_scale(tmp_path, capsys):
    _, saved = reproduce_smoke("anodlsgan", tmp_path, capsys)
    cells = {(r["table"], r["method"], r["set"]): r for r in saved["rows"]}
    assert len(cells) == 2 * 11 * 9 and all(0 <= r["ours"] <= 1 for r in cells.values())
    assert cells[("Table 2, far OOD", "anodlsgan", "c-fog")]["paper"] == 1.0
    assert cells[("Table 2, near OOD (k = 0.1)", "infogan", "near-animals")]["paper"] == pytest.approx(0.6588)
    assert cells[("Table 2, near OOD (k = 0.1)", "react-t10", "near-c-stripe")]["paper"] == pytest.approx(0.5486)
    models = saved["models"]
    assert {"dlsgan", "infogan", "autoencoder", "classifier"} <= set(models)
    assert {"code_correlation", "collapsed_dims", "fid_in_house", "psnr_db", "ssim"} <= set(models["dlsgan"])
    assert "test_accuracy" in models["classifier"] and "psnr_db" in models["autoencoder"]
    assert [c["claim"] for c in saved["claims"]] == [c.text for c in protocols()["anodlsgan"].claims]


def test_reproduce_rotncsn_tabulates_rotations_and_far_sets_at_smoke_scale(tmp_path, capsys):
    _, saved = reproduce_smoke("rotncsn", tmp_path, capsys)
    cells = {(r["table"].split(" (")[0], r["method"], r["set"]): r for r in saved["rows"]}
    assert len(cells) == 3 * 4 + 6 * 4 and all(0 <= r["ours"] <= 1 for r in cells.values())
    assert cells[("Table 1", "msma", "rot90")]["paper"] == 0.554 and cells[("Table 1", "rotncsn", "rot90")]["paper"] is None
    assert cells[("Table 2", "rotncsn", "digits")]["paper"] == 0.994 and cells[("Table 2", "ic-png", "animals")]["paper"] == 0.708
    assert cells[("Table 2", "lratio", "noise")]["paper"] is None
    assert {"ncsn", "rotncsn", "vae", "vae-background"} <= set(saved["models"])
    assert "test_dsm_loss" in saved["models"]["rotncsn"]
    assert [c["claim"] for c in saved["claims"]] == [c.text for c in protocols()["rotncsn"].claims]


def test_unknown_protocol_and_scale_are_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "nope", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "rose", "--scale", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err
