"""Training loop: determinism, exact resume from a checkpoint, model save/load."""

import pytest
import torch

from ood_ext.models import ResNetClassifier
from ood_ext.training import ClassifierSettings, load_model, save_model, train_classifier

SETTINGS = ClassifierSettings(width=4, blocks=1, epochs=3, batch_size=16, lr=1e-2, weight_decay=0.0)


def data():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(64, 1, 12, 12, generator=gen), torch.randint(0, 3, (64,), generator=gen)


def fresh_model():
    torch.manual_seed(1)
    return ResNetClassifier(1, 3, width=4)


def weights(model):
    return [t.clone() for t in model.state_dict().values()]


def test_training_is_deterministic():
    x, y = data()
    a = train_classifier(fresh_model(), x, y, SETTINGS, progress=False)
    b = train_classifier(fresh_model(), x, y, SETTINGS, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(b)))


def test_interrupted_training_resumes_to_identical_weights(tmp_path, monkeypatch):
    x, y = data()
    straight = train_classifier(fresh_model(), x, y, SETTINGS, progress=False)

    # Interrupt after the first epoch by failing inside the second one.
    from ood_ext.training import trainer as trainer_module

    real_run = trainer_module.Trainer.run

    def one_epoch(self, epochs, *args, **kwargs):
        return real_run(self, epochs, *args, stop_after=1, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "run", one_epoch)
    checkpoint = tmp_path / "ckpt.pt"
    train_classifier(fresh_model(), x, y, SETTINGS, checkpoint=checkpoint, progress=False)
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["epoch"] == 1
    monkeypatch.setattr(trainer_module.Trainer, "run", real_run)

    resumed = train_classifier(fresh_model(), x, y, SETTINGS, checkpoint=checkpoint, progress=False)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 3
    assert all(torch.equal(p, q) for p, q in zip(weights(straight), weights(resumed)))


def test_corrupt_checkpoint_is_rejected(tmp_path):
    x, y = data()
    (tmp_path / "ckpt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a checkpoint ood_ext wrote"):
        train_classifier(fresh_model(), x, y, SETTINGS, checkpoint=tmp_path / "ckpt.pt", progress=False)


def test_model_save_load_round_trip(tmp_path):
    model = fresh_model()
    save_model(model, tmp_path / "m.pt", accuracy=0.5)
    other = ResNetClassifier(1, 3, width=4)
    assert load_model(other, tmp_path / "m.pt") == {"accuracy": 0.5}
    assert all(torch.equal(p, q) for p, q in zip(weights(model), weights(other)))
    with pytest.raises(ValueError, match="saved for ResNetClassifier"):
        load_model(ResNetClassifier(1, 3, width=8), tmp_path / "m.pt")


@pytest.mark.parametrize("rotation", [False, True])
def test_score_network_training_follows_one_cycle_and_resumes_exactly(tmp_path, monkeypatch, rotation):
    """The NCSN / RotNCSN trainer: Adam on one cycle peaking at settings.lr (the optimiser ends the
    run near zero) or constant, and a run interrupted after its first epoch resumes to the same
    weights."""
    from dataclasses import replace

    from ood_ext.models import NCSN
    from ood_ext.training import NCSNSettings, train_ncsn
    from ood_ext.training import trainer as trainer_module

    settings = NCSNSettings(width=4, levels=3, train_samples=None, epochs=2, batch_size=4, lr=5e-3,
                            rotation=rotation)
    x = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))  # 10 steps an epoch

    def fresh():
        torch.manual_seed(2)
        return NCSN(1, 4, 3)

    def trained_with_rates(settings):
        """(the trained model, the learning rate of every optimisation step)."""
        rates, real_step = [], torch.optim.Adam.step

        def recording_step(self, *args, **kwargs):
            rates.append(self.param_groups[0]["lr"])
            return real_step(self, *args, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(torch.optim.Adam, "step", recording_step)
            return train_ncsn(fresh(), x, settings, progress=False), rates

    straight, rates = trained_with_rates(settings)
    assert len(rates) == 20 and max(rates) == pytest.approx(5e-3, rel=0.02)
    peak = rates.index(max(rates))
    assert 0 < peak < 5 and rates[0] < 5e-3 / 10 and rates[-1] < 5e-3 / 1000  # warm-up over 15 % of the steps
    assert rates[:peak + 1] == sorted(rates[:peak + 1]) and rates[peak:] == sorted(rates[peak:], reverse=True)

    assert trained_with_rates(replace(settings, schedule="constant"))[1] == [5e-3] * 20  # the paper's schedule
    with pytest.raises(ValueError, match="schedule must be one of"):
        replace(settings, schedule="cosine")

    real_run = trainer_module.Trainer.run
    monkeypatch.setattr(trainer_module.Trainer, "run",
                        lambda self, epochs, *a, **k: real_run(self, epochs, *a, stop_after=1, **k))
    checkpoint = tmp_path / "ncsn.pt"
    train_ncsn(fresh(), x, settings, checkpoint=checkpoint, progress=False)
    monkeypatch.setattr(trainer_module.Trainer, "run", real_run)
    resumed = train_ncsn(fresh(), x, settings, checkpoint=checkpoint, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(weights(straight), weights(resumed)))
