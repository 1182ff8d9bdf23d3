"""The machine's ceilings, the roofs of the roofline: peak compute (a large matrix multiply, and a
dense 3x3 convolution where it differs), memory bandwidth by working-set size, and the fixed cost of
one op call, each the median of repeated samples with a 95% bootstrap interval
(docs/numbers.md, "Ceilings").

Measured in the measuring process once per device and thread count and kept in the runtime folder
(`ceilings.json`), so that a restart does not spend seconds of device time again; measured again
when older than `ceilings_max_age_s`, when torch changed, or on request. A measurement disturbed by
other work could only read low; it never replaces better stored figures silently (`keep_best`).

The datasheet peak (`theoretical`) is arithmetic on what the system reports; the readers take the
text (of /proc/cpuinfo, of cpufreq) so that a test can hand them any.
"""

import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
import torch.nn.functional as F

from ..analysis.latency import time_calls, time_once
from ..config import get_settings
from ..errors import Cancelled
from ..schemas import Bandwidth, DeviceCeilings, Interval, Quality, TheoreticalPeak
from . import quality
from .devices import device_label
from .run import cores

FILENAME = "ceilings.json"
MAX_ATTEMPTS = 3  # measurements of a disturbed set of ceilings, within the time budget
SAMPLE_S = 20e-6  # a sample of a very short call times enough calls to last at least this long
MAX_SAMPLES = 100  # per ceiling: enough for a median's interval, few enough for a quick bootstrap
CACHE_ROOT = "/sys/devices/system/cpu/cpu0/cache"
FMA_UNITS = 2  # per core: cannot be read from the system (two on recent x86 server cores)


@dataclass(frozen=True)
class Sizes:
    """How much work each ceiling times (the defaults reach real peaks; a test passes small ones)."""
    matmul: int = 1024  # m = n = k of the fp32 matrix multiply (4096 on a GPU)
    # dense convolutions (channels in and out, height = width, kernel) of the shapes the blocks use:
    # the conv2d peak is the best of them, as the compute peak of a library is its best shape's
    convs: tuple[tuple[int, int, int], ...] = ((64, 56, 3), (128, 28, 3), (256, 14, 3), (256, 28, 1))
    smallest_bytes: int = 16 << 10  # working sets from here, x4 each, up to largest_bytes
    largest_bytes: int = 256 << 20
    target_s: float = 0.15  # timed seconds per ceiling
    min_samples: int = 10

    def key(self) -> str:
        """How the stored figures name these sizes (figures of other sizes are other figures)."""
        return "default" if self == DEFAULT_SIZES else (
            f"mm{self.matmul}-conv{'-'.join('x'.join(map(str, c)) for c in self.convs)}-"
            f"ws{self.smallest_bytes}-{self.largest_bytes}-t{self.target_s}-n{self.min_samples}")


DEFAULT_SIZES = Sizes()


# --- what the system reports --------------------------------------------------------------------------

def parse_size(text: str) -> int | None:
    """A cache size as sysfs writes it: `32K`, `1024K`, `32768K`, `2M`."""
    text = text.strip().upper()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in "KMG" else text
    return int(digits) * scale if digits.isdigit() else None


def cache_sizes(root: str = CACHE_ROOT) -> dict[str, int]:
    """The data caches of one core, {"L1": bytes, "L2": ..., "L3": ...}: from sysfs, else from
    sysconf (glibc's reading of the same), else none (every working set is then "DRAM")."""
    found: dict[str, int] = {}
    try:
        for index in sorted(Path(root).glob("index*")):
            if (index / "type").read_text().strip() == "Instruction":
                continue
            size = parse_size((index / "size").read_text())
            if size:
                found[f"L{int((index / 'level').read_text())}"] = size
    except (OSError, ValueError):
        found = {}
    if not found:
        for level, name in (("L1", "SC_LEVEL1_DCACHE_SIZE"), ("L2", "SC_LEVEL2_CACHE_SIZE"),
                            ("L3", "SC_LEVEL3_CACHE_SIZE")):
            try:
                size = os.sysconf(name)
            except (ValueError, OSError):
                size = 0
            if size > 0:
                found[level] = size
    return dict(sorted(found.items()))


def level_of(working_set: int, caches: dict[str, int]) -> str:
    """Where a working set of this size lives: the smallest cache that holds it, else DRAM."""
    return next((level for level, size in caches.items() if working_set <= size), "DRAM")


def vector_lanes(cpuinfo: str) -> int | None:
    """float32 lanes of the widest vector unit /proc/cpuinfo's flags name (avx512f 16, avx2 8, else
    4 for SSE or NEON); None when the text names no flags at all."""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            flags.update(value.split())
    if not flags:
        return None
    return 16 if "avx512f" in flags else 8 if "avx2" in flags else 4


def clock_ghz(max_freq_khz: str | None, cpuinfo: str) -> tuple[float, str] | None:
    """The clock and where it was read: cpufreq's cpuinfo_max_freq (kHz), else the `cpu MHz` of
    /proc/cpuinfo (the clock at that moment, not the maximum)."""
    if max_freq_khz and max_freq_khz.strip().isdigit() and int(max_freq_khz) > 0:
        return int(max_freq_khz) / 1e6, "cpufreq's cpuinfo_max_freq"
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "cpu MHz":
            try:
                return float(value) / 1e3, "the current clock (cpu MHz of /proc/cpuinfo), not the maximum"
            except ValueError:
                return None
    return None


def theoretical_peak(cores: int, cpuinfo: str | None, max_freq_khz: str | None) -> TheoreticalPeak | None:
    """cores x lanes x 2 (a fused multiply-add is two flops) x FMA units x GHz; None when neither the
    vector unit nor the clock can be read. What was not read is named in `assumed`."""
    lanes = vector_lanes(cpuinfo or "")
    clock = clock_ghz(max_freq_khz, cpuinfo or "")
    if lanes is None and clock is None:
        return None
    assumed = [f"{FMA_UNITS} FMA units per core (cannot be read from the system)"]
    if lanes is None:
        lanes = 4
        assumed.append("4 float32 vector lanes (no CPU flags were readable)")
    if clock is None:
        return None  # a peak needs a clock: nothing to assume it from
    ghz, source = clock
    assumed.append(f"clock from {source}")
    return TheoreticalPeak(gflops=round(cores * lanes * 2 * FMA_UNITS * ghz, 1), cores=cores, lanes=lanes,
                           fma_units=FMA_UNITS, ghz=round(ghz, 3), assumed=assumed)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def system_peak() -> TheoreticalPeak | None:
    """This CPU's datasheet peak over the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return theoretical_peak(cores, _read("/proc/cpuinfo"),
                            _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))


# --- one measurement ------------------------------------------------------------------------------------

def _samples(fn: Callable[[], object], device: torch.device, sizes: Sizes,
             should_stop: Callable[[], bool]) -> list[float]:
    """Seconds per call of `fn`: at most MAX_SAMPLES samples over about `target_s`, each of enough
    calls to last SAMPLE_S at least (a clock read or a CUDA event pair costs about a microsecond),
    so a short call is not timed one clock read at a time, and the bootstrap stays cheap."""
    once = max(min(time_once(fn, device) for _ in range(3)), 1e-7)  # warm: the best of three
    batch = max(1, math.ceil(max(SAMPLE_S, sizes.target_s / MAX_SAMPLES) / once))

    def calls() -> None:
        for _ in range(batch):
            fn()

    warmup = max(1, min(20, round(0.02 / (once * batch))))
    taken = time_calls(calls, warmup, MAX_SAMPLES, device, max_s=sizes.target_s,
                       min_repeats=sizes.min_samples, should_stop=should_stop)
    return [s / batch for s in taken]


def _round(value: float, figures: int = 4) -> float:
    """To `figures` significant figures: a rate is as precise at 0.02 GFLOP/s as at 200."""
    return float(f"{value:.{figures}g}")


def _interval(values: list[float]) -> Interval:
    """The median and its 95% bootstrap interval, widened to hold the median itself where the
    resampled medians (an even count, few samples) all fell to one side of it."""
    mid = quality.median(values)
    lo, hi = quality.median_interval(values)
    return Interval(value=_round(mid), ci95=[_round(min(lo, mid)), _round(max(hi, mid))])


def _rate(work: float, seconds: list[float], scale: float = 1e9) -> list[float]:
    """Per-sample rates (work per second over `scale`): a rate's median is the median sample's rate."""
    return [work / s / scale for s in seconds]


def working_sets(sizes: Sizes, device: torch.device) -> list[int]:
    """Working-set sizes (source plus destination bytes), smallest first: x4 steps spanning the
    caches to DRAM on a CPU, device memory on a GPU; the largest capped at half the memory a job may
    hold, so a ceiling run stays within the server's budget."""
    largest = min(sizes.largest_bytes, get_settings().max_memory_mb * 2**20 // 2)
    smallest = sizes.smallest_bytes if device.type == "cpu" else max(sizes.smallest_bytes, 64 << 20)
    found = []
    size = min(smallest, largest)
    while size < largest:
        found.append(size)
        size *= 4
    return [*found, largest]


def memory_bytes(sizes: Sizes, device: str = "cpu") -> int:
    """The real tensors one ceiling run holds at most: the largest copy's, or the multiply's."""
    n = sizes.matmul * (4 if device != "cpu" else 1)
    return max(working_sets(sizes, torch.device(device))[-1], 3 * n * n * 4)


@dataclass(frozen=True)
class Measured:
    """One measurement of every ceiling, before it is stored or compared."""
    compute: Interval
    families: dict[str, Interval]
    bandwidth: list[Bandwidth]
    call_overhead_us: Interval
    quality: Quality
    seconds: float


def measure_once(device: str, sizes: Sizes, attempt: int = 1,
                 should_stop: Callable[[], bool] = lambda: False) -> Measured:
    """Every ceiling of `device`, measured once at the thread count in force (the caller sets it)."""
    started = time.perf_counter()
    dev = torch.device(device)
    cpu = dev.type == "cpu"
    window = quality.CpuWindow.open(set(cores()) if cpu else None)
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        n = sizes.matmul if cpu else sizes.matmul * 4
        a, b = (torch.randn(n, n, generator=gen).to(dev) for _ in range(2))
        out = torch.empty(n, n, device=dev)
        mm_s = _samples(lambda: torch.mm(a, b, out=out), dev, sizes, should_stop)
        a = b = out = None
        conv_rates = []
        for c, hw, k in sizes.convs:
            x = torch.randn(1, c, hw, hw, generator=gen).to(dev)
            w = torch.randn(c, c, k, k, generator=gen).to(dev)
            taken = _samples(lambda x=x, w=w, k=k: F.conv2d(x, w, padding=k // 2), dev, sizes, should_stop)
            conv_rates.append(_rate(2 * hw * hw * c * c * k * k, taken))
            x = w = None
        conv_s = max(conv_rates, key=quality.median)  # the best shape's rates (spread judged on them)
        one, one_out = torch.ones(1, device=dev), torch.empty(1, device=dev)
        relu_s = _samples(lambda: torch.relu(one), dev, sizes, should_stop)
        copy_call_s = quality.median(_samples(lambda: one_out.copy_(one), dev, sizes, should_stop))
        caches = cache_sizes() if cpu else {}
        bandwidth, bw_samples = [], []
        for ws in working_sets(sizes, dev):
            src = torch.ones(ws // 8, device=dev)
            dst = torch.empty_like(src)
            taken = _samples(lambda s=src, d=dst: d.copy_(s), dev, sizes, should_stop)
            # the fixed cost of a copy call taken out, so a small working set is not just overhead
            rates = _rate(ws, [max(s - copy_call_s, s * 0.05) for s in taken])
            bw_samples.append(taken)
            rate = _interval(rates)
            bandwidth.append(Bandwidth(working_set_bytes=ws, gbs=rate.value, ci95=rate.ci95,
                                       level=level_of(ws, caches) if cpu else "memory"))
            src = dst = None
    share = window.other_share()
    spreads = [quality.spread(s) for s in (mm_s, conv_s, bw_samples[-1])]
    lo, hi = quality.median_interval(mm_s)
    judged = Quality(disturbed=quality.is_disturbed(share, max(spreads)),
                     other_cpu_share=None if share is None else round(share, 4),
                     spread=round(max(spreads), 4),
                     ci95_us=[round(lo * 1e6, 3), round(hi * 1e6, 3)], attempts=attempt)
    return Measured(compute=_interval(_rate(2 * n**3, mm_s)),
                    families={"conv2d": _interval(conv_s)},
                    bandwidth=bandwidth, call_overhead_us=_interval([s * 1e6 for s in relu_s]),
                    quality=judged, seconds=time.perf_counter() - started)


def _still_busy(device: str, look_s: float = 0.2) -> bool:
    """Other work still on the measuring cores: measuring again now would be disturbed too."""
    window = quality.CpuWindow.open(set(cores()) if device == "cpu" else None)
    time.sleep(look_s)
    share = window.other_share()
    return share is not None and share > get_settings().disturbed_cpu_share


def measure(device: str, sizes: Sizes, should_stop: Callable[[], bool] = lambda: False) -> Measured:
    """The ceilings measured once, and again while disturbed (up to MAX_ATTEMPTS, within the time
    budget, and only once the other work has stopped)."""
    started = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        if should_stop():
            raise Cancelled
        found = measure_once(device, sizes, attempt, should_stop)
        spent = time.perf_counter() - started
        if (not found.quality.disturbed or attempt >= MAX_ATTEMPTS
                or spent + found.seconds > get_settings().measure_budget_s or _still_busy(device)):
            return found


METHOD = ("compute: fp32 torch.mm of {n}x{n} matrices, 2n^3 flops per call; conv2d: the best of "
          "dense convolutions {convs}, 2 x multiply-adds per call; bandwidth: "
          "dst.copy_(src), bytes read plus written over the time of a call less the fixed cost of a "
          "one-element copy; call overhead: torch.relu on a one-element tensor. Each the median of "
          "at most {most} samples over about {t} s (a short call timed {us:g} µs at a time), with a "
          "95% bootstrap interval; {clock}.")


def to_ceilings(found: Measured, device: str, threads: int | None, sizes: Sizes) -> DeviceCeilings:
    """The stored record of one measurement."""
    cpu = device == "cpu"
    clock = "timed by time.perf_counter()" if cpu else "timed by CUDA events"
    return DeviceCeilings(
        device=device, device_label=device_label(device), threads=threads, compute_gflops=found.compute,
        family_gflops=found.families, bandwidth_gbs=found.bandwidth, call_overhead_us=found.call_overhead_us,
        ridge_flop_per_byte=ridge(found.compute, found.families, found.bandwidth),
        theoretical=system_peak() if cpu else None,
        measured_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), torch=torch.__version__,
        method=METHOD.format(n=sizes.matmul if cpu else sizes.matmul * 4,
                             convs=", ".join(f"{c}->{c} channels {k}x{k} at {hw}x{hw}"
                                             for c, hw, k in sizes.convs),
                             t=sizes.target_s, most=MAX_SAMPLES,
                             us=max(SAMPLE_S, sizes.target_s / MAX_SAMPLES) * 1e6, clock=clock),
        quality=found.quality, age_s=0.0, stale=False)


def ridge(compute: Interval, families: dict[str, Interval], bandwidth: list[Bandwidth]) -> float:
    """FLOP per byte where the largest working set's bandwidth meets the compute roof (the fastest
    rate measured, the matrix multiply's or an op family's, as the roofline places ops)."""
    peak = max([compute.value, *(i.value for i in families.values())])
    return _round(peak / bandwidth[-1].gbs) if bandwidth and bandwidth[-1].gbs > 0 else 0.0


def keep_best(fresh: DeviceCeilings, stored: DeviceCeilings) -> DeviceCeilings:
    """A disturbed fresh measurement against stored figures: each ceiling the better of the two
    (higher rates, lower call overhead), as `run.Calibrations` keeps its best; still `disturbed`.

    Other work only ever slows a measurement, so a lower figure taken under load says nothing the
    stored one did not; a higher one is a real improvement (a faster torch, a quieter moment)."""
    def best(a: Interval, b: Interval | None, higher: bool = True) -> Interval:
        if b is None:
            return a
        return a if (a.value >= b.value) == higher else b

    old_bw = {b.working_set_bytes: b for b in stored.bandwidth_gbs}
    bandwidth = [b if b.working_set_bytes not in old_bw or b.gbs >= old_bw[b.working_set_bytes].gbs
                 else old_bw[b.working_set_bytes] for b in fresh.bandwidth_gbs]
    compute = best(fresh.compute_gflops, stored.compute_gflops)
    note = (f" Measured while disturbed: where the figures measured at {stored.measured_at} were better, "
            "they were kept.")
    families = {k: best(v, stored.family_gflops.get(k)) for k, v in fresh.family_gflops.items()}
    return fresh.model_copy(update={
        "compute_gflops": compute,
        "family_gflops": families,
        "bandwidth_gbs": bandwidth,
        "call_overhead_us": best(fresh.call_overhead_us, stored.call_overhead_us, higher=False),
        "ridge_flop_per_byte": ridge(compute, families, bandwidth),
        "method": fresh.method + note})


# --- kept in the runtime folder -----------------------------------------------------------------------

def age_s(ceilings: DeviceCeilings, now: float | None = None) -> float:
    measured = datetime.strptime(ceilings.measured_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    return max(0.0, (time.time() if now is None else now) - measured)


def with_age(ceilings: DeviceCeilings) -> DeviceCeilings:
    """The record with its age now, and whether it is stale (too old, or another torch's)."""
    age = age_s(ceilings)
    return ceilings.model_copy(update={
        "age_s": round(age, 1),
        "stale": age > get_settings().ceilings_max_age_s or ceilings.torch != torch.__version__})


class CeilingsFile:
    """`ceilings.json` in the runtime folder: this machine's ceilings by device, threads and sizes.

    Written whole to a temporary file and renamed, so a reader never sees half of it; figures written
    under another machine name (a copied folder) are not this machine's and are ignored.
    """
    _lock = threading.Lock()  # the device threads of one process write in turn

    def __init__(self, path: Path | None = None):
        self.path = path or get_settings().runtime_path() / FILENAME

    @staticmethod
    def key(device: str, threads: int | None, sizes: Sizes) -> str:
        return f"{device}|{threads if threads is not None else '-'}|{sizes.key()}"

    def _entries(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("machine") != get_settings().machine():
            return {}
        return data.get("devices", {})

    def load(self, key: str) -> DeviceCeilings | None:
        found = self._entries().get(key)
        try:
            return DeviceCeilings.model_validate(found) if found else None
        except ValueError:  # written by another version of the schema: measured again
            return None

    def save(self, key: str, ceilings: DeviceCeilings) -> None:
        with self._lock:
            entries = self._entries()
            entries[key] = ceilings.model_dump(mode="json")
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"machine": get_settings().machine(), "devices": entries}, indent=1))
            os.replace(tmp, self.path)


def needs_measuring(stored: DeviceCeilings | None) -> bool:
    """No figures, stale ones, or disturbed ones (kept only until a clean measurement replaces them)
    once `recalibrate_s` has passed since: while a class loads the machine, a disturbed set is not
    measured again on every request, only every few minutes."""
    if stored is None or with_age(stored).stale:
        return True
    return stored.quality.disturbed and age_s(stored) > get_settings().recalibrate_s


def ceilings(device: str, threads: int | None, sizes: Sizes = DEFAULT_SIZES, *, refresh: bool = False,
             should_stop: Callable[[], bool] = lambda: False, store: CeilingsFile | None = None
             ) -> DeviceCeilings:
    """The ceilings of `device` at `threads` (the thread count in force is the caller's to set):
    the stored ones while fresh, else measured now. A clean measurement is stored; a disturbed one
    is answered with the better of it and the stored figures, and stored only when there were none."""
    store = store or CeilingsFile()
    key = CeilingsFile.key(device, threads, sizes)
    stored = store.load(key)
    if stored is not None and not refresh and not needs_measuring(stored):
        return with_age(stored)
    fresh = to_ceilings(measure(device, sizes, should_stop), device, threads, sizes)
    if fresh.quality.disturbed and stored is not None:
        best = keep_best(fresh, stored)
        if stored.quality.disturbed:  # both disturbed: the better of the two is still worth keeping
            store.save(key, best)
        return with_age(best)
    store.save(key, fresh)
    return with_age(fresh)
