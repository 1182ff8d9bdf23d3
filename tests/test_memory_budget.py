"""One server-wide budget for the real tensors in flight: whatever the device, a job that would take the
measurements' memory past BLOCKSCOPE_MAX_MEMORY_MB while another holds part of it is refused (429 with
Retry-After), never run beside it; the memory is given back when each job ends."""

import threading
import time
from dataclasses import dataclass, field

import pytest

from blockscope.errors import Busy
from blockscope.measuring import core as measuring_core
from blockscope.measuring.jobs import FILES, Job, JobContext
from blockscope.measuring.results import JobResult

MIB = 2**20
# how long the queue expects a job to hold its device, by the first word of its name
DURATIONS = {"long": 3.0, "short": 0.1}


@dataclass
class Gate:
    """Held jobs run until `release` is set; `ran` records which ran, in order."""
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    ran: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Held(Job):
    """A job that holds `memory_bytes` of the budget while it runs, until its gate is released."""
    store = FILES
    name: str
    device: str
    memory_bytes: int = field(compare=False)
    gate: Gate = field(compare=False)
    threads: int | None = None

    def estimate_s(self, throughput) -> float:
        return DURATIONS.get(self.name.split()[0], 0.5)

    def run(self, ctx: JobContext) -> JobResult:
        self.gate.ran.append(self.name)
        self.gate.started.set()
        self.gate.release.wait(10)
        return JobResult()


@pytest.fixture
def held():
    gate = Gate()
    yield gate.started, gate.release, gate.ran, lambda device, mib, name: Held(name, device, mib * MIB, gate)
    gate.release.set()


def test_a_job_past_the_budget_is_refused_while_another_is_in_flight(configure, held):
    configure(max_memory_mb=100)
    started, release, ran, export_job = held
    core = measuring_core.MeasuringCore(name="test core ")
    first = threading.Thread(target=lambda: core.submit(export_job("cpu", 70, "big")))
    first.start()
    try:
        assert started.wait(10)
        assert core.state()["memory_in_use"] == 70 * MIB
        with pytest.raises(Busy) as refused:  # another device, so it would run beside the first
            core.submit(export_job("other-device", 40, "too much"))
        assert refused.value.retry_after >= 1
        assert "100 MiB" in str(refused.value) and "40 MiB" in str(refused.value)
        assert ran == ["big"], "the refused job must never have started"
    finally:
        release.set()
        first.join(10)
    assert core.state()["memory_in_use"] == 0  # given back
    core.submit(export_job("other-device", 40, "later"))  # and now it fits
    assert ran == ["big", "later"]


def test_jobs_that_fit_together_run_together(configure, held):
    configure(max_memory_mb=100)
    started, release, ran, export_job = held
    core = measuring_core.MeasuringCore(name="test core ")
    first = threading.Thread(target=lambda: core.submit(export_job("cpu", 50, "one")))
    first.start()
    try:
        assert started.wait(10)
        second = threading.Thread(target=lambda: core.submit(export_job("other-device", 40, "two")))
        second.start()
        assert measuring_core.wait_for(lambda: len(ran) == 2, 10)
        assert core.state()["memory_in_use"] == 90 * MIB
    finally:
        release.set()
        first.join(10)
        second.join(10)
    assert core.state()["memory_in_use"] == 0


def test_the_refusal_is_a_429_with_retry_after(configure, monkeypatch):
    client = configure()

    def full(*args, **kwargs):
        raise Busy("the memory this server gives measurements at once is in use; try again in 3 s", 3)

    monkeypatch.setattr(measuring_core.MeasuringCore, "submit", full)
    r = client.get("/api/blocks/conv/latency?height=8&width=8")
    assert r.status_code == 429 and r.headers["retry-after"] == "3" and "in use" in r.json()["detail"]


def test_short_jobs_may_queue_past_the_limit_long_ones_may_not(configure, held):
    """A proof of equivalence takes a moment: a full queue of them still answers within one
    measurement's budget, so they may fill it up to SHORT_EXTRA times max_queue; a long job is
    refused at max_queue (the queue lives in this module's admission, whatever the job)."""
    configure(max_queue=2, measure_budget_s=10)
    started, release, ran, export_job = held
    core = measuring_core.MeasuringCore(name="test queue ")
    threads = [threading.Thread(target=lambda i=i: core.submit(export_job("cpu", 1, f"short {i}")))
               for i in range(2 * measuring_core.SHORT_EXTRA)]
    try:
        threads[0].start()
        assert started.wait(10)
        for t in threads[1:]:
            t.start()
        assert measuring_core.wait_for(lambda: core.state()["devices"]["cpu"]["jobs"] == len(threads), 10)
        with pytest.raises(Busy):
            core.submit(export_job("cpu", 1, "short too many"))  # SHORT_EXTRA x max_queue reached
        with pytest.raises(Busy):
            core.submit(export_job("cpu", 1, "long one"))  # past max_queue
    finally:
        release.set()
        for t in threads:
            t.join(10)
    assert len(ran) == len(threads)


def test_a_short_job_goes_ahead_of_queued_measurements_but_cannot_starve_them(configure, held):
    """A proof of equivalence queued behind a measurement runs first (it adds a moment to that wait,
    and saves the proof a measurement's); a measurement that has waited a whole budget goes first."""
    configure(max_queue=4, measure_budget_s=10)
    started, release, ran, export_job = held
    core = measuring_core.MeasuringCore(name="test order ")
    names = ["long running", "long queued", "short proof"]
    threads = [threading.Thread(target=lambda n=n: core.submit(export_job("cpu", 1, n))) for n in names]
    try:
        threads[0].start()
        assert started.wait(10)
        threads[1].start()
        assert measuring_core.wait_for(lambda: core.state()["devices"]["cpu"]["jobs"] == 2, 10)
        with core.lock:
            worker = core.worker("cpu")
        assert worker.expected_wait_s(short=True) == pytest.approx(3.0, abs=0.2)  # the running one only
        assert worker.expected_wait_s() == pytest.approx(6.0, abs=0.2)
        threads[2].start()
        assert measuring_core.wait_for(lambda: core.state()["devices"]["cpu"]["jobs"] == 3, 10)
    finally:
        release.set()
        for t in threads:
            t.join(10)
    assert ran == ["long running", "short proof", "long queued"]
    assert measuring_core.wait_for(lambda: core.state()["devices"]["cpu"]["jobs"] == 0, 10)

    with core.lock:  # a measurement queued longer than the budget is not passed any more
        worker.pending[:] = [measuring_core.Ticket(export_job("cpu", 1, "long old"), 3.0,
                                                   queued=time.monotonic() - 11),
                             measuring_core.Ticket(export_job("cpu", 1, "short new"), 0.1, short=True)]
        assert worker.take().job.name == "long old"
        worker.pending.clear()
