"""The real measuring process, behind a real server with two web workers on a loopback port: jobs of
both workers never overlap, an abandoned request's job is cancelled, a crash is a 503 and the
process comes back, other work on the CPU is flagged, and memory is given back after each job."""

import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import onnx as onnx_model
import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = "height=8&width=8&warmup=1&repeats=5"
pytestmark = pytest.mark.process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn with two workers and the measuring process, in a runtime folder of its own."""
    runtime = tmp_path_factory.mktemp("runtime")
    port = _free_port()
    env = {**os.environ, "BLOCKSCOPE_MEASURER": "process", "BLOCKSCOPE_RUNTIME_DIR": str(runtime)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "blockscope.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "2", "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the server did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.2)
    yield url, runtime
    pid = _measuring_pid(url)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    if pid:
        _kill(pid)


def _measuring_pid(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/api/measuring", timeout=30).json()["pid"]
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _log(runtime: Path) -> list[dict]:
    path = runtime / "measurements.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_jobs_from_two_workers_never_overlap(server):
    url, runtime = server
    before = len(_log(runtime))
    kinds = ["conv", "group_conv", "activation", "conv_bn", "depthwise_separable", "channel_shuffle",
             "shufflenet_v2_unit", "squeeze_excitation"]
    answers: list[httpx.Response] = []

    def get(kind, seed):
        answers.append(httpx.get(f"{url}/api/blocks/{kind}/latency?{SMALL}&seed={seed}", timeout=120))

    threads = [threading.Thread(target=get, args=(k, i)) for i, k in enumerate(kinds * 2)]
    for t in threads:
        t.start()
        time.sleep(0.02)  # staggered, so both workers take some
    for t in threads:
        t.join(180)
    assert all(a.status_code in (200, 429) for a in answers), [a.text[:200] for a in answers]
    assert sum(a.status_code == 200 for a in answers) >= 8
    jobs = sorted(_log(runtime)[before:], key=lambda j: j["start"])
    assert len({j["pid"] for j in jobs}) == 1  # one measuring process served both workers
    for a, b in itertools.pairwise(jobs):
        assert a["end"] <= b["start"], (a, b)
    report = next(a.json() for a in answers if a.status_code == 200)
    assert set(report["quality"]) == {"disturbed", "other_cpu_share", "spread", "ci95_us", "attempts"}


def test_an_abandoned_request_is_cancelled_and_frees_the_device(server):
    url, runtime = server
    # a long measurement (most of the time budget), abandoned after a moment
    repeats = _repeats_that_fit(url, 76)
    for attempt in range(6):  # the machine's load (other tests, other programs) moves the figures
        before = len(_log(runtime))
        try:
            early = httpx.get(f"{url}/api/blocks/conv/latency?repeats={repeats}&seed={77 + attempt}",
                              timeout=1.5)
        except httpx.ReadTimeout:
            gone = time.time()
            # a measurement that was about to end anyway finishes uncancelled: too short a test
            assert _wait(lambda b=before: len(_log(runtime)) > b, 30)
            if _log(runtime)[before]["cancelled"]:
                break
            repeats = min(10000, repeats * 2)
            continue
        assert early.status_code in (200, 422), early.text[:300]
        repeats = min(10000, repeats * 2) if early.status_code == 200 else max(1, repeats // 2)
    else:
        pytest.fail("every try was refused, answered at once, or ended just as it was abandoned")
    light = httpx.get(f"{url}/api/blocks/activation/latency?{SMALL}&seed=78", timeout=120)
    assert light.status_code == 200
    jobs = _log(runtime)[before:]
    abandoned = [j for j in jobs if j["cancelled"]]
    assert len(abandoned) == 1, (gone, repeats, jobs)
    [abandoned] = abandoned
    # withdrawn within a few polls of the disconnect, not after its whole run (several seconds)
    assert abandoned["end"] - gone < 3.0, (abandoned, gone)
    lighter = [j for j in jobs if not j["cancelled"]]
    assert lighter and lighter[-1]["start"] >= abandoned["end"]  # the device was free for the next


def _repeats_that_fit(url: str, seed: int) -> int:
    """A quarter of the repeats the server says fit its time budget for the default conv (refused
    from its estimate, which is kept optimistic, the figure can be a few times too generous)."""
    refused = httpx.get(f"{url}/api/blocks/conv/latency?repeats=10000&seed={seed}", timeout=120)
    fits = re.search(r"at most (\d+) fit", refused.text)
    assert refused.status_code == 422 and fits, refused.text[:300]
    return max(1, int(fits[1]) // 4)


def test_a_crash_is_a_503_and_the_process_comes_back(server):
    url, _ = server
    repeats = _repeats_that_fit(url, 90)
    for attempt in range(5):  # the machine's load (other tests, other programs) moves the figures
        pid = _measuring_pid(url)
        assert pid
        result: dict = {}

        def measure(repeats=repeats, attempt=attempt, result=result):
            result["r"] = httpx.get(f"{url}/api/blocks/conv/latency?repeats={repeats}&seed={95 + attempt}",
                                    timeout=60)

        worker = threading.Thread(target=measure)
        worker.start()
        time.sleep(1.0)
        _kill(pid)
        worker.join(60)
        status = result["r"].status_code
        if status not in (200, 422):
            break
        # finished before the kill (a fast moment), or refused: longer, or shorter, and again
        repeats = min(10000, repeats * 2) if status == 200 else max(1, repeats // 2)
    crashed = result["r"]
    assert crashed.status_code == 503, crashed.text
    assert int(crashed.headers["retry-after"]) >= 1 and "restarted" in crashed.json()["detail"]
    again = httpx.get(f"{url}/api/blocks/conv/latency?{SMALL}&seed=99", timeout=120)
    assert again.status_code == 200
    assert _measuring_pid(url) not in (None, pid)


def _burn(seconds: float) -> subprocess.Popen:
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def test_other_work_on_the_cpu_is_flagged(server):
    url, _ = server
    query = "in_channels=64&out_channels=64&height=28&width=28"  # default repeats: they fit the budget
    burners = [_burn(20) for _ in range(os.cpu_count() or 1)]
    try:
        answer = httpx.get(f"{url}/api/blocks/conv/latency?{query}&seed=101", timeout=120)
        assert answer.status_code == 200, answer.text[:300]
        busy = answer.json()
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert busy["quality"]["other_cpu_share"] > 0.3, busy["quality"]
    assert busy["quality"]["disturbed"] is True and busy["quality"]["attempts"] >= 1
    time.sleep(1.0)
    quiet = httpx.get(f"{url}/api/blocks/conv/latency?{query}&seed=102", timeout=120).json()
    # nothing else runs: the rest of the machine's share is far below the one under load
    assert quiet["quality"]["other_cpu_share"] < busy["quality"]["other_cpu_share"] / 2, quiet["quality"]


def test_memory_is_given_back_after_each_job(server):
    url, _ = server
    big = "in_channels=512&out_channels=512&height=56&width=56&repeats=3&warmup=1"
    first = httpx.get(f"{url}/api/blocks/conv/latency?{big}&seed=201", timeout=120)
    assert first.status_code == 200, first.text
    pid = _measuring_pid(url)
    after_one = _rss_mb(pid)
    for seed in (202, 203, 204):
        assert httpx.get(f"{url}/api/blocks/conv/latency?{big}&seed={seed}", timeout=120).status_code == 200
    after_four = _rss_mb(pid)
    # each job holds about 30 MB of weights and activations; none of it may pile up
    assert after_four - after_one < 60, (after_one, after_four)


def test_exports_and_network_checks_run_in_the_measuring_process(server):
    url, runtime = server
    before = len(_log(runtime))
    onnx = httpx.get(f"{url}/api/blocks/conv/onnx?height=6&width=6&seed=301&form=deploy", timeout=120)
    assert onnx.status_code == 200
    onnx_model.checker.check_model(onnx_model.load_from_string(onnx.content))
    checked = httpx.get(f"{url}/api/networks/repvgg_a0/reparam?equivalence=true", timeout=120)
    assert checked.status_code == 200 and checked.json()["equivalence"]["max_rel_diff"] < 1e-3
    measured = httpx.get(f"{url}/api/networks/shufflenet_v2_x0_5?height=32&width=32&measure=true&warmup=1"
                         "&repeats=3", timeout=120)
    assert measured.status_code == 200, measured.text
    assert sum(row["measured"]["share"] for row in measured.json()["rows"]) == pytest.approx(1)
    jobs = _log(runtime)[before:]
    assert [j["job"] for j in jobs] == ["Export", "Equivalence", "Timing"]
    assert {j["pid"] for j in jobs} == {_measuring_pid(url)}


def test_a_silent_connection_holds_up_nobody(server):
    """A client that connects to the measuring process and says nothing is cut off in its own
    thread; everyone else is served meanwhile."""
    url, runtime = server
    assert _measuring_pid(url)
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(str(runtime / "measurer.sock"))
    try:
        started = time.monotonic()
        r = httpx.get(f"{url}/api/blocks/activation/latency?{SMALL}&seed=301", timeout=60)
        assert r.status_code == 200 and time.monotonic() - started < 30
    finally:
        silent.close()
