"""Progress reporting: lines per stage and epoch with the time left, no redrawn bars off a terminal."""

import torch
from torch import nn

from ood_ext import progress
from ood_ext.training.trainer import Trainer


def test_durations_read_naturally():
    assert [progress.duration(s) for s in (0.4, 42, 185, 3720)] == ["0s", "42s", "3m05s", "1h02m"]


def test_time_left_charges_unmeasured_stages_a_typical_rate_and_says_it_is_a_guess(monkeypatch):
    clock = iter([0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 12.0, 12.0, 12.0])  # Plan(): 2; begin: 1; finish: 2
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    plan = progress.Plan(enabled=False)
    plan.expect("train a", "train", 100)
    plan.expect("train b", "train", 300)
    plan.expect("fit x", "fit", 50)
    plan.expect("score x", "score", 1000, seconds=20.0)  # what an earlier run measured
    rates = progress.DEFAULT_RATES
    # Nothing measured: each stage at its type's conservative rate, the stored one at its timing.
    want = 400 * rates["train"] + 50 * rates["fit"] + 20
    assert plan.remaining() == f"about {progress.duration(want)} left (a guess: some stages not measured yet)"
    plan.begin("train a")  # t = 0
    plan.finish("a trained", work=100)  # t = 10: 0.1 s per training unit, which says nothing of b
    want = 300 * rates["train"] + 50 * rates["fit"] + 20
    assert plan.remaining() == f"about {progress.duration(want)} left (a guess: some stages not measured yet)"
    plan.begin("fit x")  # t = 10
    plan.finish("x fitted", work=50)  # t = 12
    plan.begin("train b")
    assert plan.remaining().endswith("(a guess: some stages not measured yet)"), "b has no rate of its own yet"
    plan.stages["train b"][1] = 0.0
    assert plan.remaining() == "about 20s left", "only measured or stored figures: no longer a guess"
    assert plan.finished == 2 and plan.durations == {"train a": (10.0, 100.0), "fit x": (2.0, 50.0)}


def test_stored_timings_round_trip_and_bad_files_are_ignored(tmp_path):
    from ood_ext.eval import timings

    timings.store(tmp_path, "quick", {"train vae": (41.234, 9000.0), "train cached": (0.5, 0.0)})
    assert timings.load(tmp_path) == {timings.key("quick", "train vae", 9000): 41.23}
    for text in ("[1, 2]", "{not json", '{"a": "x", "b": -1, "c": 2}'):
        (tmp_path / timings.FILE).write_text(text)
        assert timings.load(tmp_path) == ({"c": 2.0} if text.startswith('{"a"') else {})


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
