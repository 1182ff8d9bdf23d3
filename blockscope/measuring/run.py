"""Running one job on its device: build the modules, check the time budget, time them, judge the
figures' quality, re-measure a disturbed one while the budget allows, and free everything.

The caller (the device's worker thread in `core`) holds the device; nothing here queues or caches.
"""

import gc
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..analysis import estimate
from ..analysis import latency as timing
from ..analysis.export import to_onnx
from ..analysis.kernels import PROFILED_PASSES
from ..analysis.reparam import deploy, kernel_view, random_input
from ..config import get_settings
from ..errors import Cancelled, InvalidParameter
from ..schemas import Measurement, QuantProfile, QuantTiming, Speedup
from . import quality
from .devices import device_label
from .results import EquivalenceResult, OnnxFile, QuantizedResult, TimingResult

if TYPE_CHECKING:
    from .jobs import Equivalence, Export, QuantizedActivations, QuantizedBlock, Timing

# The thread count a measurement gets unless it asks; read once, before any job changes it. Every
# job that sets its own count restores this one afterwards (see `threads`).
DEFAULT_THREADS = torch.get_num_threads()
MAX_ATTEMPTS = 3  # measurements of a disturbed figure, within the time budget
ESTIMATE_SLACK = 3.0  # the estimate is within 3x: refuse only what even a 3x faster pass overruns
PER_NODE_FACTOR = 2.5  # the per-node pass costs about one more forward, plus a call per op
# An ONNX export traces the module (no forward pass): a fixed cost, and about this much per op.
EXPORT_BASE_S, EXPORT_OP_S = 0.5, 0.03
# The int8 lab's node profiles, after the timed rounds: each form's profiled runs take at most this
# share of the time target (a warm run more), and no fewer and no more runs than these; all of them
# together at most this share of the time budget, or there are none.
PROFILE_SHARE = 0.5
MIN_PROFILE_RUNS, MAX_PROFILE_RUNS = 3, 15


def cores() -> list[int]:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


@contextmanager
def threads(count: int | None) -> Iterator[None]:
    """Run with `count` CPU threads, then go back to DEFAULT_THREADS.

    With OpenMP, torch.set_num_threads sets the calling thread's count and also the count every
    thread started later begins with. Restoring this thread's "previous" count could therefore make
    a stale, lower count (say 1, left by an earlier measurement) the default of every new thread;
    restoring the start-up count keeps the process default what it was at start-up.
    """
    if count is None:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(DEFAULT_THREADS)


def _untimed(per_node: bool) -> int:
    """Untimed passes: a cold one, one timed once for the plan, and the pass recording op inputs.
    (The profiled calls that say what ran for each op, `analysis.kernels`, come after the timed ones
    and only where the budget left holds them: see `_attempt`.)"""
    return 3 if per_node else 2


def _per_run(forward_s: float, per_node: bool, forms: int = 1) -> float:
    return forward_s * (PER_NODE_FACTOR if per_node else 1.0) * forms


def need_s(forward_s: float, warmup: int, repeats: int, per_node: bool, forms: int = 1) -> float:
    """Seconds a measurement takes: the untimed passes, then warm-up and repeats (per node too)."""
    return _per_run(forward_s, per_node, forms) * (warmup + repeats) + forward_s * forms * _untimed(per_node)


def _max_repeats(forward_s: float, warmup: int, per_node: bool, forms: int = 1) -> int:
    budget = get_settings().measure_budget_s - forward_s * forms * _untimed(per_node)
    return math.floor(budget / _per_run(forward_s, per_node, forms)) - warmup


def refuse_over_budget(job: "Timing", forward_s: float, slack: float = 1.0) -> None:
    """422 naming the parameter to change when the measurement would overrun the time budget, even
    if a pass took `slack` times less than `forward_s` (an estimate's margin; 1 for a timed pass)."""
    limits = get_settings()
    forms = len(job.forms)
    warmup = 1 if job.warmup is None else job.warmup
    repeats = limits.min_repeats if job.repeats is None else job.repeats
    if need_s(forward_s / slack, warmup, repeats, job.per_node, forms) <= limits.measure_budget_s:
        return
    need = need_s(forward_s, warmup, repeats, job.per_node, forms)
    about = "about" if slack == 1.0 else "an estimated"
    over = (f"would take {about} {need:.1f} s, more than the {limits.measure_budget_s:g} s one measurement "
            "may take")
    fits = _max_repeats(forward_s, warmup, job.per_node, forms)
    if job.repeats is not None and fits >= 1:
        raise InvalidParameter("repeats", f"{repeats} repeats of a {forward_s * 1e3:.3g} ms block {over}; "
                                          f"at most {fits} fit", repeats)
    if job.warmup and _max_repeats(forward_s, 0, job.per_node, forms) >= repeats:
        raise InvalidParameter("warmup", f"{warmup} warm-up runs of a {forward_s * 1e3:.3g} ms block {over}; "
                                         "use fewer", warmup)
    param, value = job.blamed
    raise InvalidParameter(param, f"one pass of this block takes about {forward_s * 1e3:.0f} ms on "
                                  f"{job.device}, so measuring it {over}; make the batch, the input or the "
                                  "channels smaller", value)


def plan(job: "Timing", forward_s: float) -> tuple[int, int]:
    """Warm-up and repeats: the request's, or enough to fill the time target, trimmed to the budget."""
    refuse_over_budget(job, forward_s)
    limits = get_settings()
    forms = len(job.forms)
    per_call = max(forward_s, 1e-7)
    warmup = job.warmup
    if warmup is None:
        warmup = min(limits.max_auto_warmup, max(2, round(limits.measure_warmup_s / per_call)))
        if _max_repeats(forward_s, warmup, job.per_node, forms) < limits.min_repeats:
            warmup = 1  # a slow block: the two untimed passes already warmed it
    repeats = job.repeats
    if repeats is None:
        wanted = round(limits.measure_target_s / per_call)
        repeats = min(limits.max_auto_repeats, max(limits.min_repeats, wanted))
        repeats = max(limits.min_repeats, min(repeats, _max_repeats(forward_s, warmup, job.per_node, forms)))
    return warmup, repeats


class Calibrations:
    """Each device's calibrated throughput per thread count, measured again every `recalibrate_s`.

    A calibration taken while other processes load the machine reads slow; keeping the best rates
    ever seen keeps the estimate optimistic, so it refuses only what is certainly over budget.
    """

    def __init__(self):
        self._seen: dict[tuple, tuple[estimate.Throughput, float]] = {}

    def known(self, device: str, count: int | None) -> estimate.Throughput | None:
        found = self._seen.get((device, count))
        return found[0] if found else None

    def get(self, device: str, count: int | None) -> estimate.Throughput:
        best, when = self._seen.get((device, count), (None, -math.inf))
        if best is None or time.monotonic() - when > get_settings().recalibrate_s:
            fresh = estimate.calibrate(torch.device(device))
            if best is not None:
                fresh = fresh.best_of(best)
            self._seen[(device, count)] = (fresh, time.monotonic())
            best = fresh
        return best


def timing_estimate_s(job: "Timing", forward_s: float) -> float:
    """How long a Timing job holds its device when one forward pass takes about `forward_s`."""
    limits = get_settings()
    warmup = job.warmup if job.warmup is not None else 2
    if job.repeats is not None:
        return need_s(forward_s, warmup, job.repeats, job.per_node, len(job.forms))
    target = limits.measure_target_s * (PER_NODE_FACTOR if job.per_node else 1.0) * len(job.forms)
    untimed = _untimed(job.per_node) + (PROFILED_PASSES if job.per_node else 0)
    return min(limits.measure_budget_s, target + forward_s * untimed * len(job.forms))


# ---------------------------------------------------------------------------------------------------
# the jobs


def _quality(samples: list[float], other_share: float | None, attempts: int, seed: int) -> dict:
    lo, hi = quality.median_interval(samples, seed)
    spread = quality.spread(samples)
    return {"disturbed": quality.is_disturbed(other_share, spread),
            "other_cpu_share": None if other_share is None else round(other_share, 4),
            "spread": round(spread, 4), "ci95_us": [round(lo * 1e6, 3), round(hi * 1e6, 3)],
            "attempts": attempts}


def _attempt(job: "Timing", modules: list[nn.Module], x: torch.Tensor, warmup: int, repeats: int,
             should_stop: Callable[[], bool], left_s: float, forward_s: float
             ) -> tuple[list[dict], float | None]:
    """One measurement of every form: end to end (in rounds when there are several), then op by op,
    each form's ops profiled after (what ran for each) where the budget left holds that too.

    Default repeats stop at the time target; asked-for repeats stop where the budget left would be
    overrun (on a machine slower now than when planned), and the report says how many were taken.
    """
    began = time.perf_counter()
    limits = get_settings()
    window = quality.CpuWindow.open(set(cores()) if job.device == "cpu" else None)
    share = len(modules) * (PER_NODE_FACTOR if job.per_node else 1.0)
    max_s = limits.measure_target_s * len(modules) if job.repeats is None else left_s / share
    if len(modules) == 1:
        results = [timing.measure_block(modules[0], x, warmup, repeats, False, max_s, limits.min_repeats,
                                        should_stop)]
    else:
        rounds = timing.time_rounds([lambda m=m: m(x) for m in modules], warmup, repeats, x.device,
                                    should_stop)
        results = [{"repeats": len(s), "total": timing.summarize(s), "samples_s": s} for s in rounds]
    if job.per_node:
        for i, (module, result) in enumerate(zip(modules, results, strict=True)):
            # the ops' timed rounds take about PER_NODE_FACTOR - 1 passes a repeat; the profiled calls
            # PROFILED_PASSES passes more, for this form and every form after it
            rounds_s = forward_s * (PER_NODE_FACTOR - 1) * (warmup + result["repeats"])
            spent = time.perf_counter() - began
            profile = spent + rounds_s + forward_s * PROFILED_PASSES * (len(modules) - i) <= left_s
            result.update(timing.time_ops(module, x, warmup, result["repeats"], should_stop, profile))
    return results, window.other_share()


def _pass_s(job: "Timing", module: nn.Module, x: torch.Tensor, device: torch.device) -> float:
    """Seconds of one forward pass: the best of up to three after a cold one (a single pass on a
    busy machine can take many times longer than the block needs)."""
    budget = get_settings().measure_budget_s
    cold_s = timing.time_once(lambda: module(x), device)
    if cold_s > budget / 2:  # hopeless: no more passes to find out
        refuse_over_budget(job, cold_s)
    best = spent = 0.0
    for _ in range(3):
        took = timing.time_once(lambda: module(x), device)
        best = took if not best else min(best, took)
        spent += took
        if spent > budget / 20:  # a slow block: one or two passes tell enough
            break
    return best


def _still_busy(device: str, look_s: float = 0.2) -> bool:
    """Is other work still using the measuring cores? Then measuring again now would be disturbed
    too: better to report the figure as disturbed at once than to spend the device's time."""
    window = quality.CpuWindow.open(set(cores()) if device == "cpu" else None)
    time.sleep(look_s)
    share = window.other_share()
    return share is not None and share > get_settings().disturbed_cpu_share


def run_timing(job: "Timing", calibrations: Calibrations, should_stop: Callable[[], bool]) -> TimingResult:
    """Measure a Timing job on its device (the caller holds the device)."""
    device = torch.device(job.device)
    started = time.perf_counter()
    try:
        # on the CPU, always set the count: a thread's own count may have been left elsewhere
        asked = job.threads if job.threads is not None or job.device != "cpu" else DEFAULT_THREADS
        with threads(asked):
            count = torch.get_num_threads() if job.device == "cpu" else None
            job.refuse_early(calibrations.get(job.device, job.threads))
            modules = [form.build().to(device).eval() for _, form in job.forms]
            x = job.input().to(device)
            forward_s = 0.0
            for module in modules:
                forward_s = max(forward_s, _pass_s(job, module, x, device))
            warmup, repeats = plan(job, forward_s)
            attempts = 0
            while True:
                attempts += 1
                attempt_started = time.perf_counter()
                left_s = get_settings().measure_budget_s - (time.perf_counter() - started)
                results, other_share = _attempt(job, modules, x, warmup, repeats, should_stop, left_s,
                                                forward_s)
                qualities = [_quality(r["samples_s"], other_share, attempts, job.seed) for r in results]
                took = time.perf_counter() - attempt_started
                spent = time.perf_counter() - started
                if (not any(q["disturbed"] for q in qualities) or attempts >= MAX_ATTEMPTS
                        or spent + took > get_settings().measure_budget_s or _still_busy(job.device)):
                    break
            dtype = next((p.dtype for p in modules[0].parameters()), x.dtype)
    except (torch.cuda.OutOfMemoryError, MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not isinstance(exc, torch.cuda.OutOfMemoryError) \
                and "can't allocate memory" not in str(exc):
            raise
        param, value = job.blamed
        raise InvalidParameter(param, f"the block does not fit in {job.device}'s memory; make the batch, "
                                      "the input or the channels smaller", value) from None
    finally:
        modules = x = None
        gc.collect()
    common = {
        "machine": get_settings().machine(), "device": job.device, "device_label": device_label(job.device),
        "torch": torch.__version__, "threads": count,
        "cores": cores() if job.device == "cpu" else None, "dtype": str(dtype).removeprefix("torch."),
        "warmup": warmup, "cached": False,
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(time.perf_counter() - started, 4),
    }
    samples = {name: result.pop("samples_s") for (name, _), result in zip(job.forms, results, strict=True)}
    reports = {name: Measurement(**common, **result, quality=q, samples=len(samples[name]))
               for (name, _), result, q in zip(job.forms, results, qualities, strict=True)}
    ratio = None
    if len(job.forms) == 2:
        (first, _), (second, _) = job.forms
        ratio = Speedup(**quality.comparison(first, samples[first], second, samples[second], job.seed))
    return TimingResult(forms=reports, ratio=ratio)


def run_equivalence(job: "Equivalence", should_stop: Callable[[], bool]) -> EquivalenceResult:
    """Build the form with seeded weights, deploy it, and compare both forms' outputs on a seeded
    input (real forward passes); a block with branches (RepVGG) also shows its merged kernel."""
    module = deployed = x = trained = None
    try:
        module = job.form.build()
        deployed, fused = deploy(module)
        if should_stop():
            raise Cancelled
        x = random_input(list(job.input_shape), job.seed)
        with torch.inference_mode():
            trained = module(x)
            diff = (trained - deployed(x)).abs().max().item()
            scale = trained.abs().max().item()
        kernel = kernel_view(module)
    finally:
        module = deployed = x = trained = None
        gc.collect()
    return EquivalenceResult(max_abs_diff=diff, max_rel_diff=diff / scale if scale > 0 else diff, fused=fused,
                             kernel=kernel)


def run_export(job: "Export", should_stop: Callable[[], bool]) -> OnnxFile:
    """Build the form and export it to ONNX."""
    module = None
    try:
        module = job.form.build().eval()
        if should_stop():
            raise Cancelled
        content = to_onnx(module, list(job.input_shape))
    finally:
        module = None
        gc.collect()
    return OnnxFile(filename=job.filename, content=content)


def run_quantized(job: "QuantizedActivations | QuantizedBlock", should_stop: Callable[[], bool]
                  ) -> QuantizedResult:
    """Quantize activations or a block in ONNX Runtime (`blockscope.analysis.quantization`), and with
    `measure` time every float32 and int8 form in alternating rounds, each figure with its quality."""
    count = DEFAULT_THREADS if job.device == "cpu" and job.threads is None else job.threads
    started = time.perf_counter()
    try:
        report, calls, profilers = job.quantize(count)
        if should_stop():
            raise Cancelled
        if not job.measure:
            return QuantizedResult(report=report)
        forms, samples = _time_in_rounds(calls, job.device, count, should_stop, started)
        # after the timed rounds, never during them: the profiler's records would slow what is timed
        profiles = _profile(profilers, samples, should_stop)
        return QuantizedResult(report=report, forms=forms, samples=samples, profiles=profiles)
    finally:
        calls = profilers = None
        gc.collect()


def profile_runs(forward_s: float) -> int:
    """Profiled runs of a form whose end-to-end median is `forward_s`: as many as PROFILE_SHARE of the
    time target holds, within MIN_PROFILE_RUNS and MAX_PROFILE_RUNS."""
    fits = math.floor(get_settings().measure_target_s * PROFILE_SHARE / max(forward_s, 1e-7))
    return max(MIN_PROFILE_RUNS, min(MAX_PROFILE_RUNS, fits))


def _profile(profilers: dict[str, Callable[[int], dict]], samples: dict[str, list[float]],
             should_stop: Callable[[], bool]) -> dict[str, QuantProfile]:
    """Each form's node profile; none at all for forms so slow that even their fewest profiled runs
    would take more than PROFILE_SHARE of the time budget."""
    runs = {name: profile_runs(statistics.median(samples[name])) for name in profilers}
    need = sum((n + 1) * statistics.median(samples[name]) for name, n in runs.items())
    if need > get_settings().measure_budget_s * PROFILE_SHARE:
        return {}
    profiles = {}
    for name, profile in profilers.items():
        if should_stop():
            raise Cancelled
        profiles[name] = QuantProfile(**profile(runs[name]))
    return profiles


def _time_in_rounds(calls: dict[str, Callable[[], object]], device: str, count: int | None,
                    should_stop: Callable[[], bool], started: float
                    ) -> tuple[dict[str, QuantTiming], dict[str, list[float]]]:
    """Every call timed in rounds (warm-up and repeats planned from one untimed round to fill the time
    target), measured again while disturbed and the budget allows; `forms` as a Timing job's."""
    limits = get_settings()
    fns = list(calls.values())
    round_s = max(sum(timing.time_once(fn, torch.device("cpu")) for fn in fns), 1e-7)
    if round_s * (limits.min_repeats + 1) > limits.measure_budget_s:
        raise InvalidParameter("size", f"one round of these forms takes about {round_s * 1e3:.0f} ms, so "
                                       f"{limits.min_repeats} rounds would take more than the "
                                       f"{limits.measure_budget_s:g} s one measurement may take; make it "
                                       "smaller", None)
    warmup = min(limits.max_auto_warmup, max(2, round(limits.measure_warmup_s / round_s)))
    fits = math.floor((limits.measure_budget_s / 2) / round_s) - warmup
    repeats = max(limits.min_repeats, min(limits.max_auto_repeats, fits,
                                          round(limits.measure_target_s * len(fns) / round_s)))
    attempts = 0
    while True:
        attempts += 1
        attempt_started = time.perf_counter()
        window = quality.CpuWindow.open(set(cores()) if device == "cpu" else None)
        rounds = timing.time_rounds(fns, warmup, repeats, torch.device("cpu"), should_stop)
        share = window.other_share()
        qualities = [_quality(s, share, attempts, 0) for s in rounds]
        took = time.perf_counter() - attempt_started
        if (not any(q["disturbed"] for q in qualities) or attempts >= MAX_ATTEMPTS
                or time.perf_counter() - started + took > limits.measure_budget_s
                or _still_busy(device)):
            break
    common = {"machine": get_settings().machine(), "device": device, "threads": count,
              "cores": cores() if device == "cpu" else None,
              "warmup": warmup, "cached": False,
              "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
              "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "duration_s": round(time.perf_counter() - started, 4)}
    forms = {name: QuantTiming(**common, repeats=len(s), samples=len(s), total=timing.summarize(s), quality=q)
             for name, s, q in zip(calls, rounds, qualities, strict=True)}
    return forms, dict(zip(calls, rounds, strict=True))

