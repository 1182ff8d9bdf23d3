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
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import torch
from torch import nn

from ..analysis import latency as timing
from ..cache import BoundedCache
from ..config import get_settings
from ..errors import Busy, InvalidParameter
from ..schemas import Device, Graph, LatencyReport, Measurement
from . import blocks
from .admission import WaitingLine

# The thread count a request gets unless it asks; read once, before any request changes it. Every
# measurement that sets its own count restores this one afterwards (see `_threads`).
DEFAULT_THREADS = torch.get_num_threads()
MAX_THREADS = os.cpu_count() or 1


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


def _find_devices() -> tuple[Device, ...]:
    found = [Device(name="cpu", label=f"{_cpu_model()}, {DEFAULT_THREADS} threads", threads=DEFAULT_THREADS,
                    max_threads=MAX_THREADS)]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(Device(name=f"cuda:{i}", label=f"{props.name}, {props.total_memory / 2**30:.0f} GiB",
                                memory=props.total_memory))
    return tuple(found)


_DEVICES = _find_devices()  # fixed for the life of the process


def _devices() -> tuple[Device, ...]:
    return _DEVICES


def devices() -> list[Device]:
    """What this server can measure on: `cpu` always, `cuda:N` for every visible GPU."""
    return list(_DEVICES)


def check_device(device: str) -> str:
    """The canonical name of `device` ("cuda" means "cuda:0"), or a 422 naming the devices."""
    name = (device or "").strip().lower()
    if name == "cuda":
        name = "cuda:0"
    names = [d.name for d in _devices()]
    if name not in names:
        raise InvalidParameter("device", f"unknown device {device!r}; this server can measure on: "
                                         f"{', '.join(names)}", device)
    return name


def _label(device: str) -> str:
    return next(d.label for d in _devices() if d.name == device)


def _check_counts(threads, warmup, repeats, device: str) -> int | None:
    """The thread count the measurement runs with (None on a GPU, where it is not ours to set)."""
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise InvalidParameter("threads", f"must be between 1 and {MAX_THREADS} (this server's CPUs)",
                               threads)
    limits = get_settings()
    if warmup is not None and not 0 <= warmup <= limits.max_warmup:
        raise InvalidParameter("warmup", f"must be between 0 and {limits.max_warmup}", warmup)
    if repeats is not None and not 1 <= repeats <= limits.max_repeats:
        raise InvalidParameter("repeats", f"must be between 1 and {limits.max_repeats}", repeats)
    if device != "cpu":
        # torch.set_num_threads is not ours to touch for a GPU: with OpenMP it sets the calling
        # thread's count and the count threads started later begin with, whatever the device
        return None
    return DEFAULT_THREADS if threads is None else threads


# ---------------------------------------------------------------------------------------------
# queue, in-flight measurements and cache


@dataclass
class _DeviceQueue:
    """The measurements of one device: the measuring section and who waits for it."""
    lock: threading.Lock = field(default_factory=threading.Lock)  # the measuring section
    # measurements queued or running (each request that starts one); its Retry-After comes from
    # how many are ahead and how long one has recently taken
    jobs: WaitingLine = field(default_factory=lambda: WaitingLine("measurements", "max_queue"))
    sharing: int = 0  # requests waiting for an identical measurement that is queued or running

    def busy(self, device: str, why: str) -> Busy:
        return self.jobs.refuse(f"{why} on {device}")


_state = threading.Lock()  # guards everything below (never held while measuring)
_queues: dict[str, _DeviceQueue] = {}
_inflight: dict[tuple, Future] = {}
_results: BoundedCache[tuple, list[dict]] = BoundedCache("latency", "latency_cache", ttl_s="latency_ttl_s")
_rates: dict[tuple, tuple[timing.Rates, float]] = {}  # (device, threads) -> (rates, when)


def clear_cache() -> None:
    _results.clear()


def queue_state(device: str) -> dict:
    """How many measurements are queued or running on `device`, and how many requests share them."""
    queue = _queue(device)
    return {"jobs": queue.jobs.admitted, "sharing": queue.sharing}


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


def _queue(device: str) -> _DeviceQueue:
    with _state:
        return _queues.setdefault(device, _DeviceQueue())


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
    settings = get_settings()
    with _state:
        hit = _results.get(full_key)
        if hit is not None:
            return [{**copy.deepcopy(r), "cached": True} for r in hit]
        queue = _queues.setdefault(job.device, _DeviceQueue())
        future = _inflight.get(full_key)
        owner = future is None
        if owner and queue.jobs.admitted >= queue.jobs.limit:
            raise queue.busy(job.device, f"{queue.jobs.admitted} measurements are queued or running")
        # every request below waits in a server thread: bound them all, sharers included
        waiting = queue.jobs.admitted + queue.sharing
        if waiting >= settings.max_waiting_factor * settings.max_queue:
            raise queue.busy(job.device, f"{waiting} requests are waiting for measurements")
        if owner:
            future = _inflight[full_key] = Future()
            queue.jobs.enter()
        else:
            queue.sharing += 1
    if not owner:  # an identical request is being measured: share its result
        try:
            return copy.deepcopy(future.result())
        finally:
            with _state:
                queue.sharing -= 1
    elapsed = None  # seconds on the device, once measured: the Retry-After estimate learns from it
    try:
        costs = [j.cost() for j in jobs]
        for j, cost in zip(jobs, costs, strict=True):
            _check_prior(j, cost)  # refuse hopeless configurations before queueing for the device
        with queue.lock:
            started = time.perf_counter()
            results = [_measure_now(j, cost) for j, cost in zip(jobs, costs, strict=True)]
            elapsed = time.perf_counter() - started
        _results.put(full_key, results)
        future.set_result(results)
        return copy.deepcopy(results)
    except BaseException as exc:
        future.set_exception(exc)
        raise
    finally:
        with _state:
            _inflight.pop(full_key, None)
        queue.jobs.leave(elapsed)


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


PRIOR_SLACK = 2.0


def _device_rates(device: str, threads: int | None) -> timing.Rates:
    """The best throughput this device has shown (only ever called while holding the device).

    A calibration taken while other processes load the machine reads slow; keeping the best ever
    seen, refreshed every few minutes, keeps the prior estimate optimistic, so it refuses only
    configurations that are certainly over budget.
    """
    key = (device, threads)
    best, when = _rates.get(key, (None, -math.inf))
    if best is None or time.monotonic() - when > get_settings().recalibrate_s:
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
    return math.floor((get_settings().measure_budget_s - _untimed(per_node) * forward_s) / per_run) - warmup


def _refuse(job: _Job, forward_s: float) -> None:
    """422 naming the parameter to change when the measurement would overrun the time budget."""
    limits = get_settings()
    warmup = 1 if job.warmup is None else job.warmup
    repeats = limits.min_repeats if job.repeats is None else job.repeats
    need = _need_s(forward_s, warmup, repeats, job.per_node)
    if need <= limits.measure_budget_s:
        return
    over = (f"would take about {need:.1f} s, more than the {limits.measure_budget_s:g} s one measurement "
            "may take")
    fits = _max_repeats(forward_s, warmup, job.per_node)
    if job.repeats is not None and fits >= 1:
        raise InvalidParameter("repeats", f"{repeats} repeats of a {forward_s * 1e3:.1f} ms block {over}; "
                                          f"at most {fits} fit", repeats)
    if job.warmup is not None and job.warmup > 0 and _max_repeats(forward_s, 0, job.per_node) >= repeats:
        raise InvalidParameter("warmup", f"{warmup} warm-up runs of a {forward_s * 1e3:.1f} ms block {over}; "
                                         "use fewer", warmup)
    param = "batch" if job.input_shape[0] > 1 else "height"
    raise InvalidParameter(param, f"one pass of this block takes about {forward_s * 1e3:.0f} ms on "
                                  f"{job.device}, so measuring it {over}; make the batch, the input or the "
                                  "channels smaller",
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
    limits = get_settings()
    per_call = max(forward_s, 1e-7)
    warmup = job.warmup
    if warmup is None:
        warmup = min(limits.max_auto_warmup, max(2, round(limits.measure_warmup_s / per_call)))
        if _max_repeats(forward_s, warmup, job.per_node) < limits.min_repeats:
            warmup = 1  # a slow block: the two untimed passes already warmed it
    repeats = job.repeats
    if repeats is None:
        wanted = round(limits.measure_target_s / per_call)
        repeats = min(limits.max_auto_repeats, max(limits.min_repeats, wanted))
        repeats = max(limits.min_repeats, min(repeats, _max_repeats(forward_s, warmup, job.per_node)))
    return warmup, repeats


def plan(forward_s: float, input_shape: list[int], *, warmup: int | None = None, repeats: int | None = None,
         per_node: bool = True, device: str = "cpu") -> tuple[int, int]:
    """The warm-up and repeats a measurement of a module whose forward pass takes `forward_s` would
    use (None: the default for such a module), or the 422 it would be refused with."""
    job = _Job(lambda: None, list(input_shape), device, None, warmup, repeats, per_node, 0, lambda: None)
    return _plan(job, forward_s)


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
            param = "batch" if job.input_shape[0] > 1 else "height"
            raise InvalidParameter(param, f"the block does not fit in {job.device}'s memory; reduce batch, "
                                          "height/width or the channel counts") from None


def _timed(job: _Job, module: nn.Module, device: torch.device) -> dict:
    gen = torch.Generator().manual_seed(job.seed)
    x = torch.randn(job.input_shape, generator=gen).to(device)
    started = time.perf_counter()
    cold_s = timing.time_once(lambda: module(x), device)
    # hopeless: do not spend a second pass finding out exactly
    if cold_s > get_settings().measure_budget_s / 2:
        _refuse(job, cold_s)
    forward_s = timing.time_once(lambda: module(x), device)
    warmup, repeats = _plan(job, forward_s)
    # default repeats also stop at the time target, which a loaded machine would otherwise overrun
    max_s = get_settings().measure_target_s if job.repeats is None else None
    # end to end first, per node after: see `timing.measure_block` on memory
    measured = timing.measure_block(module, x, warmup, repeats, job.per_node, max_s,
                                    get_settings().min_repeats)
    dtype = next((p.dtype for p in module.parameters()), x.dtype)
    return {
        "device": job.device, "device_label": _label(job.device), "torch": torch.__version__,
        "threads": job.threads, "dtype": str(dtype).removeprefix("torch."),
        "warmup": warmup, **measured,
        "cached": False,
        # how busy the machine was: other work on the CPUs slows every number in this report
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(time.perf_counter() - started, 4),
    }


# ---------------------------------------------------------------------------------------------
# public interface


def _cost(module: nn.Module, input_shape: list[int], graph: Graph | None) -> Callable[[], timing.Cost | None]:
    if graph is not None:
        return lambda: timing.cost_from_graph(graph)
    return lambda: timing.cost_of(module, input_shape)


def measure(key: tuple, module: nn.Module, input_shape: list[int], *, device: str = "cpu",
            threads: int | None = None, warmup: int | None = None, repeats: int | None = None,
            per_node: bool = True, seed: int = 0, graph: Graph | None = None) -> Measurement:
    """Latency of `module` on a seeded random input of `input_shape`, through the device queue.

    `key` identifies the module (e.g. kind and config); results are cached under it plus device,
    threads, warm-up, repeats and `per_node` for `latency_ttl_s` seconds. The module is timed in
    eval mode (its training flag is restored afterwards) and never moved: a copy is made when it
    lives on another device. `graph`, the module's analysis when the caller has it, gives the cost
    estimate checked against the time budget before anything runs.
    """
    return measure_forms(key, {"": (module, graph)}, input_shape, device=device, threads=threads,
                         warmup=warmup, repeats=repeats, per_node=per_node, seed=seed)[""]


def measure_forms(key: tuple, forms: dict[str, tuple[nn.Module, Graph | None]], input_shape: list[int], *,
                  device: str = "cpu", threads: int | None = None, warmup: int | None = None,
                  repeats: int | None = None, per_node: bool = True, seed: int = 0) -> dict[str, Measurement]:
    """`measure` for several modules taking the same input (name -> (module, graph or None)).

    They are measured one after the other in one hold of the device, then shared and cached as
    one result: the reports always come from the same measurement, all fresh or all cached, so
    numbers compared across them (e.g. a speedup) are never a stale one over a fresh one. Each
    module gets the time budget on its own.
    """
    device = check_device(device)
    threads = _check_counts(threads, warmup, repeats, device)
    shape = list(input_shape)
    jobs = [_Job((lambda m=module: m), shape, device, threads, warmup, repeats, per_node, seed,
                 _cost(module, shape, graph)) for module, graph in forms.values()]
    results = _measure((tuple(key), tuple(forms)), jobs)
    return {name: Measurement(**result) for name, result in zip(forms, results, strict=True)}


def latency_report(kind: str, values: dict, *, device: str = "cpu", threads: int | None = None,
                   warmup: int | None = None, repeats: int | None = None) -> LatencyReport:
    """The latency report of a block: analysis checks first, then the measurement."""
    analysis = blocks.analyse(kind, values).data  # 404/422 for bad kinds, parameters and sizes
    device = check_device(device)
    threads = _check_counts(threads, warmup, repeats, device)
    config = analysis.config
    job = _Job(lambda: blocks.build(kind, config, device), list(analysis.input_shape), device, threads,
               warmup, repeats, True, config["seed"], lambda: timing.cost_from_graph(analysis))
    [result] = _measure(("block", kind, tuple(config.items())), [job])
    return LatencyReport(kind=kind, config=config, **result)
