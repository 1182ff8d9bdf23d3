"""Are measured figures honest on a busy server? Measure idle, then under a class's load, and count
the figures that came out too high without saying so.

    .venv/bin/python scripts/bench_disturbance.py [--load-s 30] [--clients 32] [--workers 2]

Starts a real server on a free loopback port (uvicorn with `--workers` web workers, plus the
measuring process), measures `conv`, `group_conv` and `activation` (10 warm-up and 100 timed runs,
as a student's "Measure" with those settings; a new seed each time, so nothing is cached) while
the machine is idle, then again while `--clients` concurrent clients fetch uncached analyses and
pages for `--load-s` seconds. It prints the idle and loaded medians, their ratio and the quality
flags, counts silent distortions (loaded > 1.15x idle and not flagged as disturbed), and checks the
measuring process's own log for overlapping measurements.
Everything stays on 127.0.0.1 and stops by itself.
"""

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("conv", "group_conv", "activation")
SETTINGS = {"warmup": 10, "repeats": 100}
SILENT = 1.15  # a loaded median this much above idle, not flagged, is a silent distortion


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int, runtime: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "BLOCKSCOPE_MEASURER": "process", "BLOCKSCOPE_RUNTIME_DIR": runtime}
    command = [sys.executable, "-m", "uvicorn", "blockscope.main:app", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


async def measure(client: httpx.AsyncClient, url: str, kind: str, seed: int) -> dict | None:
    # as a student's "Measure" with these settings: warm-up 10, 100 timed runs
    r = await client.get(f"{url}/api/blocks/{kind}/latency", params={"seed": seed, **SETTINGS}, timeout=120)
    if r.status_code != 200:
        print(f"  {kind} seed {seed}: {r.status_code} {r.text[:120]}")
        return None
    return r.json()


def random_analysis(rng: random.Random) -> str:
    kind = rng.choice(["conv", "group_conv", "depthwise_separable", "inverted_residual",
                       "shufflenet_v2_unit"])
    c = rng.choice([8, 16, 24, 32, 48, 64, 96, 128])
    query = {"in_channels": c, "out_channels": c, "height": rng.randint(8, 64), "width": rng.randint(8, 64),
             "seed": rng.randint(0, 10**6)}
    if kind == "group_conv":
        query["groups"] = rng.choice([g for g in (1, 2, 4, 8) if c % g == 0])
    if kind == "shufflenet_v2_unit":
        query["out_channels"] = query["in_channels"] = c
    return f"/api/blocks/{kind}?" + "&".join(f"{k}={v}" for k, v in query.items())


async def load(url: str, clients: int, seconds: float) -> dict:
    """`clients` concurrent clients fetching uncached analyses and pages until `seconds` pass."""
    stop = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0}
    pages = ["/", "/blocks/group_conv", "/blocks/shufflenet_v2_unit", "/guidelines"]

    async def one(i: int):
        rng = random.Random(i)
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() < stop:
                path = rng.choice(pages) if rng.random() < 0.3 else random_analysis(rng)
                try:
                    r = await client.get(url + path)
                    counts["requests"] += 1
                    counts["errors"] += r.status_code >= 500
                except httpx.HTTPError:
                    counts["errors"] += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    return counts


async def measure_while(url: str, seconds: float, seed0: int) -> list[tuple[str, dict]]:
    """Every kind measured over and over (one client per kind, so the queue always holds work)."""
    stop = time.monotonic() + seconds
    found: list[tuple[str, dict]] = []

    async def keep_measuring(kind: str, seed: int):
        async with httpx.AsyncClient() as client:
            while time.monotonic() < stop:
                seed += 1
                report = await measure(client, url, kind, seed)
                if report:
                    found.append((kind, report))

    await asyncio.gather(*(keep_measuring(kind, seed0 + 10000 * i) for i, kind in enumerate(KINDS)))
    return found


def overlaps(log: Path) -> int:
    jobs = sorted((json.loads(line) for line in log.read_text().splitlines()), key=lambda j: j["start"])
    return sum(1 for a, b in itertools.pairwise(jobs) if a["end"] > b["start"] + 1e-6)


async def main_async(args) -> None:
    runtime = tempfile.mkdtemp(prefix="blockscope-bench-")
    proc, url = start_server(args.workers, runtime)
    try:
        async with httpx.AsyncClient() as client:
            for kind in KINDS:  # calibrate and warm up
                await measure(client, url, kind, 1)
            idle: dict[str, list[float]] = {k: [] for k in KINDS}
            for round_ in range(args.idle_rounds):
                for kind in KINDS:
                    report = await measure(client, url, kind, 100 + round_)
                    if report:
                        idle[kind].append(report["total"]["median_us"])
        print(f"{args.workers} web workers + the measuring process; load: {args.clients} clients, "
              f"{args.load_s:.0f} s")
        loaded, counts = await asyncio.gather(measure_while(url, args.load_s, 1000),
                                              load(url, args.clients, args.load_s))
        print(f"load: {counts['requests']} requests, {counts['errors']} errors")
        print(f"{'kind':12} {'idle us':>10} {'loaded us':>10} {'ratio':>6}  flags")
        silent = 0
        for kind, report in loaded:
            base = statistics.median(idle[kind])
            ratio = report["total"]["median_us"] / base
            q = report["quality"]
            flagged = q["disturbed"]
            silent += ratio > SILENT and not flagged
            print(f"{kind:12} {base:10.1f} {report['total']['median_us']:10.1f} {ratio:6.2f}  "
                  f"disturbed={flagged} other_cpu={q['other_cpu_share']} spread={q['spread']} "
                  f"attempts={q['attempts']}")
        log = Path(runtime) / "measurements.log"
        print(f"loaded measurements: {len(loaded)} (target >= 20); silent distortions (> {SILENT}x idle, "
              f"not flagged): {silent} (target 0); overlapping measurements in the measuring process's "
              f"log: {overlaps(log)} (target 0)")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-s", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--idle-rounds", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
