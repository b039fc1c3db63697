"""Progress of long runs: one line per stage (and per training epoch) with the time left, and
batch bars that redraw in place only on a terminal.

On a terminal (stderr is a TTY) batch loops show tqdm bars; anywhere else (a log file, CI)
nothing redraws. A `Plan` knows the stages of a run and how much work each is (images to train
on, fits, sets to score); each finished stage or epoch prints a line with the time elapsed and an
estimate of the time left, from the rate measured so far on stages of the same type.
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


@dataclass
class Plan:
    """The stages of a run, each of a type ("train", "fit", "score") and an amount of work (images,
    or image-epochs for training). `expect` each before the run, then `begin` / `finish` each;
    training reports its epochs in between (`epoch_done`). The time left charges each unfinished
    stage the seconds per unit of work measured so far on its type (on all types, for a type not
    yet measured)."""

    enabled: bool = True
    stages: dict = field(default_factory=dict)  # name → [type, work still to do]
    measured: dict = field(default_factory=dict)  # type → (seconds, units) done
    started: float = field(default_factory=lambda: time.perf_counter())
    current: Optional[str] = None
    clock: float = field(default_factory=lambda: time.perf_counter())
    finished: int = 0

    def expect(self, name: str, stage_type: str, work: float) -> None:
        self.stages[name] = [stage_type, float(work)]

    def begin(self, name: str) -> None:
        self.current, self.clock = name, time.perf_counter()

    def advance(self, work: float, text: str) -> None:
        """Part of the current stage is done (`work` units): charge its time, print a line."""
        now = time.perf_counter()
        stage = self.stages.setdefault(self.current, ["other", 0.0])
        seconds, units = self.measured.get(stage[0], (0.0, 0.0))
        self.measured[stage[0]] = (seconds + now - self.clock, units + work)
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
        self.stages[self.current][1] = 0.0
        self.current = None

    def remaining(self) -> str:
        rates = {t: s / u for t, (s, u) in self.measured.items() if u > 0}
        if not rates:
            return "estimating the time left"
        fallback = sum(rates.values()) / len(rates)
        left = sum(rates.get(t, fallback) * work for t, work in self.stages.values())
        return f"about {duration(left)} left" if left > 0 else "finishing"

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
