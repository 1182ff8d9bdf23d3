"""Replay a class on a BlockScope server: students following a lesson in the explorer, on loopback.

    .venv/bin/python scripts/loadtest.py --start nginx [--students 128] [--duration 60]
    .venv/bin/python scripts/loadtest.py --start direct
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8080 [--pid PID]

`--start nginx` runs scripts/serve-class.sh (nginx in front of the web workers) on a free port,
`--start direct` runs uvicorn with as many workers and no proxy; either is stopped at the end.
`--url` drives a server already running (its memory is summed over `--pid` and its children, or
over the process group of whatever listens on the port).

Each student opens the page of the lesson's block (HTML, its ES modules, CSS and Plotly, each once,
as a browser cache would), then makes one slider stop every `--stop-every` seconds: mostly the
stop the whole class is at (the lesson below; shared URLs), sometimes a random valid block of
the same kind. At each stop it sends what the explorer sends (STOP_REQUESTS below), once per URL
per page (the explorer keeps answers by URL), and now and then presses Measure. Then three
checks: cached analyses from 32 clients at once, /healthz while 1,100 idle connections are open,
and the server's peak memory. Loopback only; bounded by --duration and --max-requests.
"""

import argparse
import asyncio
import contextlib
import gzip
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]

# --- what the explorer sends at one slider stop ----------------------------------------------------
# blockscope/static/js/explorer.js (analyseAll) and explorer-views.js (the views' `load`), through
# api.js: one entry per request, in the order they leave. Update this table when the explorer
# changes what it fetches.
#   name       the endpoint's name in the report
#   suffix     after /api/blocks/{kind}
#   values     which block: "block" (the stop's), "g1" (the same at group count 1), "defaults"
#   applies    which kinds send it: "all", "group" (a group-count parameter), "no-group", or a view
#              name the kind must have (its `views` in /api/blocks)
#   on screen  the share of stops at which it is sent: the sweep and reparameterization views load
#              only when they are on screen (a student scrolled to them), and a reparameterization
#              answered "pending" is followed by /reparam/equivalence (the proof, run once)
STOP_REQUESTS = [
    # name        suffix      values      applies      on screen
    ("analysis",  "",         "block",    "all",       1.0),  # the block on screen
    ("reference", "",         "g1",       "group",     1.0),  # the same block at g = 1: changes, scale
    ("defaults",  "",         "defaults", "no-group",  1.0),  # the block at its defaults: colour scale
    ("sweep",     "/sweep",   "block",    "sweep",     0.5),  # the sweep view
    ("reparam",   "/reparam", "block",    "reparam",   0.3),  # before and after reparameterization
]
FOLLOW = ("equivalence", "/reparam/equivalence", '"equivalence":"pending"')  # after a pending reparam
# "Measure latency" (explorer-views.js, the latency view): the block's values plus the device.
MEASURE = ("latency", "/latency", {"device": "cpu"})

# --- the lesson: the stops the class goes through together ----------------------------------------
# (kind, stops): each stop is the changes from the kind's defaults; "presets" is every published
# setting of the kind, one stop each (the explorer's preset buttons).
LESSON = [
    ("group_conv", [{"groups": g} for g in (1, 2, 4, 8, 16, 32, 64)]),
    ("group_conv", "presets"),
    ("resnext_bottleneck", "presets"),
    ("shufflenet_v1_unit", [{"groups": g} for g in (1, 2, 3, 4, 6)]),
    ("depthwise_separable", [{"kernel_size": k} for k in (3, 5, 7)]),
    ("inverted_residual", [{"expand_ratio": t} for t in (1, 2, 4, 6, 8)]),
    ("mobilenet_v3_bneck", [{"expanded_channels": c} for c in (40, 80, 120, 240)]),
    ("shufflenet_v2_unit", [{"in_channels": c, "out_channels": c} for c in (58, 116, 176, 244)]),
    ("repvgg_block", [{"groups": g} for g in (1, 2, 4, 8, 16)]),
]
RANDOM_SHARE = 0.2  # stops at a random valid block of the lesson's kind instead of the class's stop

TARGETS = {
    "students": 128, "stop_every": 2.0,
    "analysis_p95_s": 1.0, "stop_p95_s": 2.0, "errors_5xx": 0, "share_429": 0.01,
    "cached_p99_s": 0.05, "cached_clients": 32, "rss_bytes": 1.5 * 2**30, "idle": 1100, "healthz_s": 2.0,
}
BROWSER_CONNECTIONS = 6  # per student, as a browser holds per host over HTTP/1.1


# --- statistics ------------------------------------------------------------------------------------

@dataclass
class Stats:
    times: dict = field(default_factory=lambda: defaultdict(list))
    status: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    requests: int = 0
    late_stops: int = 0

    def record(self, name: str, seconds: float, status: int | str) -> None:
        self.times[name].append(seconds)
        self.status[name][status] += 1

    def count(self, name: str, test) -> int:
        return sum(n for s, n in self.status[name].items() if test(s))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def is_5xx(status) -> bool:
    return isinstance(status, int) and status >= 500


def is_other_error(status) -> bool:
    return not isinstance(status, int) or (400 <= status < 500 and status != 429)


# --- the block schema ------------------------------------------------------------------------------

def url_values(spec: dict, changes: dict) -> dict:
    """Every parameter, in schema order, as the explorer's query() writes them."""
    values = {p["name"]: p["default"] for p in spec["params"]}
    values.update(changes)
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in values.items()
            if v is not None and v != ""}


def valid_groups(spec: dict, values: dict) -> list[int]:
    """Group counts that divide every channel parameter they must (over its factor)."""
    divides = spec.get("group_divides") or {}
    top = max((values[p] // f for p, f in divides.items()), default=1)
    return [g for g in range(1, top + 1)
            if all(values[p] % f == 0 and (values[p] // f) % g == 0 for p, f in divides.items())]


def random_block(spec: dict, rng: random.Random) -> dict:
    """A random valid block of `spec`'s kind: channels, group count and input size moved, as a student
    moving sliders would (stride and the input's batch left alone)."""
    params = {p["name"]: p for p in spec["params"]}
    changes: dict = {}
    channel_params = [n for n in ("in_channels", "out_channels", "bottleneck_width", "expanded_channels")
                      if n in params]
    width = rng.choice([16, 24, 32, 48, 64, 96, 128, 192, 256])
    for name in channel_params:
        changes[name] = width * (2 if name in ("bottleneck_width", "expanded_channels") else 1)
    for name, p in params.items():
        if p.get("choices") and name not in ("stride",):
            changes[name] = rng.choice(p["choices"])
        elif p["type"] == "boolean":
            changes[name] = rng.random() < 0.5
        elif name in ("expand_ratio", "reduction"):
            changes[name] = rng.randint(p["min"], min(p["max"], 16))
    size = rng.choice([14, 28, 56])
    changes.update(height=size, width=size)
    gp = spec.get("group_param")
    if gp:
        values = {**{p["name"]: p["default"] for p in spec["params"]}, **changes}
        changes[gp] = rng.choice(valid_groups(spec, values))
    return changes


def lesson_stops(specs: dict) -> list[tuple[str, dict]]:
    stops = []
    for kind, plan in LESSON:
        if kind not in specs:
            continue
        changes = [p["values"] for p in specs[kind].get("presets", [])] if plan == "presets" else plan
        stops.extend((kind, c) for c in changes)
    return stops


def stop_requests(spec: dict, block: dict, rng: random.Random) -> list[tuple[str, str]]:
    """(name, url) of every request the explorer sends for `block` of `spec`'s kind, the views below
    the fold only as often as a student has them on screen."""
    kind, gp = spec["kind"], spec.get("group_param")
    out = []
    for name, suffix, which, applies, on_screen in STOP_REQUESTS:
        if (applies == "group" and not gp) or (applies == "no-group" and gp):
            continue
        if applies not in ("all", "group", "no-group") and applies not in spec.get("views", []):
            continue
        if rng.random() >= on_screen:
            continue
        if which == "block":
            values = url_values(spec, block)
        elif which == "g1":
            values = url_values(spec, {**block, gp: 1})
        else:
            values = url_values(spec, {})
        out.append((name, f"/api/blocks/{kind}{suffix}?{urlencode(values)}"))
    return out


# --- a student -------------------------------------------------------------------------------------

@dataclass
class Answer:
    status_code: int
    text: str


IMPORT = re.compile(r"""(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']"""
                    r"""|(?:^|\n)\s*import\s*["']([^"']+)["']""")
ASSET = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)="(/[^"]+)\"""")
PLOTLY = re.compile(r"""<meta name="plotly-src" content="([^"]+)\"""")


def is_module(url: str) -> bool:
    """One of the page's own ES modules (whose imports the browser follows)."""
    return url.startswith("/static/") and url.endswith(".js")


class Run:
    def __init__(self, args, base: str, specs: dict):
        self.args, self.base, self.specs = args, base, specs
        self.stats = Stats()
        self.stops = lesson_stops(specs)
        self.imports: dict[str, list[str]] = {}  # module URL -> the modules it imports (parsed once)
        self.start = 0.0
        self.deadline = 0.0
        self.shared_urls: set[str] = set()

    def budget_left(self) -> bool:
        return time.monotonic() < self.deadline and self.stats.requests < self.args.max_requests

    async def get(self, client: httpx.AsyncClient, name: str, path: str,
                  text: bool = False) -> Answer | None:
        """GET `path`, timed until its last byte; the body is decoded only when `text` is asked
        for (a browser's decompression is not this machine's work to measure)."""
        if not self.budget_left():
            return None
        self.stats.requests += 1
        started = time.perf_counter()
        try:
            async with client.stream("GET", path) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
        except httpx.TimeoutException:
            self.stats.record(name, time.perf_counter() - started, "timeout")
            return None
        except httpx.TransportError as err:
            self.stats.record(name, time.perf_counter() - started, type(err).__name__)
            return None
        self.stats.record(name, time.perf_counter() - started, response.status_code)
        body = ""
        if text:
            if response.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = raw.decode(errors="replace")
        return Answer(response.status_code, body)

    async def load_page(self, client, kind: str, cached: set[str]) -> None:
        page = await self.get(client, "page", f"/blocks/{kind}", text=True)
        if page is None or page.status_code != 200:
            return
        html = page.text
        wanted = ASSET.findall(html)
        if m := PLOTLY.search(html):
            wanted.append(m.group(1))  # loaded by the first chart drawn
        else:
            wanted.append("/vendor/plotly.min.js")
        queue = [u for u in wanted if not u.startswith("data:")]
        while queue:
            batch, queue = queue, []
            todo = [u for u in dict.fromkeys(batch) if u not in cached]
            cached.update(todo)
            answers = await asyncio.gather(*(
                self.get(client, "asset", u, text=is_module(u) and u not in self.imports) for u in todo))
            for url, answer in zip(todo, answers, strict=True):
                if answer is None or answer.status_code != 200 or not is_module(url):
                    continue
                if url not in self.imports:
                    found = [a or b for a, b in IMPORT.findall(answer.text)]
                    self.imports[url] = [urljoin(url, f) for f in found if f.startswith(".")]
                queue.extend(self.imports[url])

    async def student(self, number: int) -> None:
        rng = random.Random(f"{self.args.seed}-{number}")
        offset = rng.uniform(0, self.args.stop_every)
        limits = httpx.Limits(max_connections=BROWSER_CONNECTIONS,
                              max_keepalive_connections=BROWSER_CONNECTIONS)
        timeout = httpx.Timeout(self.args.request_timeout, connect=10)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=timeout,
                                     headers={"Accept-Encoding": "gzip"}) as client:
            cached_assets: set[str] = set()
            kind = None
            asked: set[str] = set()  # api.js keeps every answer of the page by URL
            step = -1
            await asyncio.sleep(offset)
            while self.budget_left():
                now_step = int((time.monotonic() - self.start - offset) // self.args.stop_every)
                if now_step > step + 1 and step >= 0:
                    self.stats.late_stops += now_step - step - 1
                step = max(step + 1, now_step)
                stop_kind, changes = self.stops[step % len(self.stops)]
                if stop_kind != kind:
                    kind = stop_kind
                    asked = set()
                    await self.load_page(client, kind, cached_assets)
                spec = self.specs[kind]
                shared = rng.random() >= RANDOM_SHARE
                block = changes if shared else random_block(spec, rng)
                requests = [(n, u) for n, u in stop_requests(spec, block, rng) if u not in asked]
                asked.update(u for _, u in requests)
                if shared:
                    self.shared_urls.update(u for n, u in requests if n == "analysis")
                started = time.perf_counter()
                answers = await asyncio.gather(*(self.get(client, n, u, text=n == "reparam")
                                                 for n, u in requests))
                if requests and all(a is not None for a in answers):
                    failed = any(a.status_code >= 400 for a in answers)
                    self.stats.record("stop (all views)", time.perf_counter() - started,
                                      "error" if failed else 200)
                # the proof that a reparameterization's forms agree is filled in after they are drawn
                follow, suffix, pending = FOLLOW
                for (name, url), answer in zip(requests, answers, strict=True):
                    if name == "reparam" and answer is not None and pending in answer.text:
                        await self.get(client, follow, url.replace("/reparam?", suffix + "?", 1))
                if rng.random() < self.args.measure_share:
                    name, suffix, extra = MEASURE
                    values = {**url_values(spec, block), **extra}
                    await self.get(client, name, f"/api/blocks/{kind}{suffix}?{urlencode(values)}")
                next_at = self.start + offset + (step + 1) * self.args.stop_every
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def class_phase(self) -> float:
        self.start = time.monotonic()
        self.deadline = self.start + self.args.duration
        await asyncio.gather(*(self.student(i) for i in range(self.args.students)))
        return time.monotonic() - self.start

    async def cached_phase(self, clients: int, seconds: float) -> None:
        """`clients` at once asking again for analyses the class already had answered. Each client is
        a bare keep-alive HTTP/1.1 connection (RawClient): a cache hit takes well under a
        millisecond, and httpx's own work per request would be most of what is timed."""
        urls = sorted(self.shared_urls)
        if not urls:
            return
        parts = urlsplit(self.base)
        deadline = time.monotonic() + seconds

        async def one(i: int) -> None:
            rng = random.Random(i)
            client = RawClient(parts.hostname, parts.port or 80)
            try:
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    try:
                        status = await asyncio.wait_for(client.get(rng.choice(urls)), 10)
                    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as err:
                        status = type(err).__name__
                        await client.close()
                    self.stats.record("cached analysis", time.perf_counter() - started, status)
            finally:
                await client.close()

        await asyncio.gather(*(one(i) for i in range(clients)))


class RawClient:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole answers (Content-Length or
    chunked), nothing more."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          "Accept-Encoding: gzip\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


# --- idle connections ------------------------------------------------------------------------------

def raise_open_files(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def idle_check(host: str, port: int, count: int) -> tuple[int, float | None, str]:
    """Open `count` idle connections, then time /healthz on a new one. Returns (opened, seconds or
    None, status)."""
    idle = []
    try:
        for _ in range(count):
            try:
                idle.append(socket.create_connection((host, port), timeout=5))
            except OSError:
                break
        started = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.settimeout(5)
                sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                answer = sock.recv(64).decode(errors="replace")
            status = answer.split(" ", 2)[1] if answer.startswith("HTTP/") else "no answer"
            return len(idle), time.perf_counter() - started, status
        except OSError as err:
            return len(idle), None, type(err).__name__
    finally:
        for sock in idle:
            sock.close()


# --- the server's memory ---------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgid, session) of a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[2]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far (children that ended not counted)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def tree(root: int) -> list[int]:
    children = defaultdict(list)
    for pid in _pids():
        if (st := _stat(pid)) is not None:
            children[st[0]].append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def by_session(session: int) -> list[int]:
    return [pid for pid in _pids() if (st := _stat(pid)) is not None and st[2] == session]


def listener_group(port: int) -> list[int]:
    """The process group of whatever listens on `port` (and every child of its members)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    owners = set()
    for pid in _pids():
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        owners.add(pid)
    groups = {st[1] for pid in owners if (st := _stat(pid)) is not None}
    members = [pid for pid in _pids() if (st := _stat(pid)) is not None and st[1] in groups]
    return sorted({p for m in members for p in tree(m)})


def memory(pids: list[int]) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in bytes."""
    rss = pss = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
    return rss, pss


async def watch_memory(find, peak: dict, stop: asyncio.Event) -> None:
    while not stop.is_set():
        pids = find()
        rss, pss = memory(pids)
        if rss > peak["rss"]:
            peak.update(rss=rss, pss=pss, processes=len(pids))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


# --- starting a server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The stack to test, started here and stopped at the end (everything in its own session)."""

    def __init__(self, how: str, workers: int | None):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="blockscope-loadtest-"))
        self.folder.chmod(0o711)  # run as root, nginx's workers pass through to their sockets
        env = {k: v for k, v in os.environ.items() if k != "BLOCKSCOPE_MEASURER"}
        if how == "nginx":
            env.update(PORT=str(self.port), HOST="127.0.0.1", RUN_DIR=str(self.folder / "run"),
                       PYTHON=sys.executable)
            if workers:
                env["WORKERS"] = str(workers)
            command = ["bash", str(ROOT / "scripts" / "serve-class.sh"), "--no-setup"]
        else:
            runtime = self.folder / "measuring"
            runtime.mkdir(mode=0o700)
            env["BLOCKSCOPE_RUNTIME_DIR"] = str(runtime)
            command = [sys.executable, "-m", "uvicorn", "blockscope.main:app", "--host", "127.0.0.1",
                       "--port", str(self.port), "--workers", str(workers or default_workers()),
                       "--no-server-header", "--no-access-log", "--timeout-keep-alive", "75"]
        self.log = (self.folder / "server.log").open("wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited ({self.proc.returncode}); see {self.folder}/server.log")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/api/measuring", timeout=30).status_code == 200:
                    return
            time.sleep(0.3)
        sys.exit(f"the server did not answer within {timeout_s} s; see {self.folder}/server.log")

    def pids(self) -> list[int]:
        return by_session(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything of its session still there
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0))
    return min(4, cores // 2 if cores >= 4 else cores)


# --- the report ------------------------------------------------------------------------------------

def report(args, stats: Stats, elapsed: float, peak: dict, idle: tuple | None, label: str) -> None:
    ms = lambda s: f"{s * 1000:8.1f}"  # noqa: E731
    print(f"\nBlockScope load test: {label}")
    print(f"{args.students} students, one stop every {args.stop_every:g} s, {elapsed:.0f} s, "
          f"{stats.requests} requests ({stats.requests / elapsed:.1f}/s), late stops: {stats.late_stops}\n")
    print(f"{'endpoint':<20}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'5xx':>6}{'429':>6}{'other':>7}")
    for name in ("page", "asset", "analysis", "reference", "defaults", "sweep", "reparam", "equivalence",
                 "latency", "stop (all views)", "cached analysis"):
        times = stats.times.get(name)
        if not times:
            continue
        print(f"{name:<20}{len(times):>7}{ms(percentile(times, 50))} {ms(percentile(times, 95))} "
              f"{ms(percentile(times, 99))} {ms(max(times))}"
              f"{stats.count(name, is_5xx):>6}{stats.count(name, lambda s: s == 429):>6}"
              f"{stats.count(name, is_other_error):>7}")
    class_names = [n for n in stats.times if n not in ("stop (all views)", "cached analysis")]
    total = sum(len(stats.times[n]) for n in class_names)
    n5xx = sum(stats.count(n, is_5xx) for n in class_names)
    n429 = sum(stats.count(n, lambda s: s == 429) for n in class_names)
    other = sum(stats.count(n, is_other_error) for n in class_names)
    t = TARGETS

    def line(what: str, figure: str, target: str, ok: bool | None) -> None:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"  {what:<46}{figure:>14}   target {target:<16}{verdict}")

    print("\nAgainst the targets (128 students, one stop every 2 s):")
    analysis = stats.times.get("analysis", [])
    stops = stats.times.get("stop (all views)", [])
    line("analysis p95", f"{percentile(analysis, 95):.3f} s", f"< {t['analysis_p95_s']:g} s",
         bool(analysis) and percentile(analysis, 95) < t["analysis_p95_s"])
    line("all views of a stop p95", f"{percentile(stops, 95):.3f} s", f"< {t['stop_p95_s']:g} s",
         bool(stops) and percentile(stops, 95) < t["stop_p95_s"])
    line("5xx answers", f"{n5xx}", "0", n5xx == 0)
    share = n429 / total if total else 0.0
    line("429 answers", f"{n429} ({share:.2%})", "< 1%", share < t["share_429"])
    line("other errors (4xx, timeouts, resets)", f"{other}", "", None)
    cached = stats.times.get("cached analysis", [])
    if cached:
        p99 = percentile(cached, 99)
        line(f"cached analyses p99, {args.cached_clients} clients", f"{p99 * 1000:.1f} ms", "< 50 ms (nginx)",
             p99 < t["cached_p99_s"])
    if peak.get("rss"):
        line(f"server memory, peak ({peak['processes']} processes): RSS sum",
             f"{peak['rss'] / 2**20:.0f} MiB", "< 1536 MiB", peak["rss"] < t["rss_bytes"])
        line("                                     PSS sum", f"{peak['pss'] / 2**20:.0f} MiB", "", None)
    if idle is not None:
        opened, seconds, status = idle
        figure = f"{status} in {seconds:.3f} s" if seconds is not None else status
        line(f"/healthz with {opened} idle connections open", figure, "< 2 s",
             seconds is not None and status == "200" and seconds < t["healthz_s"] and opened >= args.idle)
    if peak.get("cpu"):
        server_s, driver_s = peak["cpu"]
        cores = len(os.sched_getaffinity(0))
        print(f"\nCPU during the class ({cores} cores, {elapsed:.0f} s): the server {server_s:.0f} s "
              f"({server_s / elapsed:.2f} cores), this load generator {driver_s:.0f} s "
              f"({driver_s / elapsed:.2f} cores)")
    if (args.students, args.stop_every) != (t["students"], t["stop_every"]):
        print(f"  (this run: {args.students} students, a stop every {args.stop_every:g} s)")


# --- main ------------------------------------------------------------------------------------------

async def main_async(args, base: str, find_pids) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        specs = {s["kind"]: s for s in (await client.get("/api/blocks")).raise_for_status().json()}
    run = Run(args, base, specs)
    peak = {"rss": 0, "pss": 0, "processes": 0}
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_memory(find_pids, peak, stop)) if find_pids else None
    server_before, own_before = cpu_seconds(find_pids()) if find_pids else 0.0, own_cpu_seconds()
    elapsed = await run.class_phase()
    if find_pids:
        peak["cpu"] = (cpu_seconds(find_pids()) - server_before, own_cpu_seconds() - own_before)
    if args.cached_seconds > 0:
        await run.cached_phase(args.cached_clients, args.cached_seconds)
    idle = None
    if args.idle > 0:
        host, port = urlsplit(base).hostname, urlsplit(base).port or 80
        raise_open_files(args.idle + 256)
        idle = await asyncio.to_thread(idle_check, host, port, args.idle)
    stop.set()
    if watcher:
        await watcher
    return run.stats, elapsed, peak, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server, on loopback (http://127.0.0.1:PORT)")
    where.add_argument("--start", choices=["nginx", "direct"],
                       help="start the server here: scripts/serve-class.sh (nginx) or uvicorn alone")
    parser.add_argument("--pid", type=int, help="with --url: the server's main process (memory is "
                                                "summed over it and its children)")
    parser.add_argument("--workers", type=int, help="with --start: web workers (default: as serve-class.sh)")
    parser.add_argument("--students", type=int, default=128)
    parser.add_argument("--stop-every", type=float, default=2.0, help="seconds between two slider stops")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the class")
    parser.add_argument("--max-requests", type=int, default=100_000, help="requests of the class, at most")
    parser.add_argument("--measure-share", type=float, default=0.02,
                        help="share of stops at which the student also presses Measure")
    parser.add_argument("--cached-clients", type=int, default=32)
    parser.add_argument("--cached-seconds", type=float, default=5.0,
                        help="seconds of the cached-analysis check (0: none)")
    parser.add_argument("--idle", type=int, default=1100,
                        help="idle connections for the /healthz check (0: none)")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    raise_open_files(args.students * BROWSER_CONNECTIONS + args.idle + 512)

    server = None
    if args.start:
        server = Server(args.start, args.workers)
        base, find_pids = server.url, server.pids
        label = ("through nginx (scripts/serve-class.sh)" if args.start == "nginx"
                 else "direct (uvicorn --workers, no proxy)")
    else:
        parts = urlsplit(args.url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("loopback only: --url must be http://127.0.0.1:PORT (or localhost, [::1])")
        base, label = args.url.rstrip("/"), args.url
        port = parts.port or 80
        find_pids = (lambda: tree(args.pid)) if args.pid else (lambda: listener_group(port))
    try:
        if server:
            server.wait_ready()
        stats, elapsed, peak, idle = asyncio.run(main_async(args, base, find_pids))
    finally:
        if server:
            server.stop()
    report(args, stats, elapsed, peak, idle, label)


if __name__ == "__main__":
    main()
