"""Fitting and scoring over torch.distributed: two gloo processes on this CPU, each fitting on its
strided shard, give the single-process fit (float64, 1e-10 relative; curvature eigenbases through
the preconditioner they define) and the single-process scores, in order — for ROSE (EKFAC, DIAG), Mahalanobis, ReAct, MSMA, AnoDLSGAN, HSCAE's
ensemble, VMDLS, VMDLS_b and a conformal calibration."""

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ood_ext import distributed
from ood_ext.data.images import loader
from ood_ext.detectors import (
    HSCAE,
    MSMA,
    ODIN,
    ROSE,
    VMDLS,
    LatentLikelihood,
    Mahalanobis,
    OrEnsemble,
    ReAct,
    VMDLSBasic,
)
from ood_ext.detectors.base import map_tensors
from ood_ext.models import DLSGAN, NCSN, ConvVAE, ResNetClassifier, SelfConditionedAutoencoder, VMDLSNet

WORLD = 2


def _vae_loss(model, x):
    return model.neg_elbo(x, sample=False)


class _Blur(torch.nn.Module):
    def reconstruct(self, x):
        return torch.nn.functional.avg_pool2d(x, 3, 1, 1)


def _seeded(make):
    torch.manual_seed(0)
    return make().double().eval()


def _rose(fisher):
    return ROSE(_seeded(lambda: ConvVAE(1, width=4, latent=6)), _vae_loss, "encoder", fisher, fisher_samples=21,
                norm_samples=15, progress=False)


def _hscae():
    classifier = _seeded(lambda: ResNetClassifier(1, 3, width=4))
    autoencoder = _seeded(lambda: SelfConditionedAutoencoder(1, 32, classes=3, width=2, latent=4, depth=1))
    parts = [ODIN(classifier, temperature=10.0, progress=False), HSCAE(autoencoder, classifier, 2, progress=False)]
    for part in parts:
        part.fit([])
    return OrEnsemble(parts, progress=False)


class _Calibrated:
    """A Mahalanobis fitted, then conformally calibrated, on the same loader: the calibration
    scores are gathered over the ranks; p-values score."""

    def __init__(self):
        from ood_ext import Conformal

        self.conformal = Conformal(Mahalanobis(_seeded(lambda: ResNetClassifier(1, 3, width=4)), progress=False))

    def fit(self, batches):
        self.conformal.detector.fit(batches)
        self.conformal.calibrate(batches)

    def state_dict(self):
        return {"state": {"scores": self.conformal.scores}}

    def score(self, x):
        return self.conformal.p_values(x)


CASES = {
    "rose-ekfac": lambda: _rose("ekfac"),
    "rose-diag": lambda: _rose("diag"),
    "mahalanobis": lambda: Mahalanobis(_seeded(lambda: ResNetClassifier(1, 3, width=4)), progress=False),
    "react": lambda: ReAct(_seeded(lambda: ResNetClassifier(1, 3, width=4)), progress=False),
    "msma": lambda: MSMA(_seeded(lambda: NCSN(1, width=4, levels=5)), "msma", "gmm", components=(2,), folds=2,
                         progress=False),
    "anodlsgan": lambda: LatentLikelihood(_seeded(lambda: DLSGAN(1, 4, 8)), progress=False),
    "hscae-ensemble": _hscae,
    "vmdls-b": lambda: VMDLSBasic(_seeded(lambda: VMDLSNet(1, 3, width=2, latent=4)), progress=False),
    "vmdls": lambda: VMDLS(_seeded(lambda: VMDLSNet(1, 3, width=2, latent=4)), _Blur(), progress=False),
    "conformal": _Calibrated,
}


def _data():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(61, 1, 32, 32, generator=g, dtype=torch.float64)
    labels = np.arange(61) % 3
    x += 0.3 * torch.as_tensor(labels)[:, None, None, None]  # classes differ in brightness
    return x.clamp(0, 1), labels, torch.rand(23, 1, 32, 32, generator=g, dtype=torch.float64)


def _fit_and_score(name, x, labels, test):
    detector = CASES[name]()
    detector.fit(loader(x, labels, batch_size=8))
    return detector.state_dict(), distributed.map_sharded(detector.score, test)


def _worker(rank, rendezvous, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    try:
        x, labels, test = _data()
        results = {name: _fit_and_score(name, distributed.shard(x), distributed.shard(labels), test)
                   for name in CASES}
        if distributed.is_main():
            torch.save(results, out)
    finally:
        distributed.leave()


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(str(folder / "rendezvous"), str(folder / "out.pt")), nprocs=WORLD)
    return torch.load(folder / "out.pt", weights_only=False)


def _preconditioner(curvature: dict, probes: torch.Tensor) -> torch.Tensor:
    """vec(V)ᵀ (F + λ)⁻¹ vec(V) of probe gradients V [K, Dout, Din] under a fitted curvature: what
    a fit determines; its eigenbases alone are not (degenerate eigenvalues, signs)."""
    rotated = probes if curvature["basis_a"] is None else curvature["basis_g"].T @ probes @ curvature["basis_a"]
    return (rotated**2 / (curvature["eigenvalues"] + 1e-3)).sum((1, 2))


def _assert_close(a, b, where):
    if isinstance(a, dict) and "basis_a" in a:  # a fitted layer curvature
        probes = torch.randn(8, *a["eigenvalues"].shape, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(0))
        _assert_close(a["eigenvalues"], b["eigenvalues"], f"{where}.eigenvalues")
        _assert_close(_preconditioner(a, probes), _preconditioner(b, probes), f"{where} as (F + λ)⁻¹")
    elif torch.is_tensor(a):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=lambda m: f"{where}: {m}")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-12), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_close(u, v, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_close(a[k], b[k], f"{where}.{k}")
    else:
        assert a == b, where


@pytest.mark.parametrize("name", list(CASES))
def test_two_processes_fit_and_score_like_one(two_process_results, name):
    x, labels, test = _data()
    want_state, want_scores = _fit_and_score(name, x, labels, test)
    got_state, got_scores = two_process_results[name]
    _assert_close(map_tensors(got_state["state"], lambda t: t.cpu()), want_state["state"], name)
    assert got_scores.shape == want_scores.shape == (len(test),)
    torch.testing.assert_close(got_scores, want_scores, rtol=1e-10, atol=1e-12)


def test_single_process_helpers_are_the_identity():
    x = torch.arange(10.0)
    assert not distributed.active() and distributed.world_size() == 1 and distributed.is_main()
    assert torch.equal(distributed.shard(x), x) and distributed.shard_size(7) == 7
    assert torch.equal(distributed.gather(x), x) and distributed.total_count(4) == 4
    assert distributed.all_reduce_sum(x.float())[0].dtype == torch.float64
    distributed.leave()  # no group: nothing to leave
    assert not dist.is_initialized()


def _cli_worker(rank, rendezvous, argv):
    import os

    from ood_ext import cli

    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    try:
        assert cli.main(argv) == 0
    finally:
        distributed.leave()


def test_benchmark_over_two_processes_equals_one(tmp_path):
    """The CLI under a process group (what torchrun sets up): rank 0 trains and writes; the
    metrics equal a single-process run's."""
    import json

    from ood_ext import cli

    def argv(out):
        return ["benchmark", "--id", "digits", "--profile", "smoke", "--methods", "mahalanobis,vmdls-b,msp",
                "--ood", "noise", "--heldout-class", "none", "--cache", str(tmp_path / "cache"), "--out", str(out),
                "--no-progress"]

    mp.spawn(_cli_worker, args=(str(tmp_path / "rendezvous"), argv(tmp_path / "two")), nprocs=WORLD)
    assert cli.main(argv(tmp_path / "one")) == 0
    two, one = (json.loads((tmp_path / run / "results.json").read_text()) for run in ("two", "one"))
    assert two["machine"]["processes"] == 2 and one["machine"]["processes"] == 1
    for method, sets in one["metrics"].items():
        for name, values in sets.items():
            for metric, value in values.items():
                assert two["metrics"][method][name][metric] == pytest.approx(value, abs=1e-9), (method, metric)


def _train_classifier(checkpoint=None):
    from ood_ext.training import ClassifierSettings, train_classifier

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 3)).double()
    x, labels, _ = _data()
    x, labels = torch.nn.functional.avg_pool2d(x[:60], 4), labels[:60]  # [60, 1, 8, 8]: five batches of 12
    settings = ClassifierSettings(width=0, blocks=0, epochs=3, batch_size=12, lr=1e-2, weight_decay=1e-3)
    return train_classifier(model, x, torch.as_tensor(labels), settings, checkpoint=checkpoint, progress=False)


def _train_worker(rank, rendezvous, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    try:
        state = _train_classifier(f"{out}.checkpoint").state_dict()
        if distributed.is_main():
            torch.save(state, out)
    finally:
        distributed.leave()


def test_data_parallel_training_equals_one_process(tmp_path):
    """Every batch split over two ranks, gradients averaged before each step: the weights of the
    single-process run (float64, a model without batch statistics, batches of an even size)."""
    mp.spawn(_train_worker, args=(str(tmp_path / "rendezvous"), str(tmp_path / "two.pt")), nprocs=WORLD)
    two = torch.load(tmp_path / "two.pt")
    one = _train_classifier().state_dict()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-9, atol=1e-12, msg=name)
    assert (tmp_path / "two.pt.checkpoint").exists(), "rank 0 wrote the checkpoint"


# ----- peers that never arrive or are lost: one line, within the timeout -------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_env(rank: int, port: int) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHELASTIC")}
    return env | {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(WORLD), "MASTER_ADDR": "127.0.0.1",
                  "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}


def _benchmark_argv(tmp_path, *extra):
    import sys

    return [sys.executable, "-m", "ood_ext.cli", "benchmark", "--id", "digits", "--profile", "smoke", "--methods",
            "mahalanobis,msp", "--ood", "noise", "--heldout-class", "none", "--cache", str(tmp_path / "cache"),
            "--out", str(tmp_path / "report"), *extra]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("rank,missing", [(1, "rank 0"), (0, "rank(s) 1 of 2 did not arrive")])
def test_a_rank_whose_peers_never_arrive_exits_with_one_line_within_the_timeout(tmp_path, rank, missing):
    import subprocess
    import time

    started = time.monotonic()
    run = subprocess.run(_benchmark_argv(tmp_path, "--dist-timeout", "4", "--no-progress"), capture_output=True,
                         text=True, timeout=100, env=_rank_env(rank, _free_port()))
    assert run.returncode == 1, run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("ood-ext: error:") and missing in run.stderr
    assert "within 4 s (--dist-timeout)" in run.stderr
    assert time.monotonic() - started < 4 + 30, "well within the timeout plus start-up"


@pytest.mark.timeout(300)
def test_a_peer_lost_mid_run_leaves_the_survivor_one_line(tmp_path):
    import subprocess

    port = _free_port()
    survivor = subprocess.Popen(_benchmark_argv(tmp_path, "--dist-timeout", "60"), stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True, env=_rank_env(0, port))
    peer = subprocess.Popen(_benchmark_argv(tmp_path, "--dist-timeout", "60"), stderr=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, env=_rank_env(1, port))
    lines = []
    try:
        for line in survivor.stderr:  # rank 0's progress: the classifier trained over both ranks
            lines.append(line)
            if ": epoch 1/" in line:
                peer.kill()
                break
        lines += survivor.stderr.readlines()
        code = survivor.wait(timeout=200)
    finally:
        for process in (survivor, peer):
            process.kill()
    others = [line for line in lines if not line.startswith("[")]
    assert code == 1, "".join(lines)
    assert len(others) == 1 and others[0].startswith("ood-ext: error: rank 0: lost the other processes"), lines
