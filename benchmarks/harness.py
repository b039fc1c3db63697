"""Timing and memory measurement shared by the benchmark script and the pytest-benchmark suite.

Timings interleave the baseline and the candidate round by round and report medians, so the
load of a shared machine hits both alike.
"""

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch


def machine() -> dict:
    """What the numbers were measured on."""
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__}


@dataclass
class Comparison:
    """Median times (ms) of a baseline and a candidate, and the median per-round speed-up."""

    baseline_ms: float
    candidate_ms: float
    speedup: float  # baseline time / candidate time


def compare(baseline: Callable[[], object], candidate: Callable[[], object], rounds: int = 25,
            warmup: int = 3, interleave: bool = True) -> Comparison:
    """Time both callables `rounds` times after `warmup` calls of each.

    Interleaved by default. With interleave=False each runs its rounds in one block, after a
    pause: for baselines on another thread pool (scikit-learn's OpenBLAS), whose spinning
    threads would otherwise steal the cores from whatever runs right after them.
    """
    if not interleave:
        return _blocks(baseline, candidate, rounds, warmup)
    for _ in range(warmup):
        baseline(), candidate()
    base, cand, ratios = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        baseline()
        t1 = time.perf_counter()
        candidate()
        t2 = time.perf_counter()
        base.append(t1 - t0)
        cand.append(t2 - t1)
        ratios.append((t1 - t0) / (t2 - t1))
    return Comparison(statistics.median(base) * 1e3, statistics.median(cand) * 1e3, statistics.median(ratios))


def median_seconds(fn: Callable[[], object], rounds: int, warmup: int = 1) -> float:
    """Median wall time of `rounds` calls of fn, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput(fn: Callable[[], object], items: int, rounds: int = 5) -> float:
    """Items per second of fn (which processes `items`), from the median of `rounds` calls."""
    return items / median_seconds(fn, rounds)


def _blocks(baseline, candidate, rounds, warmup) -> Comparison:
    medians = []
    for fn in (baseline, candidate):
        time.sleep(0.5)
        medians.append(median_seconds(fn, rounds, warmup))
    return Comparison(medians[0] * 1e3, medians[1] * 1e3, medians[0] / medians[1])


def peak_memory_bytes(case: str, args: tuple, name: str) -> int:
    """Peak resident memory one call of ``cases.<case>(*args)[name]`` adds, in a fresh process.

    The child builds the inputs, calls once to warm up, resets the kernel's high-water mark
    (/proc/self/clear_refs) and reads VmHWM − VmRSS around a second call. glibc's dynamic mmap
    threshold is pinned so large temporaries are returned to the OS when freed.
    """
    code = (
        "import sys; sys.path.insert(0, %r); import cases, harness; "
        "fn = getattr(cases, %r)(*%r)[%r]; print(harness._measure_in_this_process(fn))"
        % (str(Path(__file__).parent), case, tuple(args), name)
    )
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _measure_in_this_process(fn: Callable[[], object]) -> int:
    fn()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - before) * 1024
