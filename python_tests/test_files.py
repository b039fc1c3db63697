"""Every file the library writes is created fresh and renamed into place: a link planted at the
destination, at an old temporary name or at a probe name is replaced or ignored, never followed."""

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ood_ext import files  # noqa: E402
from ood_ext.cli import main  # noqa: E402
from ood_ext.data import write_idx  # noqa: E402
from conftest import digits_smoke_cache_name  # noqa: E402
from ood_ext.models import ResNetClassifier  # noqa: E402
from ood_ext.training import load_model, save_model  # noqa: E402

VICTIM_TEXT = "precious data the library did not create\n"


@pytest.fixture()
def victim(tmp_path):
    path = tmp_path / "elsewhere" / "victim.txt"
    path.parent.mkdir()
    path.write_text(VICTIM_TEXT)
    return path


def plant(link, target):
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def assert_untouched(victim, *written):
    assert victim.read_text() == VICTIM_TEXT, "the link's target was written through"
    for path in written:
        assert path.exists() and not path.is_symlink(), f"{path} is still a link"


@pytest.mark.parametrize("write", [
    lambda p: files.write_text(p, "report"),
    lambda p: files.write_bytes(p, b"\x00\x01"),
    lambda p: files.save_torch({"w": torch.ones(2)}, p),
    lambda p: files.save_figure(plt.figure(), p),
    lambda p: write_idx(p, np.zeros((2, 3), dtype=np.uint8)),
    lambda p: save_model(ResNetClassifier(1, 2, 4), p),
])
def test_each_writer_replaces_a_link_at_the_destination_or_an_old_temp_name(tmp_path, victim, write):
    target = tmp_path / "out" / "file.bin"
    plant(target, victim)
    plant(target.with_name(target.name + ".tmp"), victim)  # the fixed temporary name of old versions
    write(target)
    assert_untouched(victim, target)
    assert target.with_name(target.name + ".tmp").is_symlink(), "a planted temporary name is left alone"
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()] == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")

    def explode(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        files.write_atomic(target, explode)
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_written_files_get_ordinary_permissions(tmp_path):
    files.write_text(tmp_path / "r.md", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.md").stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_writability_probe_uses_no_fixed_name(tmp_path, victim):
    plant(tmp_path / "out" / ".write-test", victim)
    files.check_writable(tmp_path / "out")
    assert_untouched(victim)


def test_model_round_trip_through_the_safe_writer(tmp_path):
    model = ResNetClassifier(1, 3, 4)
    save_model(model, tmp_path / "m.pt", accuracy=0.5)
    other = ResNetClassifier(1, 3, 4)
    assert load_model(other, tmp_path / "m.pt") == {"accuracy": 0.5}
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


def test_benchmark_writes_through_no_planted_link(tmp_path, victim):
    out, cache = tmp_path / "runs" / "report", tmp_path / "runs" / "cache"
    model = cache / digits_smoke_cache_name()
    for link in (out / ".write-test", out / "report.md", out / "results.json", out / "auroc.png",
                 out / "roc_msp.png", cache / ".write-test", model.with_name(model.name + ".tmp")):
        plant(link, victim)
    code = main(["benchmark", "--id", "digits", "--profile", "smoke", "--methods", "msp", "--ood", "noise",
                 "--heldout-class", "none", "--out", str(out), "--no-progress"])
    assert code == 0
    assert_untouched(victim, out / "report.md", out / "results.json", out / "auroc.png", out / "roc_msp.png", model)
    assert json.loads((out / "results.json").read_text())["metrics"]["msp"]["noise"]["auroc"] >= 0
