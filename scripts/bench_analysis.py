"""Time BlockScope's analysis of every kind at its defaults, uncached and cached, beside torchinfo.

    .venv/bin/python scripts/bench_analysis.py [--repeats 15] [--batch N]

torchinfo.summary runs a real forward pass with hooks on the same (real, seeded) module; BlockScope
traces with torch.fx and propagates shapes on the meta device. Three BlockScope figures:
- cold: nothing cached, the block traced anew (the first request for a structure);
- uncached: the analysis is not cached, but a block of the same structure was traced before, so
  its graph is re-used (a slider moving the group count or a width);
- cached: the analysis itself comes from the cache.
Targets: uncached / torchinfo <= 1.0, cached / torchinfo <= 0.1. Medians, all in this one run.

Then each kind's group-count sweep at its defaults, uncached (the sweeps' and the tried
configurations' caches emptied, traced graphs kept), against the target of 50 ms, and what it did
with the configurations it tried: built and counted, built for their structure only, refused by
the block's rules, or read off the line in 1/g at fixed channels (derived).
"""

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torchinfo

from blockscope import cache
from blockscope.registry import BLOCKS
from blockscope.service import blocks as service
from blockscope.service import sweep as sweeps
from blockscope.service import sweep_points


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_kind(kind: str, batch: int, repeats: int) -> tuple[float, float, float]:
    """Print one kind's row; return its cold, uncached and cached times over torchinfo's."""
    values = {"batch": batch}
    config = service.resolve(kind, values)
    module = service.build(config)
    shape = config.input_shape

    def uncached():
        cache.named("analyses").clear()  # traced graphs stay: a new config of a known structure
        service.analyse(kind, values)

    def cold():
        cache.clear_all()  # nothing kept: trace and analyse from scratch
        service.analyse(kind, values)

    def info():
        with torch.inference_mode():
            torchinfo.summary(module, input_size=shape, verbose=0)

    t_info = median_time(info, repeats)
    t_cold = median_time(cold, repeats)
    t_uncached = median_time(uncached, repeats)
    service.analyse(kind, values)
    t_cached = median_time(lambda: service.analyse(kind, values), repeats * 20)
    r_0, r_u, r_c = t_cold / t_info, t_uncached / t_info, t_cached / t_info
    print(f"{kind:22} {t_info * 1e3:13.2f} {t_cold * 1e3:8.2f} {t_uncached * 1e3:12.2f} "
          f"{t_cached * 1e3:10.4f} {r_0:8.3f} {r_u:12.3f} {r_c:10.4f}")
    return r_0, r_u, r_c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=1, help="batch size for every kind (default 1)")
    parser.add_argument("--random", type=int, default=12,
                        help="random configurations per kind that widens, swept uncached (default 12)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, torchinfo {torchinfo.__version__}, {torch.get_num_threads()} threads, "
          f"batch {args.batch}, median of {args.repeats}")
    print(f"{'kind':22} {'torchinfo ms':>13} {'cold ms':>8} {'uncached ms':>12} {'cached ms':>10} "
          f"{'cold/ti':>8} {'uncached/ti':>12} {'cached/ti':>10}")
    worst_cold = worst_uncached = worst_cached = 0.0
    for kind in BLOCKS:
        r_0, r_u, r_c = bench_kind(kind, args.batch, args.repeats)
        worst_cold = max(worst_cold, r_0)
        worst_uncached, worst_cached = max(worst_uncached, r_u), max(worst_cached, r_c)
    print(f"worst ratio: cold {worst_cold:.3f}, uncached {worst_uncached:.3f} (target <= 1.0), "
          f"cached {worst_cached:.4f} (target <= 0.1)")
    bench_sweeps(args.repeats)
    bench_random_sweeps(args.random)


def _counting_builds(tally: Counter, built: set):
    """sweep_points.count, tallying what each call did (counted, structure only, or refused) and
    which configurations it built."""
    count = sweep_points.count

    def counted(spec, values, only):
        costs = count(spec, values, only)
        tally["refused" if costs is None else "structure" if costs.totals is None else "counted"] += 1
        built.add(tuple(sorted(values.items())))
        return costs
    return counted


def bench_sweeps(repeats: int) -> None:
    print(f"\n{'sweep at the defaults':22} {'uncached ms':>12} {'counted':>8} {'structure':>10} "
          f"{'refused':>8} {'derived':>8}  target < 50 ms")
    real = sweep_points.count
    for kind in sweeps.grouped_kinds():
        sweeps.sweep(kind, {})  # graphs traced

        def uncached(kind=kind):
            cache.named("sweeps").clear()
            cache.named("sweep points").clear()
            sweeps.sweep(kind, {})
        t = median_time(uncached, max(3, repeats // 3))
        builds: Counter = Counter()
        built: set = set()
        sweep_points.count = _counting_builds(builds, built)
        try:
            uncached()
        finally:
            sweep_points.count = real
        derived = len(cache.named("sweep points")) - len(built)  # kept, never built
        print(f"{kind:22} {t * 1e3:12.1f} {builds['counted']:8d} {builds['structure']:10d} "
              f"{builds['refused']:8d} {derived:8d}  {'ok' if t < 0.05 else 'MISSED'}")


def bench_random_sweeps(per_kind: int) -> None:
    """The mean uncached sweep over random valid configurations (tests/configs.py, fixed seeds) of
    every kind that widens, and how many points the fixed-multiply-adds series kept."""
    if not per_kind:
        return
    from tests.configs import random_configs

    times, kept = [], 0
    for kind in sweeps.widening_kinds():
        for config in random_configs(BLOCKS[kind], per_kind, seed=99):
            config = {**config, "batch": 1}
            sweeps.sweep(kind, config)  # graphs traced
            cache.named("sweeps").clear()
            cache.named("sweep points").clear()
            start = time.perf_counter()
            swept = sweeps.sweep(kind, config)
            times.append(time.perf_counter() - start)
            kept += len(swept.fixed_madds.points)
    print(f"\n{len(times)} random configurations of the kinds that widen: mean uncached sweep "
          f"{statistics.mean(times) * 1e3:.1f} ms (max {max(times) * 1e3:.1f}), "
          f"{kept} points at fixed multiply-adds")


if __name__ == "__main__":
    main()
