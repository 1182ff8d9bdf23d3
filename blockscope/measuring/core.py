"""The measuring queue: one job at a time per device, identical jobs shared, results cached, a job
cancelled when nobody waits for it any more, and a Retry-After from the work really queued.

`MeasuringCore` runs inside the measuring process (or, for tests, inside the web process). Each
device has one worker thread that runs its jobs one after the other; requests wait on tickets.
"""

import contextlib
import copy
import json
import math
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from ..cache import BoundedCache
from ..config import get_settings
from ..errors import Busy, Cancelled, InvalidParameter
from . import run
from .jobs import Job, JobContext, Store
from .results import JobResult


@dataclass(eq=False)
class Ticket:
    """One job queued or running, and how many requests wait for it."""
    job: Job
    estimate_s: float
    future: Future = field(default_factory=Future)
    waiters: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)
    short: bool = False  # a moment's work that times nothing (a proof of equivalence): runs first
    queued: float = field(default_factory=time.monotonic)
    taken: bool = False  # the device's thread has picked it (it is running, or about to)
    started: float | None = None  # time.monotonic() when it began to run


class DeviceWorker:
    """The queue of one device and the thread that runs it."""

    def __init__(self, core: "MeasuringCore", device: str):
        self.core, self.device = core, device
        self.queue: queue.SimpleQueue[None] = queue.SimpleQueue()
        self.pending: list[Ticket] = []  # queued or running, in order
        self.thread = threading.Thread(target=self._loop, name=f"measure-{device}", daemon=True)
        self.thread.start()

    def expected_wait_s(self, short: bool = False) -> float:
        """Seconds until the device is free: the rest of the running job, then every queued one (for
        a short job, only the short ones queued: it goes ahead of the others)."""
        now = time.monotonic()
        wait = 0.0
        for ticket in self.pending:
            if ticket.started is not None:
                wait += max(0.0, ticket.estimate_s - (now - ticket.started))
            elif ticket.taken or ticket.short or not short:  # taken: about to start, whatever it is
                wait += ticket.estimate_s
        return wait

    def take(self) -> Ticket:
        """The next ticket to run (under the core's lock): the oldest short one, unless a longer job
        has waited a whole measurement budget already (short ones then cannot starve it); else the
        oldest."""
        waiting = [t for t in self.pending if not t.taken]
        oldest = waiting[0]
        shorts = [t for t in waiting if t.short]
        overdue = not oldest.short and time.monotonic() - oldest.queued > get_settings().measure_budget_s
        ticket = shorts[0] if shorts and not overdue else oldest
        ticket.taken = True
        return ticket

    def _loop(self) -> None:
        while True:
            self.queue.get()  # one token per ticket queued
            try:
                with self.core.lock:
                    ticket = self.take()
                self.core.run_ticket(self, ticket)
            except Exception:  # the device's only thread: it must outlive any fault
                traceback.print_exc()


JOINING = 16  # how many times more requests may wait by joining a job than by starting one
SHORT_JOB_S, SHORT_EXTRA = 0.5, 4  # jobs this short may fill the queue up to SHORT_EXTRA x max_queue


class MeasuringCore:
    def __init__(self, log_path: str | None = None, name: str = ""):
        """`name` prefixes its caches' names (a second core, in a test, leaves the first's alone)."""
        self.lock = threading.Lock()
        self._workers: dict[str, DeviceWorker] = {}
        self.name = name
        self._caches_lock = threading.Lock()
        self._inflight: dict[Job, Ticket] = {}
        self._caches: dict[Store, BoundedCache[Job, JobResult]] = {}  # one per store jobs name
        # (param, message, value) of jobs refused for their size: the same request is refused at once
        self.refusals: BoundedCache[Job, tuple] = BoundedCache(f"{name}refusals", "latency_cache",
                                                               ttl_s="latency_ttl_s")
        self.calibrations = run.Calibrations()
        self.log_path = log_path
        self._log_lock = threading.Lock()
        self.memory_in_use = 0

    # --- requests -----------------------------------------------------------------------------------

    def submit(self, job: Job, *, fresh: bool = False, cancel: threading.Event | None = None,
               poll_s: float = 0.05) -> JobResult:
        """The result of `job`: cached, shared with an identical job in flight, or measured now.

        `fresh` skips the cache (a "measure again"); `cancel`, when set while waiting, withdraws
        this request, and the job itself when no other request waits for it.
        """
        key = job  # a job is its own cache key
        cache = self.cache(job.store)
        limits = get_settings()
        with self.lock:
            if not fresh:
                hit = cache.get(key)
                if hit is not None:
                    return hit.as_cached()
            refused = None if fresh else self.refusals.get(key)
            if refused is not None:
                raise InvalidParameter(*refused)
            worker = self.worker(job.device)
            ticket = self._inflight.get(key)
            if ticket is not None and ticket.cancelled.is_set():
                ticket = None  # withdrawn a moment ago: this request starts it anew
            waiting = sum(t.waiters for t in worker.pending)
            throughput = self.calibrations.known(job.device, job.threads)
            estimate = job.estimate_s(throughput)
            # a short job that times nothing (a proof of equivalence) adds little to anyone's wait: it
            # goes ahead of queued measurements, and may queue beyond the limit while its own expected
            # wait stays within one measurement's budget; measurements keep to max_queue
            short = (not job.timed and estimate <= SHORT_JOB_S
                     and worker.expected_wait_s(short=True) + estimate <= limits.measure_budget_s)
            if ticket is None and len(worker.pending) >= limits.max_queue * (SHORT_EXTRA if short else 1):
                raise self._busy(worker, f"{len(worker.pending)} measurements are queued or running")
            # requests that join a job add no device time, only a waiting thread: they may be many
            # more (a class pressing Measure on one block at once) than those that each start one
            room = SHORT_EXTRA if short else 1
            most = limits.max_waiting_factor * limits.max_queue * (room if ticket is None else JOINING)
            if waiting >= most:
                raise self._busy(worker, f"{waiting} requests are waiting for measurements")
            if ticket is None:
                job.refuse_early(throughput)  # before any device time is spent
                ticket = Ticket(job, estimate, short=short)
                self._inflight[key] = ticket
                worker.pending.append(ticket)
                worker.queue.put(None)
            ticket.waiters += 1
        try:
            while True:
                try:
                    result = ticket.future.result(timeout=poll_s)
                    return copy.deepcopy(result)
                except TimeoutError:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled from None
        finally:
            self._leave(ticket)

    def _leave(self, ticket: Ticket) -> None:
        with self.lock:
            ticket.waiters -= 1
            if ticket.waiters == 0 and not ticket.future.done():
                ticket.cancelled.set()  # nobody waits: stop it (queued, or between two samples)

    def cache(self, store: Store) -> BoundedCache[Job, JobResult]:
        """The cache that keeps the results of jobs naming `store`."""
        with self._caches_lock:
            found = self._caches.get(store)
            if found is None:
                found = self._caches[store] = BoundedCache(f"{self.name}{store.name}", store.size_setting,
                                                           ttl_s=store.ttl_setting)
            return found

    def worker(self, device: str) -> DeviceWorker:
        """The queue of `device` and its thread (started on first use; call under `lock`)."""
        worker = self._workers.get(device)
        if worker is None:
            worker = self._workers[device] = DeviceWorker(self, device)
        return worker

    @staticmethod
    def _busy(worker: DeviceWorker, why: str) -> Busy:
        retry = max(1, math.ceil(worker.expected_wait_s()))
        return Busy(f"{why} on {worker.device}; try again in {retry} s", retry)

    def state(self) -> dict:
        """What is queued or running on each device, and the memory held by running jobs."""
        with self.lock:
            return {"pid": os.getpid(), "memory_in_use": self.memory_in_use,
                    "devices": {d: {"jobs": len(w.pending), "waiting": sum(t.waiters for t in w.pending),
                                    "expected_wait_s": round(w.expected_wait_s(), 3)}
                                for d, w in self._workers.items()}}

    # --- the device's thread --------------------------------------------------------------------------

    def run_ticket(self, worker: DeviceWorker, ticket: Ticket) -> None:
        job = key = ticket.job
        budget = get_settings().max_memory_mb * 2**20
        try:
            if ticket.cancelled.is_set():  # withdrawn while it waited: it never runs
                now = time.time()
                self._log(job, now, now, ticket)
                raise Cancelled
            with self.lock:  # real tensors in flight stay within one server-wide budget
                if self.memory_in_use and self.memory_in_use + job.memory_bytes > budget:
                    # another device's job holds it: refused now, rather than held in a queue that
                    # could not say how long it waits
                    others = [w for w in self._workers.values() if w is not worker]
                    retry = max(1, math.ceil(max((w.expected_wait_s() for w in others), default=1)))
                    held = self.memory_in_use / 2**20
                    raise Busy(f"the {get_settings().max_memory_mb} MiB this server gives measurements "
                               f"at once are in use ({held:.0f} MiB by a measurement on another device) and "
                               f"this one needs {job.memory_bytes / 2**20:.0f} MiB; try again in {retry} s",
                               retry)
                self.memory_in_use += job.memory_bytes
                ticket.started = time.monotonic()
            begun = time.time()
            try:
                result = job.run(JobContext(self.calibrations, ticket.cancelled.is_set))
            finally:
                with self.lock:
                    self.memory_in_use -= job.memory_bytes
                self._log(job, begun, time.time(), ticket)
            self.cache(job.store).put(key, result)
            ticket.future.set_result(result)
        except InvalidParameter as exc:
            self.refusals.put(key, (exc.param, exc.message, exc.value))
            ticket.future.set_exception(exc)
        except BaseException as exc:
            ticket.future.set_exception(exc)
        finally:
            with self.lock:
                if self._inflight.get(key) is ticket:
                    del self._inflight[key]
                worker.pending.remove(ticket)

    def _log(self, job: Job, begun: float, ended: float, ticket: Ticket) -> None:
        if not self.log_path:
            return
        line = {"pid": os.getpid(), "device": job.device, "job": job.label, "start": begun,
                "end": ended, "estimate_s": round(ticket.estimate_s, 4),
                "cancelled": ticket.cancelled.is_set()}
        with self._log_lock:
            with contextlib.suppress(OSError):
                if os.path.getsize(self.log_path) >= get_settings().log_max_mb * 2**20:
                    os.replace(self.log_path, self.log_path + ".1")  # one older log, at most
            with open(self.log_path, "a") as f:
                f.write(json.dumps(line) + "\n")


_inline: MeasuringCore | None = None
_inline_lock = threading.Lock()


def inline_core() -> MeasuringCore:
    """The core that runs inside this process (for tests, or a server configured `measurer=inline`)."""
    global _inline
    with _inline_lock:
        if _inline is None:
            _inline = MeasuringCore()
        return _inline


def wait_for(fn: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(step_s)
    return fn()
