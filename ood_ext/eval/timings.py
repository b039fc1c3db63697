"""Seconds each stage of a benchmark run took, kept in the model cache (timings.json) so that the
next run's time-left estimate charges a stage what it took before instead of a guess."""

import json
import math
from pathlib import Path

from ..files import write_text

FILE = "timings.json"
MAX_BYTES = 1 << 20


def key(profile: str, stage: str, work: float) -> str:
    """A stage's entry: its profile, its name and its size (the same stage at another size is
    another entry)."""
    return f"{profile}|{stage}|{work:g}"


def load(cache: Path) -> dict[str, float]:
    """The stored timings of `cache`; {} when there are none or the file is not a timings file
    (an estimate is no reason to stop a run)."""
    path = Path(cache) / FILE
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    return {k: float(v) for k, v in saved.items()
            if isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) and v >= 0}


def store(cache: Path, profile: str, durations: dict[str, tuple[float, float]]) -> None:
    """Add the stages of this run that did work ({stage: (seconds, work)}) to `cache`'s timings."""
    saved = load(cache)
    saved |= {key(profile, stage, work): round(seconds, 2) for stage, (seconds, work) in durations.items() if work > 0}
    write_text(Path(cache) / FILE, json.dumps(saved, indent=1, sort_keys=True))
