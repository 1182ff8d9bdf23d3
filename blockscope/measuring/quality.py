"""How far to trust a measurement: the CPU time the rest of the machine used while it ran, the
spread of its samples, and a 95% interval of its median (or of a ratio of two medians).

A figure is `disturbed` when other work took more than `disturbed_cpu_share` of the measuring
cores' time, or when its samples spread more than `disturbed_spread` around their median.
"""

import math
import os
import random
import time
from dataclasses import dataclass

from ..analysis.latency import quantile
from ..config import get_settings

BOOTSTRAP_RESAMPLES = 1000
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_ticks(cores: set[int] | None) -> tuple[float, float] | None:
    """(busy, total) CPU seconds of `cores` (all when None) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            lines = [line.split() for line in f if line.startswith("cpu")]
    except OSError:
        return None
    busy = total = 0.0
    for fields in lines:
        name = fields[0]
        if (cores is None) != (name == "cpu"):
            continue
        if cores is not None and int(name[3:]) not in cores:
            continue
        values = [int(v) for v in fields[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        total += sum(values[:8])
        busy += sum(values[:8]) - idle
    return busy / _TICKS, total / _TICKS


def _own_cpu_s() -> float:
    """CPU seconds this process has used, every thread included (timing threads too)."""
    times = os.times()
    return times.user + times.system


@dataclass
class CpuWindow:
    """The machine's CPU use over a stretch of time, taken before and after."""
    cores: set[int] | None
    start: tuple[float, float] | None
    own_start: float
    wall_start: float

    @classmethod
    def open(cls, cores: set[int] | None = None) -> "CpuWindow":
        return cls(cores, _cpu_ticks(cores), _own_cpu_s(), time.perf_counter())

    def other_share(self) -> float | None:
        """The share of the measuring cores' time that other processes used (0: none, 1: all);
        None where /proc/stat is not available."""
        end = _cpu_ticks(self.cores)
        if self.start is None or end is None:
            return None
        busy = end[0] - self.start[0]
        total = end[1] - self.start[1]
        own = _own_cpu_s() - self.own_start
        if total <= 0:  # shorter than one clock tick: nothing can be said
            return 0.0
        return min(1.0, max(0.0, (busy - own) / total))


def median(values: list[float]) -> float:
    return quantile(sorted(values), 0.5)


def spread(samples: list[float]) -> float:
    """Interquartile range over the median: 0.1 means the middle half lies within 10% of it."""
    s = sorted(samples)
    mid = quantile(s, 0.5)
    return (quantile(s, 0.75) - quantile(s, 0.25)) / mid if mid > 0 else 0.0


def median_interval(samples: list[float], seed: int = 0) -> tuple[float, float]:
    """95% interval of the median, by bootstrap (percentile method), in the samples' unit."""
    if len(samples) < 2:
        return samples[0], samples[0]
    rng = random.Random(seed)
    n = len(samples)
    medians = sorted(median(rng.choices(samples, k=n)) for _ in range(BOOTSTRAP_RESAMPLES))
    return quantile(medians, 0.025), quantile(medians, 0.975)


def comparison(first: str, a: list[float], second: str, b: list[float], seed: int = 0) -> dict:
    """median(a) / median(b), timed in rounds, as a `Speedup`'s fields: its 95% interval (no upper
    bound: None) and whether it excludes 1."""
    lo, hi = ratio_interval(a, b, seed)
    below = median(b)
    return {"of": [first, second], "value": median(a) / below if below > 0 else None,
            "ci95": [lo, hi if math.isfinite(hi) else None], "measurable": not (lo <= 1.0 <= hi)}


def ratio_interval(a: list[float], b: list[float], seed: int = 0) -> tuple[float, float]:
    """95% interval of median(a) / median(b) for samples taken in rounds (a[i] and b[i] together):
    rounds are resampled whole, so a slow moment of the machine moves both."""
    rounds = list(zip(a, b, strict=True))
    rng = random.Random(seed)
    ratios = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        picked = rng.choices(rounds, k=len(rounds))
        below = median([p[1] for p in picked])
        if below > 0:  # a zero median (a clock too coarse for the call) has no ratio: left out
            ratios.append(median([p[0] for p in picked]) / below)
    if not ratios:
        return 0.0, float("inf")
    ratios.sort()
    return quantile(ratios, 0.025), quantile(ratios, 0.975)


def is_disturbed(other_share: float | None, sample_spread: float) -> bool:
    limits = get_settings()
    busy = other_share is not None and other_share > limits.disturbed_cpu_share
    return busy or sample_spread > limits.disturbed_spread
