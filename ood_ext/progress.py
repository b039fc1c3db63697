"""Progress of long runs: one line per stage (and per training epoch) with the time left, and
batch bars that redraw in place only on a terminal.

On a terminal (stderr is a TTY) batch loops show tqdm bars; anywhere else (a log file, CI)
nothing redraws. A `Plan` knows the stages of a run and how much work each is (images to train
on, fits, sets to score); each finished stage or epoch prints a line with the time elapsed and an
estimate of the time left (see Plan for how stages not yet measured are charged).
"""

import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from tqdm.auto import tqdm

from . import distributed


def interactive() -> bool:
    """True when stderr is a terminal (bars may redraw)."""
    return sys.stderr.isatty()


def bar(iterable: Iterable, desc: str, enabled: bool = True) -> Iterable:
    """A tqdm bar over `iterable` on a terminal when enabled; the iterable itself elsewhere."""
    return tqdm(iterable, desc=desc, leave=False, disable=not (enabled and interactive()))


def line(text: str) -> None:
    """Print one progress line to stderr (above any bar on a terminal); rank 0 only."""
    if distributed.is_main():
        tqdm.write(text, file=sys.stderr)


def duration(seconds: float) -> str:
    """'42s', '3m05s', '1h02m'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


# Seconds per unit of work charged to a stage nothing has measured yet: the default benchmark's
# rates per stage type on a 2-core CPU (its 8 trainings, 9 fits and 9 scorings, fresh clone:
# 322 s / 120,000 image-epochs, 120 s / 21,600 images, 126 s / 36,280 images). One method can be
# 100× slower than another (Likelihood Regret), so a first run's figure is a guess until each
# stage has run once or timings from an earlier run are stored.
DEFAULT_RATES = {"train": 0.003, "fit": 0.006, "score": 0.004}


@dataclass
class Plan:
    """The stages of a run, each of a type ("train", "fit", "score") and an amount of work (images,
    or image-epochs for training). `expect` each before the run, then `begin` / `finish` each;
    training reports its epochs in between (`epoch_done`).

    The time left charges each unfinished stage, in this order of preference: its own rate once
    part of it is done; the seconds it took in an earlier run (`expect(..., seconds=)`, e.g. from
    stored timings); otherwise its type's DEFAULT_RATES (rates of different models and methods
    differ a hundredfold, so another stage's measured rate says little about it). While any stage
    is charged that way the line says the figure is a guess."""

    enabled: bool = True
    stages: dict = field(default_factory=dict)  # name → [type, work still to do, work in all, prior seconds]
    own: dict = field(default_factory=dict)  # stage → (seconds, units) done
    started: float = field(default_factory=lambda: time.perf_counter())
    current: Optional[str] = None
    clock: float = field(default_factory=lambda: time.perf_counter())
    begun: float = 0.0  # when the current stage began
    finished: int = 0
    durations: dict = field(default_factory=dict)  # finished stage → (seconds, work)

    def expect(self, name: str, stage_type: str, work: float, seconds: Optional[float] = None) -> None:
        self.stages[name] = [stage_type, float(work), float(work), seconds]

    def begin(self, name: str) -> None:
        self.current, self.clock = name, time.perf_counter()
        self.begun = self.clock

    def advance(self, work: float, text: str) -> None:
        """Part of the current stage is done (`work` units): charge its time, print a line."""
        now = time.perf_counter()
        stage = self.stages.setdefault(self.current, ["other", 0.0, 0.0, None])
        seconds, units = self.own.get(self.current, (0.0, 0.0))
        self.own[self.current] = (seconds + now - self.clock, units + work)
        stage[1] = max(0.0, stage[1] - work)
        self.clock = now
        self._line(text)

    def finish(self, text: str, work: float = 0.0) -> None:
        """The current stage is done (its last `work` units now); nothing of it remains."""
        self.finished += 1
        if work:
            self.advance(work, text)
        else:
            self._line(text)
        stage = self.stages[self.current]
        self.durations[self.current] = (time.perf_counter() - self.begun, stage[2])
        stage[1] = 0.0
        self.current = None

    def _estimate(self, name: str) -> tuple[float, bool]:
        """(seconds left for a stage, whether that figure is a guess)."""
        stage_type, left, total, prior = self.stages[name]
        if left <= 0:
            return 0.0, False
        seconds, units = self.own.get(name, (0.0, 0.0))
        if units > 0:
            return left * seconds / units, False
        if prior is not None:
            return prior * (left / total if total else 1.0), False
        return left * DEFAULT_RATES.get(stage_type, max(DEFAULT_RATES.values())), True

    def remaining(self) -> str:
        estimates = [self._estimate(name) for name in self.stages]
        left = sum(seconds for seconds, _ in estimates)
        if left <= 0:
            return "finishing"
        guess = " (a guess: some stages not measured yet)" if any(g for _, g in estimates) else ""
        return f"about {duration(left)} left{guess}"

    def _line(self, text: str) -> None:
        if self.enabled:
            elapsed = duration(time.perf_counter() - self.started)
            line(f"[{elapsed:>6}] {text} · {self.finished}/{len(self.stages)} stages done · {self.remaining()}")


_active: Optional[Plan] = None


def activate(plan: Optional[Plan]) -> None:
    """Make `plan` the one training epochs report to (None: none)."""
    global _active
    _active = plan


def epoch_done(desc: str, epoch: int, epochs: int, images: int, losses: dict, enabled: bool = True) -> None:
    """A training epoch finished: a line to the active plan, or a plain line off a terminal."""
    loss = ", ".join(f"{k} {v:.4g}" for k, v in list(losses.items())[:2])
    text = f"train {desc}: epoch {epoch}/{epochs} ({images} images{', ' + loss if loss else ''})"
    if _active is not None and _active.current is not None:
        _active.advance(images, text)
    elif enabled and not interactive():
        line(text)
