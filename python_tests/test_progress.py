"""Progress reporting: lines per stage and epoch with the time left, no redrawn bars off a terminal."""

import torch
from torch import nn

from ood_ext import progress
from ood_ext.training.trainer import Trainer


def test_durations_read_naturally():
    assert [progress.duration(s) for s in (0.4, 42, 185, 3720)] == ["0s", "42s", "3m05s", "1h02m"]


def test_time_left_charges_each_stage_the_rate_of_its_type(monkeypatch):
    clock = iter([0.0, 0.0, 0.0, 10.0, 10.0, 12.0])  # Plan(): started, clock; begin; finish; begin; finish
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    plan = progress.Plan(enabled=False)
    plan.expect("train a", "train", 100)
    plan.expect("train b", "train", 300)
    plan.expect("fit x", "fit", 50)
    assert plan.remaining() == "estimating the time left"
    plan.begin("train a")  # t = 0
    plan.finish("a trained", work=100)  # t = 10: 0.1 s per training unit
    # b: 300 units at 0.1 s; x: no fit measured yet, so the mean rate over the types seen (0.1 s).
    assert plan.remaining() == "about 35s left"
    plan.begin("fit x")  # t = 10
    plan.finish("x fitted", work=50)  # t = 12: 0.04 s per fit unit
    assert plan.remaining() == "about 30s left"
    assert plan.finished == 2


def test_a_finished_stage_leaves_nothing_behind():
    plan = progress.Plan(enabled=False)
    plan.expect("train cached", "train", 1000)
    plan.expect("fit m", "fit", 10)
    plan.begin("train cached")
    plan.finish("loaded from the cache")  # no work was done, none remains
    assert plan.stages["train cached"][1] == 0.0


def _train(epochs: int, enabled: bool):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer({"model": model}, {"opt": optimizer}, seed=0, desc="toy", progress=enabled)

    def step(batch):
        optimizer.zero_grad()
        loss = model(batch[0]).pow(2).mean()
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    trainer.run_on(torch.randn(40, 3), None, epochs, 16, step)


def test_off_a_terminal_each_epoch_is_one_line_and_nothing_redraws(capsys):
    _train(3, enabled=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.strip().split("\n")
    assert [line.split(" (")[0] for line in lines] == [f"train toy: epoch {e}/3" for e in (1, 2, 3)]
    assert all("40 images, loss" in line for line in lines)


def test_epoch_lines_go_to_the_active_plan_and_no_progress_silences_them(capsys):
    plan = progress.Plan()
    plan.expect("train toy", "train", 80)
    progress.activate(plan)
    try:
        plan.begin("train toy")
        _train(2, enabled=True)
        plan.finish("toy trained")
    finally:
        progress.activate(None)
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 3 and "train toy: epoch 2/2" in lines[1] and "1/1 stages done" in lines[2]
    assert all(line.startswith("[") and "left" in line or "finishing" in line for line in lines)
    _train(2, enabled=False)
    assert capsys.readouterr().err == ""
