"""Measured latency as a service: devices, one measurement at a time per device, identical requests
sharing one measurement, a bounded TTL cache, and a time budget checked before anything is timed.

The timing itself is `app.analysis.latency`; this module decides when, where and how often it runs.
"""

import copy
import math
import os
import platform
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

import torch
from torch import nn

from ..analysis import latency as timing
from ..settings import int_env
from . import blocks
from .errors import Busy, InvalidParameter

# The thread count a request gets unless it asks; read once, before any request changes it. Every
# measurement that sets its own count restores this one afterwards (see `_threads`).
DEFAULT_THREADS = torch.get_num_threads()
MAX_THREADS = os.cpu_count() or 1
MAX_WARMUP = 1000
MAX_REPEATS = 10000


@dataclass
class LatencyConfig:
    """Tunables (environment variables documented in the README); tests may change them."""
    ttl_s: int = int_env("BLOCKSCOPE_LATENCY_TTL_S", 60)
    cache_size: int = int_env("BLOCKSCOPE_LATENCY_CACHE", 256)
    # measurements per device queued or running; one more is answered 429
    max_queue: int = int_env("BLOCKSCOPE_MAX_QUEUE", 8)
    # requests per device blocked on a measurement (queued, running, or sharing an identical one)
    # may be at most this many times max_queue: each holds a server thread while it waits
    max_waiting_factor: int = 2
    budget_s: int = int_env("BLOCKSCOPE_MEASURE_BUDGET_S", 10)
    # Default repetition adapts to the block: enough timed end-to-end calls to fill `target_s`
    # (the per-node pass then takes about as long again), within these bounds.
    target_s: float = 0.3
    warmup_s: float = 0.03
    min_repeats: int = 10
    max_auto_repeats: int = 2000
    max_auto_warmup: int = 100


config = LatencyConfig()


# ---------------------------------------------------------------------------------------------
# devices


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


@lru_cache(maxsize=1)
def _devices() -> tuple[dict, ...]:
    found = [{"name": "cpu", "label": f"{_cpu_model()}, {DEFAULT_THREADS} threads",
              "threads": DEFAULT_THREADS, "max_threads": MAX_THREADS}]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append({"name": f"cuda:{i}", "label": f"{props.name}, {props.total_memory / 2**30:.0f} GiB",
                          "memory": props.total_memory})
    return tuple(found)


def devices() -> list[dict]:
    """What this server can measure on: `cpu` always, `cuda:N` for every visible GPU."""
    return [dict(d) for d in _devices()]


def check_device(device: str) -> str:
    """The canonical name of `device` ("cuda" means "cuda:0"), or a 422 naming the devices."""
    name = (device or "").strip().lower()
    if name == "cuda":
        name = "cuda:0"
    names = [d["name"] for d in _devices()]
    if name not in names:
        raise InvalidParameter("device", f"unknown device {device!r}; this server can measure on: "
                                         f"{', '.join(names)}", device)
    return name


def _label(device: str) -> str:
    return next(d["label"] for d in _devices() if d["name"] == device)


def _check_counts(threads, warmup, repeats, device: str) -> int | None:
    """The thread count the measurement runs with (None on a GPU, where it is not ours to set)."""
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise InvalidParameter("threads", f"must be between 1 and {MAX_THREADS} (this server's CPUs)", threads)
    if warmup is not None and not 0 <= warmup <= MAX_WARMUP:
        raise InvalidParameter("warmup", f"must be between 0 and {MAX_WARMUP}", warmup)
    if repeats is not None and not 1 <= repeats <= MAX_REPEATS:
        raise InvalidParameter("repeats", f"must be between 1 and {MAX_REPEATS}", repeats)
    if device != "cpu":
        # torch.set_num_threads is not ours to touch for a GPU: with OpenMP it sets the calling
        # thread's count and the count threads started later begin with, whatever the device
        return None
    return DEFAULT_THREADS if threads is None else threads


# ---------------------------------------------------------------------------------------------
# queue, in-flight measurements and cache


@dataclass
class _Device:
    lock: threading.Lock = field(default_factory=threading.Lock)  # the measuring section
    pending: int = 0  # measurements queued or running
    sharing: int = 0  # requests waiting for an identical measurement that is queued or running
    recent_s: float = 1.0  # smoothed duration of one measurement, for Retry-After

    def retry_after(self) -> int:
        return max(1, math.ceil(self.pending * self.recent_s))


_state = threading.Lock()  # guards everything below (never held while measuring)
_queues: dict[str, _Device] = {}
_inflight: dict[tuple, Future] = {}
_cache: "OrderedDict[tuple, tuple[float, list[dict]]]" = OrderedDict()
_rates: dict[tuple, tuple[timing.Rates, float]] = {}  # (device, threads) -> (rates, when)


def clear_cache() -> None:
    with _state:
        _cache.clear()


def _cache_get(full_key: tuple) -> list[dict] | None:
    hit = _cache.get(full_key)
    if hit is None:
        return None
    expires, result = hit
    if time.monotonic() >= expires:
        del _cache[full_key]
        return None
    _cache.move_to_end(full_key)
    return result


def _cache_put(full_key: tuple, result: list[dict]) -> None:
    _cache[full_key] = (time.monotonic() + config.ttl_s, result)
    _cache.move_to_end(full_key)
    while len(_cache) > config.cache_size:
        _cache.popitem(last=False)


@dataclass
class _Job:
    module: Callable[[], nn.Module]
    input_shape: list[int]
    device: str
    threads: int | None
    warmup: int | None
    repeats: int | None
    per_node: bool
    seed: int
    cost: Callable[[], timing.Cost | None]  # madds and MAC, computed only if a measurement runs


def _queue(device: str) -> _Device:
    with _state:
        return _queues.setdefault(device, _Device())


@contextmanager
def device_lock(device: str):
    """Hold `device` as a measurement does: nothing else measured on it runs meanwhile.

    Other heavy real work on a device (e.g. the reparameterization's equivalence passes on the
    CPU) runs under this, so it never overlaps a measurement and makes its numbers dishonest.
    Not re-entrant: never call `measure` while holding it.
    """
    with _queue(check_device(device)).lock:
        yield


def _measure(key: tuple, jobs: list[_Job]) -> list[dict]:
    """Measure `jobs` (same device and settings) in one section, sharing and caching them as one."""
    job = jobs[0]
    full_key = (key, job.device, job.threads, job.warmup, job.repeats, job.per_node, job.seed)
    with _state:
        hit = _cache_get(full_key)
        if hit is not None:
            return [{**copy.deepcopy(r), "cached": True} for r in hit]
        queue = _queues.setdefault(job.device, _Device())
        future = _inflight.get(full_key)
        owner = future is None
        if owner and queue.pending >= config.max_queue:
            retry = queue.retry_after()
            raise Busy(f"{queue.pending} measurements are queued or running on {job.device} "
                       f"(BLOCKSCOPE_MAX_QUEUE={config.max_queue}); try again in {retry} s", retry)
        # every request below waits in a server thread: bound them all, sharers included
        waiting = queue.pending + queue.sharing
        if waiting >= config.max_waiting_factor * config.max_queue:
            retry = queue.retry_after()
            raise Busy(f"{waiting} requests are waiting for measurements on {job.device} "
                       f"(BLOCKSCOPE_MAX_QUEUE={config.max_queue}); try again in {retry} s", retry)
        if owner:
            future = _inflight[full_key] = Future()
            queue.pending += 1
        else:
            queue.sharing += 1
    if not owner:  # an identical request is being measured: share its result
        try:
            return copy.deepcopy(future.result())
        finally:
            with _state:
                queue.sharing -= 1
    try:
        costs = [j.cost() for j in jobs]
        for j, cost in zip(jobs, costs):
            _check_prior(j, cost)  # refuse hopeless configurations before queueing for the device
        with queue.lock:
            started = time.perf_counter()
            results = [_measure_now(j, cost) for j, cost in zip(jobs, costs)]
            elapsed = time.perf_counter() - started
        with _state:
            queue.recent_s = 0.7 * queue.recent_s + 0.3 * elapsed
            _cache_put(full_key, results)
        future.set_result(results)
        return copy.deepcopy(results)
    except BaseException as exc:
        future.set_exception(exc)
        raise
    finally:
        with _state:
            _inflight.pop(full_key, None)
            queue.pending -= 1


# ---------------------------------------------------------------------------------------------
# the measuring section (one at a time per device)


@contextmanager
def _threads(threads: int | None):
    """Run with `threads` CPU threads, then go back to DEFAULT_THREADS.

    With OpenMP, torch.set_num_threads sets the calling thread's count and also the count every
    thread started later begins with. Restoring this thread's "previous" count could therefore make
    a stale, lower count (say 1, left by an earlier measurement) the default of every new thread;
    restoring the start-up count keeps the process default what it was at start-up.
    """
    if threads is None:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(DEFAULT_THREADS)


RECALIBRATE_S = 300.0
PRIOR_SLACK = 2.0


def _device_rates(device: str, threads: int | None) -> timing.Rates:
    """The best throughput this device has shown (only ever called while holding the device).

    A calibration taken while other processes load the machine reads slow; keeping the best ever
    seen, refreshed every few minutes, keeps the prior estimate optimistic, so it refuses only
    configurations that are certainly over budget.
    """
    key = (device, threads)
    best, when = _rates.get(key, (None, -math.inf))
    if best is None or time.monotonic() - when > RECALIBRATE_S:
        fresh = timing.calibrate(torch.device(device))
        best = fresh if best is None else timing.Rates(max(best.madds_per_s, fresh.madds_per_s),
                                                       max(best.bytes_per_s, fresh.bytes_per_s),
                                                       min(best.call_s, fresh.call_s))
        _rates[key] = (best, time.monotonic())
    return best


PER_NODE_FACTOR = 2.5  # the per-node pass costs about one more forward, plus a call per op


def _untimed(per_node: bool) -> int:
    """Untimed passes: a cold one, one timed once for the plan, and the pass recording op inputs."""
    return 3 if per_node else 2


def _need_s(forward_s: float, warmup: int, repeats: int, per_node: bool) -> float:
    """Seconds a measurement takes: the untimed passes, then warm-up and repeats (per node too)."""
    return forward_s * ((warmup + repeats) * (PER_NODE_FACTOR if per_node else 1.0) + _untimed(per_node))


def _max_repeats(forward_s: float, warmup: int, per_node: bool) -> int:
    per_run = forward_s * (PER_NODE_FACTOR if per_node else 1.0)
    return math.floor((config.budget_s - _untimed(per_node) * forward_s) / per_run) - warmup


def _refuse(job: _Job, forward_s: float) -> None:
    """422 naming the parameter to change when the measurement would overrun the time budget."""
    warmup = 1 if job.warmup is None else job.warmup
    repeats = config.min_repeats if job.repeats is None else job.repeats
    need = _need_s(forward_s, warmup, repeats, job.per_node)
    if need <= config.budget_s:
        return
    over = (f"would take about {need:.1f} s, over the server's time budget of {config.budget_s} s "
            "(BLOCKSCOPE_MEASURE_BUDGET_S)")
    fits = _max_repeats(forward_s, warmup, job.per_node)
    if job.repeats is not None and fits >= 1:
        raise InvalidParameter("repeats", f"{repeats} repeats of a {forward_s * 1e3:.1f} ms block {over}; "
                                          f"at most {fits} fit", repeats)
    if job.warmup is not None and job.warmup > 0 and _max_repeats(forward_s, 0, job.per_node) >= repeats:
        raise InvalidParameter("warmup", f"{warmup} warm-up runs of a {forward_s * 1e3:.1f} ms block {over}; "
                                         "use fewer", warmup)
    param = blocks.size_param(job.input_shape[0])
    raise InvalidParameter(param, f"one pass of this block takes about {forward_s * 1e3:.0f} ms on {job.device}, "
                                  f"so measuring it {over}; reduce batch, height/width or the channel counts",
                           job.input_shape[0] if param == "batch" else job.input_shape[2])


def _check_prior(job: _Job, cost: timing.Cost | None) -> None:
    """Budget check from madds and MAC alone, on this device's calibrated throughput (when known).

    The roofline estimate can be off either way for a given block, so it refuses only when even
    a pass PRIOR_SLACK times faster would not fit; the timed pass before measuring decides the rest.
    """
    rates, _ = _rates.get((job.device, job.threads), (None, 0))
    if rates is not None and cost is not None:
        _refuse(job, rates.forward_s(cost) / PRIOR_SLACK)


def _plan(job: _Job, forward_s: float) -> tuple[int, int]:
    """Warm-up and repeats: the request's, or enough to fill `target_s`, trimmed to the budget."""
    _refuse(job, forward_s)
    per_call = max(forward_s, 1e-7)
    warmup = job.warmup
    if warmup is None:
        warmup = min(config.max_auto_warmup, max(2, round(config.warmup_s / per_call)))
        if _max_repeats(forward_s, warmup, job.per_node) < config.min_repeats:
            warmup = 1  # a slow block: the two untimed passes already warmed it
    repeats = job.repeats
    if repeats is None:
        repeats = min(config.max_auto_repeats, max(config.min_repeats, round(config.target_s / per_call)))
        repeats = max(config.min_repeats, min(repeats, _max_repeats(forward_s, warmup, job.per_node)))
    return warmup, repeats


def _prepare(module: nn.Module, device: torch.device) -> nn.Module:
    on = next((p.device for p in module.parameters()), None)
    if on is not None and on != device:
        module = copy.deepcopy(module).to(device)  # never move the caller's module
    return module


def _measure_now(job: _Job, cost: timing.Cost | None) -> dict:
    """Everything that runs on the device; the caller holds its lock."""
    device = torch.device(job.device)
    with _threads(job.threads):
        try:
            _device_rates(job.device, job.threads)
            _check_prior(job, cost)
            module = _prepare(job.module(), device)
            training = module.training
            module.eval()
            try:
                return _timed(job, module, device)
            finally:
                module.train(training)
        except torch.cuda.OutOfMemoryError:
            param = blocks.size_param(job.input_shape[0])
            raise InvalidParameter(param, f"the block does not fit in {job.device}'s memory; reduce batch, "
                                          "height/width or the channel counts") from None


def _timed(job: _Job, module: nn.Module, device: torch.device) -> dict:
    gen = torch.Generator().manual_seed(job.seed)
    x = torch.randn(job.input_shape, generator=gen).to(device)
    started = time.perf_counter()
    cold_s = timing.time_once(lambda: module(x), device)
    if cold_s > config.budget_s / 2:  # hopeless: do not spend a second pass finding out exactly
        _refuse(job, cold_s)
    forward_s = timing.time_once(lambda: module(x), device)
    warmup, repeats = _plan(job, forward_s)
    # default repeats also stop at the time target, which a loaded machine would otherwise overrun
    max_s = config.target_s if job.repeats is None else None
    # end to end first, per node after: see `timing.measure_block` on memory
    measured = timing.measure_block(module, x, warmup, repeats, job.per_node, max_s, config.min_repeats)
    dtype = next((p.dtype for p in module.parameters()), x.dtype)
    return {
        "device": job.device, "device_label": _label(job.device), "torch": torch.__version__,
        "threads": job.threads, "dtype": str(dtype).removeprefix("torch."),
        "warmup": warmup, **measured,
        "cached": False,
        # how busy the machine was: other work on the CPUs slows every number in this report
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(time.perf_counter() - started, 4),
    }


# ---------------------------------------------------------------------------------------------
# public interface


def _cost(module: nn.Module, input_shape: list[int], description: dict | None) -> Callable[[], timing.Cost | None]:
    if description is not None:
        return lambda: timing.cost_from_description(description)
    return lambda: timing.cost_of(module, input_shape)


def measure(key: tuple, module: nn.Module, input_shape: list[int], *, device: str = "cpu",
            threads: int | None = None, warmup: int | None = None, repeats: int | None = None,
            per_node: bool = True, seed: int = 0, description: dict | None = None) -> dict:
    """Latency of `module` on a seeded random input of `input_shape`, through the device queue.

    `key` identifies the module (e.g. kind and config); results are cached under it plus device,
    threads, warm-up, repeats and `per_node` for BLOCKSCOPE_LATENCY_TTL_S seconds. The module is
    timed in eval mode (its training flag is restored afterwards) and never moved: a copy is made
    when it lives on another device. `description`, the module's `graph.describe` when the caller
    has it, gives the cost estimate checked against the time budget before anything runs.
    """
    return measure_forms(key, {"": (module, description)}, input_shape, device=device, threads=threads,
                         warmup=warmup, repeats=repeats, per_node=per_node, seed=seed)[""]


def measure_forms(key: tuple, forms: dict[str, tuple[nn.Module, dict | None]], input_shape: list[int], *,
                  device: str = "cpu", threads: int | None = None, warmup: int | None = None,
                  repeats: int | None = None, per_node: bool = True, seed: int = 0) -> dict[str, dict]:
    """`measure` for several modules taking the same input (name -> (module, description or None)).

    They are measured one after the other in one hold of the device, then shared and cached as
    one result: the reports always come from the same measurement, all fresh or all cached, so
    numbers compared across them (e.g. a speedup) are never a stale one over a fresh one. Each
    module gets the time budget on its own.
    """
    device = check_device(device)
    threads = _check_counts(threads, warmup, repeats, device)
    shape = list(input_shape)
    jobs = [_Job((lambda m=module: m), shape, device, threads, warmup, repeats, per_node, seed,
                 _cost(module, shape, description)) for module, description in forms.values()]
    return dict(zip(forms, _measure((tuple(key), tuple(forms)), jobs)))


def latency_report(kind: str, values: dict, *, device: str = "cpu", threads: int | None = None,
                   warmup: int | None = None, repeats: int | None = None) -> dict:
    """The LatencyReport (API.md) of a block: analysis checks first, then the measurement."""
    analysis = blocks.analyse(kind, values)  # 404/422 for bad kinds, parameters and sizes
    device = check_device(device)
    threads = _check_counts(threads, warmup, repeats, device)
    data = analysis.data
    config_ = data["config"]
    job = _Job(lambda: blocks.build(kind, config_, device), list(data["input_shape"]), device, threads,
               warmup, repeats, True, config_["seed"], lambda: timing.cost_from_description(data))
    [report] = _measure(("block", kind, tuple(config_.items())), [job])
    return {"kind": kind, "config": dict(config_), **report}
