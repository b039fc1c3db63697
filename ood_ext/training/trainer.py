"""The training loop every model in ood_ext uses: seeded, resumable, device-agnostic, with a
batch bar on a terminal and a line per epoch (ood_ext.progress).

Each epoch reseeds torch with (seed, epoch) and draws its own batch order, so a run that stops
and resumes from its checkpoint ends with exactly the weights of an uninterrupted run.

Under a process group (ood_ext.distributed) every rank draws the same batches and trains on its
rows of each (strided), and every optimiser step first averages the gradients over the ranks —
data-parallel training with DistributedDataParallel's arithmetic, done in an optimiser pre-step
hook because the trainers call model methods (encode, neg_elbo, ...) that DDP's forward wrapper
cannot see. At each epoch's end rank 0's parameters and buffers (BatchNorm statistics, Glow's
data-initialised ActNorm) are broadcast; rank 0 alone writes the checkpoint.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import torch
from torch import Tensor, nn

from .. import distributed, progress
from ..data.batches import batch_inputs
from ..data.images import loader
from ..files import save_torch
from .checkpoint import load, load_state, require_keys


@dataclass
class TrainState:
    """What a checkpoint holds besides the model: the next epoch and the loss history."""

    epoch: int = 0
    history: list = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) for reproducible initialisation and sampling."""
    torch.manual_seed(seed)


def one_cycle(optimizer: torch.optim.Optimizer, peak_lr: float, steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
    """The project's one-cycle schedule over `steps` optimisation steps: warm-up to `peak_lr` over
    the first 15 %, then a cosine down (stepped after every step: a Trainer's step_schedulers)."""
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak_lr, total_steps=steps, pct_start=0.15)


class Trainer:
    """Runs `epochs` of `step(batch) -> loss` over `batches(epoch)`.

    Args:
        modules: everything whose state belongs in the checkpoint (models, EMA copies, ...).
        optimizers: the optimisers (their state is checkpointed).
        schedulers: LR schedulers stepped once per epoch.
        step_schedulers: LR schedulers stepped after every optimisation step (warm-ups).
        checkpoint: file to save after every epoch and to resume from when it exists.
        seed: base seed; epoch e runs under torch.manual_seed(seed·1000 + e).
        desc: progress-bar label.
    """

    def __init__(self, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                 schedulers: Optional[dict] = None, checkpoint: Optional[Path] = None, seed: int = 0,
                 desc: str = "train", progress: bool = True, step_schedulers: Optional[dict] = None):
        self.modules, self.optimizers = modules, optimizers
        self.schedulers = schedulers or {}
        self.step_schedulers = step_schedulers or {}
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.seed, self.desc, self.progress = seed, desc, progress
        self.state = TrainState()
        if self.checkpoint and self.checkpoint.exists():
            self._restore()
        if distributed.active():
            for module in self.modules.values():
                distributed.broadcast_module_(module)
            for optimizer in self.optimizers.values():
                optimizer.register_step_pre_hook(_average_gradients)

    def _restore(self) -> None:
        groups = {"modules": self.modules, "optimizers": self.optimizers, "schedulers": self.schedulers,
                  "step_schedulers": self.step_schedulers}
        saved = require_keys(self.checkpoint, load(self.checkpoint), [*groups, "epoch", "history"],
                             "training checkpoint")
        for group, objects in groups.items():
            if not isinstance(saved[group], dict) or set(saved[group]) != set(objects):
                held = sorted(saved[group]) if isinstance(saved[group], dict) else type(saved[group]).__name__
                raise ValueError(f"{self.checkpoint}: holds {group} {held}, not {sorted(objects)}")
            for name, obj in objects.items():
                load_state(self.checkpoint, obj, saved[group][name], f"{group[:-1]} {name!r}")
        if not isinstance(saved["epoch"], int) or saved["epoch"] < 0 or not isinstance(saved["history"], list):
            raise ValueError(f"{self.checkpoint}: epoch {saved['epoch']!r} / history of a "
                             f"{type(saved['history']).__name__} are not a training state")
        self.state = TrainState(saved["epoch"], list(saved["history"]))

    def _save(self) -> None:
        if self.checkpoint is None or not distributed.is_main():
            return
        save_torch({"modules": {k: m.state_dict() for k, m in self.modules.items()},
                     "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                     "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                     "step_schedulers": {k: s.state_dict() for k, s in self.step_schedulers.items()},
                     "epoch": self.state.epoch, "history": self.state.history}, self.checkpoint)

    def run_on(self, images: Tensor, labels: Optional[Tensor], epochs: int, batch_size: int,
               step: Callable[[object], dict[str, Tensor]]) -> TrainState:
        """run() over shuffled batches of images [N, ...] (and labels [N]): (x,) or (x, y) batches,
        epoch e in the order drawn from seed·1000 + e."""
        return self.run(epochs, lambda epoch: loader(images, labels, batch_size, True, self.seed * 1000 + epoch), step)

    def run(self, epochs: int, batches: Callable[[int], Iterable], step: Callable[[object], dict[str, Tensor]],
            end_of_epoch: Optional[Callable[[int], None]] = None, stop_after: Optional[int] = None) -> TrainState:
        """Train from the current epoch up to `epochs` (or only `stop_after` more epochs).

        `step(batch)` performs one optimisation step and returns the scalar losses to log (the
        first is shown on the progress bar). Returns the state with the per-epoch mean losses.
        """
        last = epochs if stop_after is None else min(epochs, self.state.epoch + stop_after)
        for module in self.modules.values():
            module.train()
        for epoch in range(self.state.epoch, last):
            torch.manual_seed(self.seed * 1000 + epoch)
            sums, count, images = {}, 0, 0
            bar = progress.bar(batches(epoch), f"{self.desc} {epoch + 1}/{epochs}", self.progress)
            for batch in bar:
                if len(batch_inputs(batch)) < distributed.world_size():
                    continue  # a last batch too small to give every rank a row
                images += len(batch_inputs(batch))
                losses = step(distributed.shard_batch(batch))
                for scheduler in self.step_schedulers.values():
                    scheduler.step()
                count += 1
                for name, value in losses.items():
                    sums[name] = sums.get(name, 0.0) + float(value)
                if hasattr(bar, "set_postfix"):
                    first = next(iter(losses))
                    bar.set_postfix({first: f"{sums[first] / count:.4f}"})
            for scheduler in self.schedulers.values():
                scheduler.step()
            if end_of_epoch is not None:
                end_of_epoch(epoch)
            for module in self.modules.values():
                distributed.broadcast_module_(module)
            self.state.epoch = epoch + 1
            self.state.history.append({k: v / max(count, 1) for k, v in sums.items()})
            self._save()
            progress.epoch_done(self.desc, epoch + 1, epochs, images, self.state.history[-1], self.progress)
        return self.state


def _average_gradients(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    """Optimiser pre-step hook: each parameter's gradient becomes its mean over the ranks."""
    distributed.average_([p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None])
