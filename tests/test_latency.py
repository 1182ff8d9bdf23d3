"""Measured latency (docs/design.md, "Measuring latency"): report shape, node ids, shares, the device
queue, in-flight sharing, the TTL cache, the time budget and the 429 of a full queue."""

import inspect
import re
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from blockscope.analysis import latency as timing
from blockscope.analysis.graph import analyse_graph
from blockscope.cache import clear_all
from blockscope.config import get_settings
from blockscope.errors import InvalidParameter
from blockscope.measuring import core as measuring_core
from blockscope.measuring import run as measuring_run
from blockscope.measuring.jobs import Timing
from blockscope.registry import BLOCKS
from blockscope.service import blocks
from blockscope.service import latency as service

from .configs import random_configs

SMALL = "height=8&width=8&warmup=1&repeats=3"
HAS_CUDA = torch.cuda.is_available()
cuda = [pytest.mark.cuda, pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")]


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_all()
    yield
    clear_all()


def analysis_ids(kind: str, values: dict) -> list[str]:
    return [n.id for n in blocks.analyse(kind, values).data.nodes if n.op != "input"]


def describe(module, shape) -> dict:
    return analyse_graph(module, shape).model_dump()


def check_stats(stats: dict) -> None:
    assert 0 < stats["p25_us"] <= stats["median_us"] <= stats["p75_us"]


def check_report(report, kind: str, values: dict) -> None:
    if not isinstance(report, dict):
        report = report.model_dump()
    assert [n["id"] for n in report["nodes"]] == analysis_ids(kind, values)
    check_stats(report["total"])
    for node in report["nodes"]:
        check_stats(node)
    medians = [n["median_us"] for n in report["nodes"]]
    assert report["sum_of_nodes_us"] == pytest.approx(sum(medians), abs=1e-2)
    assert sum(n["share"] for n in report["nodes"]) == pytest.approx(1.0, abs=1e-9)
    for node in report["nodes"]:
        assert node["share"] == pytest.approx(node["median_us"] / sum(medians), rel=1e-9)
    assert sum(report["share_by_op"].values()) == pytest.approx(1.0, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# the report


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_report_for_every_kind(client, kind):
    r = client.get(f"/api/blocks/{kind}/latency?{SMALL}")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    report = r.json()
    expected_config = blocks.analyse(kind, {"height": 8, "width": 8}).data.config
    assert report["kind"] == kind and report["config"] == expected_config
    assert report["device"] == "cpu" and report["device_label"] == service.devices()[0].label
    assert report["torch"] == torch.__version__ and report["dtype"] == "float32"
    assert (report["threads"], report["warmup"], report["repeats"]) == (service.DEFAULT_THREADS, 1, 3)
    assert report["cached"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["measured_at"])
    check_report(report, kind, {"height": 8, "width": 8})


@pytest.mark.parametrize("kind", list(BLOCKS))
@pytest.mark.slow
def test_node_ids_match_analysis_on_random_configs(kind):
    for config in random_configs(BLOCKS[kind], 2, seed=7):
        report = service.latency_report(kind, config, warmup=0, repeats=1)
        check_report(report, kind, config)


def test_quartiles_match_numpy():
    rng = np.random.default_rng(3)
    for n in [1, 2, 3, 4, 7, 50, 101]:
        samples = list(rng.exponential(1e-3, n))
        stats = timing.summarize(samples)
        for key, q in [("p25_us", 25), ("median_us", 50), ("p75_us", 75)]:
            assert stats[key] == pytest.approx(np.percentile(samples, q) * 1e6, abs=1e-3)


def test_time_calls_runs_warmup_then_repeats():
    calls = []
    samples = timing.time_calls(lambda: calls.append(1), 4, 9, torch.device("cpu"))
    assert len(calls) == 13 and len(samples) == 9 and all(s >= 0 for s in samples)


def test_time_calls_stops_at_its_time_target_but_not_before_min_repeats():
    cpu = torch.device("cpu")
    samples = timing.time_calls(lambda: time.sleep(0.005), 0, 1000, cpu, max_s=0.05, min_repeats=3)
    assert 3 <= len(samples) <= 12 and min(samples) >= 0.005
    assert len(timing.time_calls(lambda: time.sleep(0.001), 0, 1000, cpu, max_s=0.0, min_repeats=4)) == 4


def test_time_rounds_call_every_op_once_per_round_in_order():
    calls = []
    samples = timing.time_rounds([lambda: calls.append("a"), lambda: calls.append("b")], 2, 3,
                                 torch.device("cpu"))
    assert calls == ["a", "b"] * 5 and [len(s) for s in samples] == [3, 3]


def test_recorded_ops_reproduce_the_forward_pass():
    """Each op is bound to the tensors it really received: replaying them in order gives the output."""
    config = blocks.resolve("shufflenet_v2_unit", {"height": 6, "width": 6, "stride": 2})
    module = blocks.build(config)
    x = torch.randn(config.input_shape)
    ops = timing.record(module, x)
    analysis = blocks.analyse("shufflenet_v2_unit", config).data
    shapes = {n.id: n.output_shape for n in analysis.nodes}
    with torch.inference_mode():
        outputs = {op.id: op.call() for op in ops}
        expected = module(x)
    assert list(outputs) == analysis_ids("shufflenet_v2_unit", config)
    for op_id, out in outputs.items():
        assert list(out.shape) == shapes[op_id]
    assert torch.equal(outputs[ops[-1].id], expected)


def test_elementwise_ops_are_timed_like_convs(client):
    report = client.get(f"/api/blocks/mobilenet_v3_bneck/latency?{SMALL}").json()
    ops = {n["op"] for n in report["nodes"]}
    assert {"conv2d", "batch_norm", "hardswish", "mul", "add"} <= ops
    assert set(report["share_by_op"]) == ops


# ---------------------------------------------------------------------------------------------
# measure(), the interface for other features


def test_measure_module_end_to_end_only():
    net = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 1)).train()
    report = service.measure(("stack", 2), net, [1, 8, 6, 6], warmup=1, repeats=3, per_node=False)
    report = report.model_dump()
    assert report["nodes"] is None and report["sum_of_nodes_us"] is None
    check_stats(report["total"])
    assert net.training  # the caller's module keeps its mode
    again = service.measure(("stack", 2), net, [1, 8, 6, 6], warmup=1, repeats=3, per_node=False)
    assert again.cached is True and again.measured_at == report["measured_at"]
    per_node = service.measure(("stack", 2), net, [1, 8, 6, 6], warmup=1, repeats=3)
    assert per_node.cached is False
    assert [n.id for n in per_node.nodes] == [
        n["id"] for n in describe(net, [1, 8, 6, 6])["nodes"] if n["op"] != "input"]


def test_measure_checks_its_arguments():
    net = nn.Conv2d(4, 4, 1)
    for kwargs, param in [({"device": "tpu"}, "device"), ({"threads": 0}, "threads"),
                          ({"threads": service.MAX_THREADS + 1}, "threads"), ({"warmup": -1}, "warmup"),
                          ({"repeats": 0}, "repeats"),
                          ({"repeats": get_settings().max_repeats + 1}, "repeats")]:
        with pytest.raises(InvalidParameter) as err:
            service.measure(("bad",), net, [1, 4, 4, 4], **kwargs)
        assert err.value.param == param


def test_threads_are_set_while_measuring_and_restored(monkeypatch):
    seen = []
    real = timing.measure_block

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(timing, "measure_block", spy)
    report = service.latency_report("conv", {"height": 8, "width": 8}, threads=1, warmup=1, repeats=3)
    assert seen and set(seen) == {1} and report.threads == 1  # a disturbed figure is measured again
    assert torch.get_num_threads() == service.DEFAULT_THREADS


def _in_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(30)
    return out[0]


def test_a_measurement_leaves_new_threads_at_the_start_up_count():
    """With OpenMP a thread's set_num_threads is also the count new threads start with: restoring a
    worker's stale "previous" count would make it every new thread's default."""
    def worker():
        torch.set_num_threads(1)  # a count left in this worker thread by earlier work
        return service.latency_report("conv", {"height": 8, "width": 8}, threads=1, warmup=1, repeats=3)

    try:
        assert _in_thread(worker).threads == 1
        assert _in_thread(torch.get_num_threads) == service.DEFAULT_THREADS
    finally:
        torch.set_num_threads(service.DEFAULT_THREADS)


# ---------------------------------------------------------------------------------------------
# errors


def test_unknown_device_is_422_naming_the_devices(client):
    for device in ["tpu", "cuda:7", "" if HAS_CUDA else "cuda"]:
        r = client.get(f"/api/blocks/conv/latency?{SMALL}&device={device}")
        assert r.status_code == 422
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["query", "device"] and "cpu" in detail["msg"]


@pytest.mark.parametrize("query,param", [
    ("threads=0", "threads"), (f"threads={service.MAX_THREADS + 1}", "threads"), ("warmup=-1", "warmup"),
    (f"warmup={get_settings().max_warmup + 1}", "warmup"), ("repeats=0", "repeats"),
    (f"repeats={get_settings().max_repeats + 1}", "repeats"), ("repeats=many", "repeats"),
    ("groups=5", "groups"), ("height=0", "height"),
])
def test_bad_parameters_are_422_naming_them(client, query, param):
    r = client.get(f"/api/blocks/group_conv/latency?{query}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", param]


def test_unknown_kind_is_404(client):
    r = client.get("/api/blocks/resnet/latency")
    assert r.status_code == 404 and "conv" in r.json()["detail"]


def test_devices(client):
    r = client.get("/api/devices")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    found = r.json()
    assert found[0]["name"] == "cpu" and found[0]["threads"] == service.DEFAULT_THREADS
    assert f"{service.DEFAULT_THREADS} threads" in found[0]["label"]
    assert [d["name"] for d in found[1:]] == [f"cuda:{i}" for i in range(torch.cuda.device_count())]


# ---------------------------------------------------------------------------------------------
# time budget


def pretend_forward_takes(monkeypatch, seconds: float):
    """Every timed single pass reports `seconds` (the madds-based estimate before it, from the CPU's
    real throughput, lets these tiny blocks through)."""
    monkeypatch.setattr(timing, "time_once", lambda fn, device: seconds)


def test_too_many_repeats_is_refused_before_timing(configure, monkeypatch):
    client = configure(measure_budget_s=1)
    pretend_forward_takes(monkeypatch, 0.002)
    monkeypatch.setattr(timing, "measure_block", lambda *a, **k: pytest.fail("measured over budget"))
    r = client.get("/api/blocks/conv/latency?height=8&width=8&repeats=5000")
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["query", "repeats"] and "1 s one measurement may take" in detail["msg"]
    # refused from the estimate before any device time, or from the timed pass (0.002 s here): either
    # way, f s a pass: f * ((1 + r) * 2.5 + 3) <= 1 s  ->  r <= (1 - 3 f) / (2.5 f) - 1
    found = re.search(r"repeats of a ([0-9.]+) ms block .* at most (\d+) fit", detail["msg"])
    forward_s, fits = float(found[1]) / 1e3, int(found[2])
    exact = (1 - 3 * forward_s) / (2.5 * forward_s) - 1  # the ms are shown to 3 significant figures
    assert abs(fits - exact) <= 2 + 0.006 * exact
    r = client.get("/api/blocks/conv/latency?height=8&width=8&repeats=1&warmup=1000")
    assert r.json()["detail"][0]["loc"] == ["query", "warmup"]


def test_slow_block_is_refused_naming_its_size(configure, monkeypatch):
    client = configure(measure_budget_s=1)
    pretend_forward_takes(monkeypatch, 0.5)
    monkeypatch.setattr(timing, "measure_block", lambda *a, **k: pytest.fail("measured over budget"))
    r = client.get("/api/blocks/conv/latency?height=8&width=8")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "height"]
    r = client.get("/api/blocks/conv/latency?height=8&width=8&batch=2")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "batch"]


def default_job(forms: int = 1) -> Timing:
    return Timing(forms=tuple((f"f{i}", None) for i in range(forms)), input_shape=(1, 64, 56, 56), seed=0,
                  device="cpu", threads=1, warmup=None, repeats=None, per_node=True, work=())


@pytest.mark.parametrize("forward_s,warmup,repeats", [
    (1e-5, 100, 2000),  # both capped
    (1e-3, 30, 300),  # 0.03 s of warm-up, 0.3 s of repeats
    (0.05, 2, 10),  # at least 2 warm-up runs and 10 repeats
    (0.3, 2, 10),  # 0.3 * ((2 + 10) * 2.5 + 2) = 9.6 s, inside the 10 s budget
])
def test_default_repeats_adapt_to_the_block(forward_s, warmup, repeats):
    assert get_settings().measure_budget_s == 10
    assert measuring_run.plan(default_job(), forward_s) == (warmup, repeats)


def test_default_repeats_are_refused_when_even_the_fewest_overrun():
    with pytest.raises(InvalidParameter) as err:
        measuring_run.plan(default_job(), 0.35)  # 0.35 * ((1 + 10) * 2.5 + 3) = 10.7 s
    assert err.value.param == "height"


def test_default_measurement_follows_its_plan(monkeypatch):
    pretend_forward_takes(monkeypatch, 0.001)
    report = service.latency_report("conv", {"height": 8, "width": 8}).model_dump()
    assert report["warmup"] == 30
    # the end-to-end loop also stops at its time target, so a loaded machine may give fewer
    assert get_settings().min_repeats <= report["repeats"] <= 300
    assert all(n["median_us"] > 0 for n in report["nodes"])


def test_huge_block_is_refused_from_its_madds_without_running(client, monkeypatch):
    client.get(f"/api/blocks/conv/latency?{SMALL}")  # calibrates the CPU
    monkeypatch.setattr(timing, "record", lambda *a: pytest.fail("ran a block far over budget"))
    r = client.get("/api/blocks/conv/latency?in_channels=2048&out_channels=2048&kernel_size=7"
                   "&height=64&width=64")  # 860 G multiply-adds
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "height"]
    # the time budget answers, not the memory limit (the analysis alone passes this block)
    message = r.json()["detail"][0]["msg"]
    assert "one measurement may take" in message and "MiB" not in message


def test_end_to_end_is_timed_before_op_inputs_are_recorded(monkeypatch):
    """Recorded inputs keep every activation alive: no end-to-end pass may run on top of them."""
    events = []
    real_record, real_calls = timing.record, timing.time_calls

    def record(*args):
        events.append("record")
        return real_record(*args)

    def time_calls(*args, **kwargs):
        events.append("end-to-end")
        return real_calls(*args, **kwargs)

    monkeypatch.setattr(timing, "record", record)
    monkeypatch.setattr(timing, "time_calls", time_calls)
    report = service.latency_report("conv_bn", {"height": 8, "width": 8}, warmup=1, repeats=3)
    # each attempt (a disturbed one is repeated) times end to end first, then records
    assert events and events == ["end-to-end", "record"] * (len(events) // 2)
    check_report(report, "conv_bn", {"height": 8, "width": 8})


def test_a_measurement_needs_no_copy_of_the_weights(monkeypatch):
    net = nn.Sequential(nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU())
    meta = timing.meta_copy(net)
    assert all(t.is_meta for t in [*meta.parameters(), *meta.buffers()])
    assert all(not t.is_meta for t in [*net.parameters(), *net.buffers()])
    assert analyse_graph(meta, [1, 8, 6, 6]) == analyse_graph(net, [1, 8, 6, 6])
    # a block's own analysis gives the estimate: no module is copied to find its cost
    monkeypatch.setattr(service, "meta_copy", lambda *a: pytest.fail("copied a module for its cost"))
    service.latency_report("conv", {"height": 8, "width": 8}, warmup=1, repeats=3)
    service.measure(("analysed",), net, [1, 8, 6, 6], warmup=1, repeats=3,
                    graph=analyse_graph(net, [1, 8, 6, 6]))


# ---------------------------------------------------------------------------------------------
# cache


def test_second_request_is_cached(client):
    first = client.get(f"/api/blocks/conv/latency?{SMALL}").json()
    second = client.get(f"/api/blocks/conv/latency?{SMALL}").json()
    assert first["cached"] is False and second["cached"] is True
    assert second["measured_at"] == first["measured_at"] and second["total"] == first["total"]
    other = client.get(f"/api/blocks/conv/latency?{SMALL}&threads=1").json()
    assert other["cached"] is (service.DEFAULT_THREADS == 1)


def test_cache_entries_expire(configure):
    client = configure(latency_ttl_s=1e-9)
    client.get(f"/api/blocks/conv/latency?{SMALL}")
    assert client.get(f"/api/blocks/conv/latency?{SMALL}").json()["cached"] is False


def test_cache_is_bounded(configure):
    client = configure(latency_cache=2)
    for h in (5, 6, 7):
        client.get(f"/api/blocks/conv/latency?height={h}&width=8&warmup=1&repeats=3")
    assert client.get("/api/blocks/conv/latency?height=7&width=8&warmup=1&repeats=3").json()["cached"]
    assert not client.get("/api/blocks/conv/latency?height=5&width=8&warmup=1&repeats=3").json()["cached"]


# ---------------------------------------------------------------------------------------------
# concurrency


class MeasuringSection:
    """Wraps the timing inside the measuring section (`measure_block`, which only a measurement that
    holds its device calls): counts entries, the most at once, and can hold it open."""

    def __init__(self, monkeypatch, hold_s: float = 0.0, until_released: bool = False):
        self.lock = threading.Lock()
        self.inside = self.most = self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.hold_s = hold_s
        real = timing.measure_block

        def wrapped(*args, **kwargs):
            with self.lock:
                self.inside += 1
                self.calls += 1
                self.most = max(self.most, self.inside)
            self.entered.set()
            try:
                time.sleep(self.hold_s)
                if until_released:
                    self.release.wait(10)
                return real(*args, **kwargs)
            finally:
                with self.lock:
                    self.inside -= 1

        monkeypatch.setattr(timing, "measure_block", wrapped)


@pytest.fixture
def never_disturbed(configure):
    """Counting measurements: a figure judged disturbed (this machine is shared) is not taken again."""
    return configure(disturbed_cpu_share=1.0, disturbed_spread=1e9)


def in_parallel(client, urls: list[str]) -> list:
    responses = [None] * len(urls)

    def get(i):
        responses[i] = client.get(urls[i])

    threads = [threading.Thread(target=get, args=(i,)) for i in range(len(urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return responses


def test_measurements_on_one_device_never_overlap(never_disturbed, monkeypatch):
    client = never_disturbed
    section = MeasuringSection(monkeypatch, hold_s=0.02)
    kinds = ["conv", "group_conv", "channel_shuffle", "activation", "conv_bn", "repvgg_block"]
    responses = in_parallel(client, [f"/api/blocks/{k}/latency?{SMALL}" for k in kinds])
    assert [r.status_code for r in responses] == [200] * len(kinds)
    assert section.calls == len(kinds) and section.most == 1


def test_identical_requests_share_one_measurement(never_disturbed, monkeypatch):
    client = never_disturbed
    section = MeasuringSection(monkeypatch, hold_s=0.3)
    responses = in_parallel(client, [f"/api/blocks/conv/latency?{SMALL}"] * 6)
    assert [r.status_code for r in responses] == [200] * 6
    assert section.calls == 1
    assert len({r.json()["measured_at"] for r in responses}) == 1
    assert len({r.json()["total"]["median_us"] for r in responses}) == 1


def test_full_queue_is_429_with_retry_after(configure, monkeypatch):
    client = configure(max_queue=1, disturbed_cpu_share=1.0, disturbed_spread=1e9)
    section = MeasuringSection(monkeypatch, until_released=True)
    slow = threading.Thread(target=lambda: results.append(client.get(f"/api/blocks/conv/latency?{SMALL}")))
    twin = threading.Thread(target=lambda: results.append(client.get(f"/api/blocks/conv/latency?{SMALL}")))
    results = []
    slow.start()
    assert section.entered.wait(10)
    twin.start()  # identical to the running one: it waits for that result, it is not queued
    busy = client.get(f"/api/blocks/group_conv/latency?{SMALL}")
    assert busy.status_code == 429
    assert int(busy.headers["retry-after"]) >= 1 and "queued or running" in busy.json()["detail"]
    section.release.set()
    slow.join(10)
    twin.join(10)
    assert [r.status_code for r in results] == [200, 200] and section.calls == 1
    assert client.get(f"/api/blocks/group_conv/latency?{SMALL}").status_code == 200


def test_requests_sharing_a_measurement_are_bounded(configure, monkeypatch):
    """Each request waiting for an identical measurement holds a server thread: past a multiple of
    `max_queue` (JOINING times larger for requests that join a job than for those that start one)
    they are answered 429 too, instead of tying up every thread."""
    # so 2 requests may wait on this device; a disturbed figure is not taken again (counted below)
    client = configure(max_queue=1, max_waiting_factor=2, disturbed_cpu_share=1.0, disturbed_spread=1e9)
    monkeypatch.setattr(measuring_core, "JOINING", 1)
    section = MeasuringSection(monkeypatch, until_released=True)
    url = f"/api/blocks/conv/latency?{SMALL}"
    results = []
    threads = [threading.Thread(target=lambda: results.append(client.get(url))) for _ in range(2)]
    threads[0].start()
    assert section.entered.wait(10)
    threads[1].start()  # shares the running measurement
    deadline = time.monotonic() + 10
    while service.queue_state()["devices"]["cpu"]["waiting"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    busy = client.get(url)  # a third identical request
    section.release.set()
    for t in threads:
        t.join(10)
    assert busy.status_code == 429 and int(busy.headers["retry-after"]) >= 1
    assert "requests are waiting" in busy.json()["detail"]
    assert [r.status_code for r in results] == [200, 200] and section.calls == 1
    assert {k: v for k, v in service.queue_state()["devices"]["cpu"].items() if k != "expected_wait_s"} \
        == {"jobs": 0, "waiting": 0}


def test_healthz_never_waits_for_a_worker_thread(client):
    """Sync routes run in a bounded thread pool that measurements can fill; /healthz does no work."""
    from blockscope.api import health
    [route] = [r for r in health.router.routes if r.path == "/healthz"]
    assert inspect.iscoroutinefunction(route.endpoint)
    assert client.get("/healthz").json() == {"status": "ok"}


# ---------------------------------------------------------------------------------------------
# CUDA (skipped without a GPU)


@pytest.mark.parametrize("kind", ["conv", "shufflenet_v2_unit", "mobilenet_v3_bneck"])
@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_report(client, kind):
    r = client.get(f"/api/blocks/{kind}/latency?device=cuda:0&warmup=2&repeats=5")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["device"] == "cuda:0" and report["threads"] is None
    assert torch.cuda.get_device_name(0) in report["device_label"]
    check_report(report, kind, {})


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_measure_leaves_the_callers_module_on_cpu():
    net = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU())
    report = service.measure(("cuda-stack",), net, [1, 8, 16, 16], device="cuda", warmup=1, repeats=3)
    assert report.device == "cuda:0" and next(net.parameters()).device.type == "cpu"
    check_stats(report.total.model_dump())


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_events_time_the_work_not_the_launch():
    """A kernel that runs for milliseconds is timed as milliseconds, though it launches in microseconds."""
    device = torch.device("cuda:0")
    a = torch.randn(4096, 4096, device=device)
    samples = timing.time_calls(lambda: a @ a, 2, 5, device)
    seconds = timing.time_once(lambda: [a @ a for _ in range(5)], device) / 5
    assert np.median(samples) == pytest.approx(seconds, rel=0.5)


def test_a_class_pressing_measure_on_one_block_shares_one_measurement(configure, monkeypatch):
    """Requests that join a running job add no device time: more of them may wait than may start jobs."""
    client = configure(max_queue=1, max_waiting_factor=1, disturbed_cpu_share=1.0, disturbed_spread=1e9)
    section = MeasuringSection(monkeypatch, until_released=True)
    url = f"/api/blocks/conv/latency?{SMALL}&seed=4711"
    results = []
    threads = [threading.Thread(target=lambda: results.append(client.get(url))) for _ in range(6)]
    threads[0].start()
    assert section.entered.wait(10)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 10
    while service.queue_state()["devices"]["cpu"]["waiting"] < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    other = client.get(f"/api/blocks/conv/latency?{SMALL}&seed=4712")  # a new job: the queue is full
    section.release.set()
    for t in threads:
        t.join(10)
    assert [r.status_code for r in results] == [200] * 6 and section.calls == 1
    assert other.status_code == 429


def test_a_measurement_names_the_machine_that_made_it(configure):
    """Several servers behind one proxy: each figure says which one measured it."""
    client = configure(machine_name="lab-server-3")
    report = client.get(f"/api/blocks/conv/latency?{SMALL}&seed=31337&repeats=5").json()
    assert report["machine"] == "lab-server-3"
    import socket
    assert configure(machine_name="").get(f"/api/blocks/conv/latency?{SMALL}&seed=31338&repeats=5")\
        .json()["machine"] == socket.gethostname()
