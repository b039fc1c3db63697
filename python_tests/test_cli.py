"""The `ood-ext` command: one-line errors for bad requests, and a small end-to-end run."""

import json
import re
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest
import torch

from ood_ext.cli import main
from ood_ext.data import write_idx
from ood_ext.training import save_model

from conftest import digits_smoke_cache_name


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv,message", [
    (["benchmark", "--methods", "msp,nope"], "unknown method(s) nope"),
    (["benchmark", "--id", "imagenet"], "unknown ID dataset 'imagenet'"),
    (["benchmark", "--ood", "faces,mars"], "unknown OOD set(s) mars"),
    (["benchmark", "--id", "digits", "--ood", "digits"], "cannot also be an OOD set"),
    (["benchmark", "--profile", "huge"], "unknown profile 'huge'"),
    (["benchmark", "--device", "tpu"], "device must be"),
    (["benchmark", "--heldout-class", "first"], "expected class indices"),
    (["benchmark", "--seed", "x"], "--seed must be an integer, got 'x'"),
    (["benchmark", "--seed", "99999999999999999999"], "--seed must be in [0, 2147483647]"),
    (["benchmark", "--seed", "-5"], "--seed must be in [0, 2147483647], got -5"),
    (["benchmark", "--ood", ""], "--ood names no set"),
    (["benchmark", "--ood", " , "], "--ood names no set"),
    (["benchmark", "--dist-timeout", "0"], "--dist-timeout must be a positive number of seconds"),
    (["benchmark", "--dist-timeout", "inf"], "--dist-timeout must be a positive number of seconds"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_give_one_line_and_status_2(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, *argv, *([] if argv[0] != "benchmark" else ["--out", str(tmp_path / "r")]))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("ood-ext: error:") and message in err
    assert "Traceback" not in err


def test_unwritable_output_folder(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "benchmark", "--out", str(blocker / "report"))
    assert code == 2 and "cannot write to" in err and err.count("\n") == 1


def test_missing_requested_dataset(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("OOD_EXT_DATA", raising=False)
    code, _, err = run_cli(capsys, "benchmark", "--id", "digits", "--ood", "cifar10", "--profile", "smoke",
                           "--data-root", str(tmp_path), "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 2 and "cifar10 not found" in err and err.count("\n") == 1


def test_console_script_is_installed():
    assert any(e.name == "ood-ext" and e.value == "ood_ext.cli:main"
               for e in entry_points(group="console_scripts"))


def test_list(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "fashion-mnist" in out and "mahalanobis" in out and "c-zigzag" in out


def test_end_to_end_smoke_benchmark(tmp_path):
    out = tmp_path / "report"
    methods = ["msp", "odin", "energy", "react", "mahalanobis"]
    argv = [sys.executable, "-m", "ood_ext.cli", "benchmark", "--id", "digits", "--profile", "smoke", "--methods",
            ",".join(methods), "--ood", "faces,noise,rot90,c-fog,near-c-stripe", "--heldout-class", "3", "--out",
            str(out), "--no-progress"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    results = json.loads((out / "results.json").read_text())
    assert list(results["metrics"]) == methods
    # The held-out class is one more OOD set of the one experiment: the models know the other nine.
    assert len(results["id"]["classes"]) == 9 and "3" not in results["id"]["classes"]
    assert set(results["models"]) == {"classifier"}
    for method in methods:
        assert set(results["metrics"][method]) == {"faces", "noise", "rot90", "c-fog", "near-c-stripe", "heldout-3"}
        for values in results["metrics"][method].values():
            assert 0.0 <= values["auroc"] <= 1.0 and 0.0 <= values["fpr95"] <= 1.0
    # Far OOD noise is easy for the feature-space detector even at smoke scale.
    assert results["metrics"]["mahalanobis"]["noise"]["auroc"] > 0.9
    report = (out / "report.md").read_text()
    assert "## AUROC" in report and "| heldout-3 |" in report
    # ODIN chooses ε on known training images no model saw (ODIN_FIT_IMAGES), and the report shows it.
    odin = results["methods"]["odin"]
    assert odin["fit_unseen"] and odin["fit_images"] == 200 and 0.0 <= odin["fitted"]["step"] <= 0.004
    assert not results["methods"]["msp"]["fit_unseen"] and results["methods"]["react"]["fitted"]["clip"] > 0
    assert f"fitted: step {odin['fitted']['step']:.4g}" in report
    for png in ["auroc.png"] + [f"{kind}_{m}.png" for kind in ("roc", "hist") for m in methods]:
        assert (out / png).stat().st_size > 1000
    # A second run loads the cached models and reproduces the numbers exactly.
    second = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert json.loads((out / "results.json").read_text())["metrics"] == results["metrics"]


@pytest.mark.slow
def test_default_run_shows_every_family_with_progress_lines(tmp_path):
    """`make run`'s command at smoke scale: one detector of every family on one set of models, the
    summary table first, and off a terminal one progress line per stage and epoch, never a bar."""
    from ood_ext import methods as registry

    out = tmp_path / "report"
    run = subprocess.run([sys.executable, "-m", "ood_ext.cli", "benchmark", "--profile", "smoke", "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    defaults = registry.default_methods()
    assert list(results["metrics"]) == defaults
    assert {registry.family_of(m).name for m in defaults} == set(registry.families())
    assert set(results["metrics"]["rose"]) == {"digits", "animals", "faces", "noise", "constant", "rot90", "c-fog",
                                               "near-animals", "heldout-T-shirt/top"}
    assert all(info["train_seconds"] >= 0 for info in results["models"].values())
    report = (out / "report.md").read_text()
    sections = [line for line in report.split("\n") if line.startswith("## ")]
    assert sections[0] == "## Summary: AUROC (%) ↑" and "`--profile full` gives the papers' scale" in report
    summary = report.split("## Summary")[1].split("\n## ")[0]
    assert all(f"| {m} |" in summary for m in defaults) and "accuracy" in summary and "bits/dim" in summary
    lines = run.stderr.strip().split("\n")
    assert "\r" not in run.stderr
    progress_lines = [line for line in lines if line.startswith("[")]
    stages = 2 * len(defaults) + len(results["models"])
    assert sum("stages done" in line and "epoch" not in line for line in progress_lines) == stages
    assert all(f"{stages}/{stages} stages done" not in line for line in progress_lines[:-1])
    assert sum(": epoch " in line for line in progress_lines) == sum(
        info["epochs"] for info in results["models"].values() if "epochs" in info)


def test_end_to_end_generative_methods(tmp_path):
    out = tmp_path / "report"
    methods = ("rose,rose-diag,nll,lr,lratio,ic-png,ic-jp2,rose-glow,nll-glow,msma,msma-rec,msma-knn,rotncsn,"
               "anodlsgan,infogan,gan-reconstruction,ae-reconstruction")
    argv = [sys.executable, "-m", "ood_ext.cli", "benchmark", "--id", "digits", "--profile", "smoke", "--methods",
            methods, "--ood", "noise,c-fog", "--heldout-class", "none", "--out", str(out), "--no-progress"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr
    results = json.loads((out / "results.json").read_text())
    assert list(results["metrics"]) == methods.split(",")
    assert {"vae", "vae-background", "glow", "ncsn", "rotncsn", "dlsgan", "infogan", "autoencoder",
            "classifier"} <= set(results["models"]), "the GANs' FID needs the classifier"
    assert {"fid_in_house", "psnr_db", "ssim"} <= set(results["models"]["dlsgan"])
    assert results["methods"]["lr"]["images_per_set"] == 20
    second = subprocess.run(argv, capture_output=True, text=True, timeout=900)  # from the model cache
    assert second.returncode == 0, second.stderr
    assert json.loads((out / "results.json").read_text())["metrics"] == results["metrics"]


CACHED = digits_smoke_cache_name()


def run_digits(capsys, tmp_path):
    return run_cli(capsys, "benchmark", "--id", "digits", "--profile", "smoke", "--methods", "msp", "--ood", "noise",
                   "--heldout-class", "none", "--out", str(tmp_path / "runs" / "report"), "--no-progress")


def smoke_classifier():
    from ood_ext.data.datasets import digits_split
    from ood_ext.methods import get_profile, kinds

    return kinds()["classifier"].build(digits_split("train"), get_profile("smoke").settings("classifier"))


def _wrong_shapes(path):
    model = smoke_classifier()
    state = {k: torch.zeros(3) for k in model.state_dict()}
    torch.save({"config": model.config, "state": state, "meta": {}}, path)


def _nan_weights(path):
    model = smoke_classifier()
    with torch.no_grad():
        model.fc.weight.fill_(float("nan"))
    save_model(model, path)


def _shared_nest(depth=60):
    nest = {}
    for _ in range(depth):
        nest = {"a": nest, "b": nest}
    return nest


def _with(**entries):
    def write(path):
        model = smoke_classifier()
        saved = {"config": model.config, "state": model.state_dict(), "meta": {"epochs": 1}}
        torch.save(saved | entries, path)
    return write


def _state_with(change):
    def write(path):
        model = smoke_classifier()
        state = model.state_dict()
        change(state)
        torch.save({"config": model.config, "state": state, "meta": {}}, path)
    return write


class Payload:
    def __reduce__(self):
        return (print, ("payload ran",))


@pytest.mark.timeout(300)
def test_a_failed_run_leaves_the_report_folder_unchanged(capsys, tmp_path, monkeypatch):
    from ood_ext.eval import report

    out = tmp_path / "runs" / "report"
    out.mkdir(parents=True)
    (out / "report.md").write_text("old report")
    monkeypatch.setattr(report, "write_text", _fail_on("report.md", report.write_text))
    code, _, err = run_digits(capsys, tmp_path)
    assert code == 2 and err.count("\n") == 1 and "cannot write the report" in err and "simulated failure" in err
    assert sorted(p.name for p in out.iterdir()) == ["report.md"] and (out / "report.md").read_text() == "old report"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".report.")], "no staging folder left"


def _fail_on(name, write):
    def failing(path, text):
        if path.name == name:
            raise OSError("simulated failure")
        write(path, text)
    return failing


@pytest.mark.parametrize("name,write,message", [
    (CACHED, lambda p: torch.save({"modules": {}}, p), "not an ood_ext model file .*config"),
    (CACHED, lambda p: torch.save([1, 2], p), "not an ood_ext model file .*found list"),
    (CACHED, _wrong_shapes, "the saved model does not fit ResNetClassifier"),
    (CACHED, _nan_weights, "NaN or infinite values in fc.weight"),
    (CACHED, lambda p: p.write_bytes(b"garbage"), "not a checkpoint ood_ext wrote"),
    (CACHED.replace(".pt", "-checkpoint.pt"), lambda p: torch.save({"config": 1}, p),
     "not an ood_ext training checkpoint"),
    (CACHED.replace(".pt", "-checkpoint.pt"), lambda p: torch.save(
        {"modules": {"model": {}}, "optimizers": {"optimizer": {}}, "schedulers": {"scheduler": {}},
         "step_schedulers": {}, "epoch": 0, "history": []}, p), "saved module 'model' does not fit"),
    (CACHED, _with(config=_shared_nest()), "content is nested more than 12 levels deep"),
    (CACHED, _with(config={"width": [_shared_nest(8)] * 4}), r"config\['width'\] is a list, not a plain value"),
    (CACHED, _with(meta=_shared_nest()), "nested more than"),
    (CACHED, _with(meta=None), "metadata is a NoneType, not a dict of plain values"),
    (CACHED, _with(meta="text"), "metadata is a str, not a dict"),
    (CACHED, _with(meta={"epochs": [[1], 2]}), r"metadata\['epochs'\] is a list"),
    (CACHED, _with(meta={"losses": [1.0, "2"]}), r"metadata\['losses'\] is a list, not a plain value"),
    (CACHED, _with(meta={"losses": [1.0, float("inf")]}), r"metadata\['losses'\] holds .*inf.*not finite"),
    (CACHED, _with(meta={"loss": float("nan")}), r"metadata\['loss'\] is nan"),
    (CACHED.replace(".pt", "-checkpoint.pt"), lambda p: torch.save(
        {"modules": _shared_nest(), "optimizers": {}, "schedulers": {}, "step_schedulers": {}, "epoch": 0,
         "history": []}, p), "nested more than"),
    (CACHED, _state_with(lambda s: s.update(extra=torch.ones(1))), "unexpected extra"),
    (CACHED, _state_with(lambda s: [s.pop(k) for k in list(s)[:5]]),
     r"missing stem\.0\.weight, .* and 2 more"),
    (CACHED, _state_with(lambda s: s.update({"fc.weight": torch.ones(2, 2)})),
     r"wrong fc\.weight tensor\[2, 2\] torch\.float32 \(expected \[\d+, \d+\]\)"),
    (CACHED, lambda p: torch.save(Payload(), p),
     r"not a checkpoint ood_ext wrote \(it holds objects other than tensors"),
])
@pytest.mark.timeout(120)  # crafted nests of shared containers once hung the run
def test_a_bad_cache_entry_is_one_bounded_line_saying_how_to_rebuild(capsys, tmp_path, name, write, message):
    path = tmp_path / "runs" / "cache" / name
    path.parent.mkdir(parents=True)
    write(path)
    code, out, err = run_digits(capsys, tmp_path)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert len(err) < 700 and "weights_only" not in err and "payload ran" not in out + err, err
    assert str(path) in err and "(delete it to retrain)" in err and re.search(message, err), err
    assert not (tmp_path / "runs" / "report" / "report.md").exists(), "refused before any report is written"


def _fashion_root(tmp_path, images=None, labels=None, header=None):
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for tag in ("train", "t10k"):
        write_idx(folder / f"{tag}-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
                  if images is None else images)
        write_idx(folder / f"{tag}-labels-idx1-ubyte", np.arange(30, dtype=np.uint8) % 10 if labels is None else labels)
    if header is not None:
        (folder / "train-images-idx3-ubyte").write_bytes(header)
    return tmp_path / "data"


@pytest.mark.parametrize("damage,message", [
    (dict(labels=np.full(30, 200, dtype=np.uint8)), r"labels range over \[200, 200\], outside the 10 classes"),
    (dict(images=np.zeros((0, 28, 28), dtype=np.uint8), labels=np.zeros(0, dtype=np.uint8)), "holds no images"),
    (dict(header=bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") * 2 + (4).to_bytes(4, "big")),
     "truncated or corrupt"),
])
def test_damaged_idx_files_are_one_line_naming_the_file(capsys, tmp_path, monkeypatch, damage, message):
    monkeypatch.delenv("OOD_EXT_DATA", raising=False)
    root = _fashion_root(tmp_path, **damage)
    code, _, err = run_cli(capsys, "benchmark", "--profile", "smoke", "--methods", "msp", "--ood", "noise",
                           "--data-root", str(root), "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(root / "fashion-mnist") in err and re.search(message, err), err


def test_heldout_only_run_with_decision_metrics(capsys, tmp_path):
    out = tmp_path / "report"
    code, _, err = run_cli(capsys, "benchmark", "--id", "digits", "--profile", "smoke", "--methods",
                           "hscae-ensemble-h2,msp", "--ood", "none", "--heldout-class", "3", "--out", str(out),
                           "--no-progress")
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert set(results["metrics"]["msp"]) == {"heldout-3"}, "--ood none: only the held-out class"
    ensemble = results["metrics"]["hscae-ensemble-h2"]["heldout-3"]
    assert 0 <= ensemble["zero_acc"] <= 1 and ensemble["else_acc"] >= 0.9, "thresholds accept ~95 % of ID data"
    assert "zero_acc" not in results["metrics"]["msp"]["heldout-3"]
    assert "### else_acc" in (out / "report.md").read_text()
    code, _, err = run_cli(capsys, "benchmark", "--ood", "none", "--heldout-class", "none", "--out", str(out))
    assert code == 2 and "give --heldout-class" in err


def test_open_set_recognition_run(capsys, tmp_path):
    out = tmp_path / "report"
    code, _, err = run_cli(capsys, "benchmark", "--id", "digits", "--profile", "smoke", "--methods",
                           "vmdls,vmdls-b,msp,anodlsgan", "--ood", "noise", "--heldout-class", "6,7,8,9", "--out",
                           str(out), "--no-progress")
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert set(results["metrics"]["vmdls"]) == {"noise", "heldout-6+7+8+9"}
    for method in ("vmdls", "vmdls-b", "msp"):  # detectors that classify get the open-set macro-F1
        assert all(0 <= v["osr_f1"] <= 1 for v in results["metrics"][method].values()), method
    assert "osr_f1" not in results["metrics"]["anodlsgan"]["noise"]
    assert results["models"]["vmdls"]["test_accuracy"] > 0
    assert "## Open-set recognition" in (out / "report.md").read_text()
