"""The class setup: nginx's configuration (deploy/), and the whole stack of scripts/serve-class.sh
(nginx, two web workers, the measuring process) on a free loopback port.

nginx comes from Debian's `nginx` package (scripts/test.sh installs it when missing and run as
root); without it these tests are skipped, or fail when CI is set. The stack runs with short
client timeouts (template values), so the slow-client checks take seconds.
"""

import contextlib
import gzip
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "serve-class.sh"
IDLE_CONNECTIONS = 1100
HEADER_TIMEOUT_S = 3
# logs capped at 4 KiB and checked every second: an hour of the load test's traffic writes about
# 17 default caps (8 MiB) of access log; test_logs_stay_under_their_cap writes more caps than that
LOG_MAX_BYTES = 4 * 1024


def _load_renderer():
    spec = importlib.util.spec_from_file_location("render_nginx", ROOT / "deploy" / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_nginx = _load_renderer()


def _nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


@pytest.fixture(scope="module")
def nginx() -> str:
    binary = _nginx_binary()
    if binary is None:
        message = "nginx is missing: install Debian's 'nginx' package to test the class setup"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nginx_t(nginx: str, prefix: Path, conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run([nginx, "-t", "-e", "stderr", "-p", str(prefix), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)


# --- the configuration -----------------------------------------------------------------------------

@pytest.mark.process
def test_rendered_configuration_passes_nginx_t(nginx, tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx.render([f"unix:{tmp_path}/web-1.sock", f"unix:{tmp_path}/web-2.sock"],
                                        str(tmp_path), LISTEN=f"127.0.0.1:{_free_port()}"))
    result = _nginx_t(nginx, tmp_path, conf)
    assert result.returncode == 0, result.stderr


@pytest.mark.process
def test_compose_configuration_is_the_rendered_template_and_valid(nginx, tmp_path):
    shipped = (ROOT / "deploy" / "nginx-compose.conf").read_text()
    render = "python deploy/render_nginx.py --compose -o deploy/nginx-compose.conf"
    assert shipped == render_nginx.compose(), f"deploy/nginx-compose.conf is stale: {render}"
    # outside a container: a resolvable upstream, no user switch, folders of our own
    local = (shipped.replace("server app:8000", "server 127.0.0.1:8000").replace("user nginx;", "")
             .replace("/var/cache/nginx", str(tmp_path)).replace("/tmp/nginx.pid", str(tmp_path / "pid"))
             .replace("access_log /dev/stdout", f"access_log {tmp_path}/access.log"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(local)
    result = _nginx_t(nginx, tmp_path, conf)
    assert result.returncode == 0, result.stderr


def test_configuration_choices():
    text = render_nginx.render(["unix:/run/web-1.sock"], "/var/tmp/x")
    assert not re.search(r"@[A-Z_]+@", text), "a placeholder was left unfilled"
    for directive in ("server_tokens off;", "proxy_cache_lock on;", "reset_timedout_connection on;",
                      "add_header X-Cache-Status $upstream_cache_status always;", "daemon off;"):
        assert directive in text
    assert re.search(r"proxy_cache_use_stale updating\b", text)
    gzip_types = re.search(r"gzip_types([^;]*);", text).group(1).split()
    assert {"application/javascript", "text/javascript", "application/json", "text/css"} <= set(gzip_types)
    # the cached location: analyses, never latency, onnx or the measuring process
    cached = re.search(r"location ~ (\S+) \{\n\s+proxy_pass http://blockscope;\n\s+proxy_cache blockscope;",
                       text).group(1)
    for path in ("/api/blocks/group_conv", "/api/blocks/group_conv/sweep", "/api/blocks/conv/reparam",
                 "/api/blocks/group_conv/fixed-madds", "/api/networks", "/api/networks/resnext50",
                 "/api/networks/repvgg_a0/reparam"):
        assert re.search(cached, path), path
    for path in ("/api/blocks/conv/latency", "/api/measuring", "/api/blocks/conv/onnx",
                 "/api/networks/resnext50/onnx", "/api/devices", "/healthz"):
        assert not re.search(cached, path), path
    with pytest.raises(ValueError, match="unknown template values"):
        render_nginx.render(["unix:/a.sock"], "/x", NO_SUCH_VALUE="1")
    # long enough for a measurement that waits behind a full queue
    assert int(re.search(r"proxy_read_timeout (\d+)s;", text).group(1)) >= 90


# --- the whole stack -------------------------------------------------------------------------------

class Stack:
    """scripts/serve-class.sh in its own session, so that everything it starts can be found."""

    def __init__(self, nginx: str, run_dir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = run_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKSCOPE_")}
        env.update(PORT=str(self.port), HOST="127.0.0.1", WORKERS="2", RUN_DIR=str(run_dir),
                   NGINX_BIN=nginx, BLOCKSCOPE_MEASURER="process", LOG_CHECK_S="1",
                   BLOCKSCOPE_LOG_MAX_MB=str(LOG_MAX_BYTES / 2**20),
                   NGINX_SET=f"CLIENT_HEADER_TIMEOUT={HEADER_TIMEOUT_S}s KEEPALIVE_TIMEOUT=5s "
                             "SEND_TIMEOUT=5s CLIENT_BODY_TIMEOUT=2s")
        self.output = (run_dir.parent / "serve-class.out").open("wb")
        self.proc = subprocess.Popen(["bash", str(SCRIPT), "--no-setup"], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.output,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.session = self.proc.pid

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve-class.sh exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError):
                if get(self.url + "/api/measuring", timeout=5).status == 200:
                    return
            time.sleep(0.3)
        pytest.fail(f"serve-class.sh did not serve within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        self.output.flush()
        return (self.run_dir.parent / "serve-class.out").read_text(errors="replace")[-4000:]

    def processes(self) -> list[int]:
        """Every process still in the script's session (the script, nginx, the workers, the
        measuring process)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.session and fields[0] != "Z":
                    found.append(int(entry.name))
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        return self.proc.returncode

    def kill_leftovers(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.session, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.output.close()


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body


def get(url: str, headers: dict | None = None, timeout: float = 30) -> Response:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read())


@pytest.fixture(scope="module")
def stack(nginx):
    # Not under pytest's own folder: run as root, nginx's workers (user nobody) must be able to
    # pass through the folders above the sockets.
    base = Path(tempfile.mkdtemp(prefix="blockscope-class-test-"))
    base.chmod(0o711)
    stack = Stack(nginx, base / "run")
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()
        stack.kill_leftovers()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.process
def test_pages_pass_through_with_the_apps_headers(stack):
    answer = get(stack.url + "/blocks/group_conv")
    assert answer.status == 200
    assert answer.headers["Server"] == "nginx"  # no version
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Cache-Status" not in answer.headers  # pages are not kept by nginx


@pytest.mark.process
def test_an_analysis_is_computed_once_then_served_from_the_cache(stack):
    seed = os.getpid() % 1000  # a URL no earlier run has asked for
    url = stack.url + f"/api/blocks/group_conv?in_channels=64&out_channels=64&groups=8&seed={seed}"
    first = get(url)
    # nginx files the answer once the upstream response is complete, which can be a moment after the
    # client has read it all: ask again for up to a second
    for _ in range(20):
        second = get(url)
        if second.headers["X-Cache-Status"] == "HIT":
            break
        time.sleep(0.05)
    assert first.status == second.status == 200
    assert first.headers["X-Cache-Status"] in ("MISS", "EXPIRED")
    assert second.headers["X-Cache-Status"] == "HIT"
    assert first.body == second.body
    assert first.headers["ETag"] == second.headers["ETag"]
    assert "Content-Security-Policy" in second.headers  # kept with the cached answer


@pytest.mark.process
def test_scripts_are_compressed(stack):
    page = get(stack.url + "/blocks/conv").body.decode()
    script = re.search(r'<script type="module" src="([^"]+\.js)"', page).group(1)
    plain = get(stack.url + script)
    packed = get(stack.url + script, {"Accept-Encoding": "gzip"})
    assert plain.status == packed.status == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    assert "javascript" in packed.headers["Content-Type"]


@pytest.mark.process
def test_a_measurement_passes_through_uncached(stack):
    url = stack.url + "/api/blocks/conv/latency?in_channels=8&out_channels=8&height=8&width=8&threads=1" \
                      "&warmup=1&repeats=5"
    for _ in range(2):
        answer = get(url, timeout=60)
        assert answer.status == 200, answer.body
        assert answer.headers["Cache-Control"] == "no-store"
        assert "X-Cache-Status" not in answer.headers


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this test needs {needed} open files and the hard limit is {hard} (ulimit -Hn)")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed * 2) if hard != resource.RLIM_INFINITY
                                                    else needed * 2, hard))


@pytest.mark.process
def test_healthz_answers_while_1100_idle_connections_are_open(stack):
    _raise_open_files(IDLE_CONNECTIONS + 200)
    idle: list[socket.socket] = []
    try:
        opened = time.monotonic()
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", stack.port), timeout=5))
        started = time.monotonic()
        answer = get(stack.url + "/healthz", timeout=2)
        assert answer.status == 200
        assert time.monotonic() - started < 2
        # nginx had room for all of them: short of connections it would have closed the oldest
        # idle ones to take new ones
        closed = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        assert time.monotonic() - opened < HEADER_TIMEOUT_S, "too slow to tell: the header timeout passed"
        assert closed == 0, f"nginx closed {closed} idle connections"
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.process
def test_a_trickling_client_is_cut_off(stack):
    """A client that sends its request header a byte at a time is closed once the header timeout
    has passed, however steadily it trickles."""
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
    started = time.monotonic()
    closed_after = None
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.25)
        while time.monotonic() - started < HEADER_TIMEOUT_S + 6:
            try:
                sock.sendall(b"X")
                if sock.recv(1024) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:  # reset: reset_timedout_connection
                closed_after = time.monotonic() - started
                break
    finally:
        sock.close()
    assert closed_after is not None, "nginx kept the trickling client"
    assert HEADER_TIMEOUT_S - 0.5 <= closed_after <= HEADER_TIMEOUT_S + 4


@pytest.mark.process
def test_logs_stay_under_their_cap(stack):
    """Past the cap a log is moved aside once (NAME.1) and started afresh, so each log holds at most
    its cap plus what arrives between two checks, twice over (docs/deployment.md). Scaled down: a
    4 KiB cap checked every second, and 18 caps of traffic (an hour of the load test writes about
    17 of the default 8 MiB caps)."""
    logs = stack.run_dir / "logs"
    url = stack.url + "/static/js/api.js"
    with ThreadPoolExecutor(8) as pool:
        assert all(a.status == 200 for a in pool.map(lambda _: get(url), range(50)))
        # the lines so far (a check may just have moved them to access.log.1)
        written = b"".join(_read(logs / name) for name in ("access.log.1", "access.log")).splitlines()
        line = max(len(x) for x in written[-50:]) + 1
        requests = 18 * LOG_MAX_BYTES // line
        started = time.monotonic()
        biggest = 0
        for _ in range(0, requests, 250):
            assert all(a.status == 200 for a in pool.map(lambda _: get(url), range(250)))
            biggest = max(biggest, _size(logs / "access.log"))
        rate = requests * line / (time.monotonic() - started)  # bytes of log a second
    # between two checks: LOG_CHECK_S (1 s) on a clock of whole seconds, after a `sleep 1`: up to 3 s
    bound = LOG_MAX_BYTES + rate * 4
    assert biggest < bound, f"the access log is not capped ({biggest} bytes, bound {bound:.0f})"
    time.sleep(2.5)  # a check after the traffic: every log is under its cap again
    assert LOG_MAX_BYTES <= _size(logs / "access.log.1") < bound
    for log in logs.glob("*.log"):
        assert _size(log) < LOG_MAX_BYTES, log.name
    assert get(url).status == 200  # nginx writes to the log it reopened
    time.sleep(0.2)
    assert _size(logs / "access.log") > 0


def _read(path: Path) -> bytes:
    with contextlib.suppress(OSError):
        return path.read_bytes()
    return b""


def _size(path: Path) -> int:
    with contextlib.suppress(OSError):
        return path.stat().st_size
    return 0


@pytest.mark.process
def test_a_bad_runtime_folder_stops_the_start_with_the_reason(nginx):
    tmp_path = Path(tempfile.mkdtemp(prefix="blockscope-class-test-"))  # others may pass through /tmp
    tmp_path.chmod(0o711)
    folder = tmp_path / "measuring"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKSCOPE_")}
    env.update(PORT=str(_free_port()), RUN_DIR=str(tmp_path / "run"), NGINX_BIN=nginx,
               BLOCKSCOPE_RUNTIME_DIR=str(folder))
    done = subprocess.run(["bash", str(SCRIPT), "--no-setup"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "mode 755" in done.stderr and "chmod 700" in done.stderr, done.stderr
    # a web worker started by hand says the same, at start-up, rather than failing every Measure
    start = ("import asyncio\nfrom blockscope.main import app, lifespan\n"
             "async def go():\n    async with lifespan(app): pass\nasyncio.run(go())")
    worker = subprocess.run([sys.executable, "-c", start],
                            cwd=ROOT, env={**env, "BLOCKSCOPE_MEASURER": "process"}, capture_output=True,
                            text=True, timeout=120)
    assert worker.returncode != 0
    assert "BlockScope cannot start" in worker.stderr and "mode 755" in worker.stderr, worker.stderr
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.process
def test_ctrl_c_lets_a_measurement_finish_then_stops_everything(stack):
    """Ctrl-C reaches the script's process group alone (its children run in groups of their own):
    nginx stops gracefully, so the measurement in progress gets its answer; then the workers stop,
    and the script exits 0."""
    assert len(stack.processes()) >= 5  # the script, nginx (master and workers), 2 web workers
    url = stack.url + "/api/blocks/conv/latency?in_channels=64&out_channels=64&height=56&width=56" \
                      "&threads=1&warmup=2&repeats=400&fresh=true"
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(get, url, None, 60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the measuring process is running it
            state = json.loads(get(stack.url + "/api/measuring").body)
            if any(d["jobs"] for d in state["devices"].values()):
                break
            time.sleep(0.05)
        os.killpg(stack.session, signal.SIGINT)  # what the terminal does on Ctrl-C
        measured = answer.result(timeout=60)
    assert measured.status == 200, measured.body
    assert json.loads(measured.body)["total"]["median_us"] > 0
    try:
        code = stack.proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        code = None
    assert code == 0, stack.log()
    assert "stopped on its own" not in stack.log()
    deadline = time.monotonic() + 5
    while stack.processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stack.processes() == [], "processes outlived serve-class.sh"
    assert not (stack.run_dir / "sockets").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", stack.port), timeout=1).close()
