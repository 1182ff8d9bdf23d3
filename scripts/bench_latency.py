"""Check BlockScope's latency numbers against torch.utils.benchmark, block by block.

For every kind at its defaults: BlockScope's end-to-end median (uncached) beside
`torch.utils.benchmark.Timer("m(x)").blocked_autorange()` of the same module (eval, inference mode,
same threads), their ratio (target 0.9-1.1), the sum of node medians against the end-to-end median,
and the wall time of one uncached measurement, the block's analysis already cached (target < 2 s
on CPU); the first analysis of each kind is shown beside it. Then repeated uncached
measurements of one block: median of medians and spread (target within 5%).

    .venv/bin/python scripts/bench_latency.py [--device cpu] [--threads N] [--rounds 3]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils import benchmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blockscope.measuring import allocator
from blockscope.registry import BLOCKS
from blockscope.schemas import LatencyReport
from blockscope.service import (
    blocks,
    latency,
)


def timer_median_us(kind: str, device: str, threads: int) -> float:
    """The same module and input as BlockScope measures, timed by torch.utils.benchmark."""
    config = blocks.resolve(kind, {})
    module = blocks.build(config, device)
    gen = torch.Generator().manual_seed(config["seed"])
    x = torch.randn(config.input_shape, generator=gen).to(device)
    with torch.inference_mode():
        timer = benchmark.Timer(stmt="m(x)", globals={"m": module, "x": x}, num_threads=threads)
        # a first run pays this process's first-use costs (its thread pool, oneDNN's kernels for
        # these shapes), as the measuring process's own warm-up and timed passes do before it times
        timer.blocked_autorange(min_run_time=0.1)
        return timer.blocked_autorange(min_run_time=0.3).median * 1e6


def blockscope(kind: str, device: str, threads: int | None) -> tuple[LatencyReport, float]:
    start = time.perf_counter()
    report = latency.latency_report(kind, {}, device=device, threads=threads, fresh=True)
    return report, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=latency.DEFAULT_THREADS)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per kind")
    parser.add_argument("--stability-runs", type=int, default=7)
    parser.add_argument("--stability-kind", default="conv")
    parser.add_argument("--kinds", nargs="*", default=list(BLOCKS))
    args = parser.parse_args()
    device = latency.check_device(args.device)
    threads = args.threads if device == "cpu" else None
    # Timer runs here: hold this process's allocator as the measuring process holds its own, or a
    # block with activations of a few MiB pays page faults here that it does not pay there
    # (blockscope/measuring/allocator.py)
    settled = allocator.settle()

    print(f"device {device} ({dict((d.name, d.label) for d in latency.devices())[device]}), "
          f"torch {torch.__version__}, threads {threads}, load average {os.getloadavg()[0]:.2f}, "
          f"allocator thresholds {'held' if settled else 'not held (not glibc)'}")
    blockscope(args.kinds[0], device, threads)  # calibration and first-use costs, not measured below
    header = (f"{'kind':22s} {'BlockScope us':>13s} {'Timer us':>10s} {'ratio':>6s} {'sum nodes us':>12s} "
              f"{'nodes/e2e':>9s} {'repeats':>7s} {'analysis s':>10s} {'measure s':>9s}")
    print(header)
    print("-" * len(header))
    ratios, walls = [], []
    for kind in args.kinds:
        ours, theirs, sums, wall, reps = [], [], [], [], []
        # the first analysis of a kind (cached afterwards) is not part of the measurement
        start = time.perf_counter()
        blocks.analyse(kind, {})
        analysis_s = time.perf_counter() - start
        for _ in range(args.rounds):  # alternate, so that drift in machine load hits both alike
            report, seconds = blockscope(kind, device, threads)
            ours.append(report.total.median_us)
            sums.append(report.sum_of_nodes_us)
            wall.append(seconds)
            reps.append(report.repeats)
            # the measuring process's thread pool spins for a moment after a job: let it go idle first,
            # or Timer (in this process) would share the cores with it
            time.sleep(0.5)
            theirs.append(timer_median_us(kind, device, threads or 1))
        e2e, ref, nodes = statistics.median(ours), statistics.median(theirs), statistics.median(sums)
        ratios.append(e2e / ref)
        walls.append(max(wall))
        print(f"{kind:22s} {e2e:13.1f} {ref:10.1f} {e2e / ref:6.3f} {nodes:12.1f} {nodes / e2e:9.3f} "
              f"{statistics.median(reps):7.0f} {analysis_s:10.2f} {max(wall):9.2f}")
    print(f"ratios within 0.9-1.1: {sum(0.9 <= r <= 1.1 for r in ratios)}/{len(ratios)}; "
          f"slowest uncached measurement {max(walls):.2f} s")

    medians = [blockscope(args.stability_kind, device, threads)[0].total.median_us
               for _ in range(args.stability_runs)]
    mom = statistics.median(medians)
    worst = max(abs(m - mom) / mom for m in medians)
    print(f"\n{args.stability_runs} uncached measurements of {args.stability_kind}: median of medians "
          f"{mom:.1f} us, range {min(medians):.1f}-{max(medians):.1f} us, "
          f"largest deviation {worst * 100:.1f}% "
          f"(target 5%)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
