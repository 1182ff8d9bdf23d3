"""Check BlockScope's ceilings against an independent measurement, then place every kind on them.

1. The ceilings measured through the service (`service.machine.ceilings`, refreshed: the measuring
   process measures them now), beside the same two figures measured independently in a separate
   Python process: a fp32 matrix multiply timed by `torch.utils.benchmark.Timer.blocked_autorange`
   (GFLOP/s) and a large `copy_` (GB/s, working set = source + destination bytes, the size of
   BlockScope's largest). Their ratio: target within 20% (0.8 to 1.2).
2. Every block kind at its defaults, timed op by op: the bound of each node (compute, memory or
   overhead) and the share of the op time per bound (`roofline.by_bound`).

    .venv/bin/python scripts/bench_roofline.py [--device cpu] [--threads N] [--kinds KIND ...]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blockscope.errors import Busy, InvalidParameter
from blockscope.measuring import ceilings as measured_ceilings
from blockscope.registry import BLOCKS
from blockscope.schemas import DeviceCeilings
from blockscope.service import latency, machine

# Run in a fresh interpreter: nothing of BlockScope's imported, its own thread pool and allocator.
INDEPENDENT = r"""
import json, sys
import torch
from torch.utils import benchmark
device, threads, n, working_set = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
dev = torch.device(device)
with torch.inference_mode():
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    c = torch.empty(n, n, device=dev)
    mm = benchmark.Timer("torch.mm(a, b, out=c)", globals={"torch": torch, "a": a, "b": b, "c": c},
                         num_threads=threads)
    mm.blocked_autorange(min_run_time=0.2)  # first-use costs paid before timing
    mm_s = mm.blocked_autorange(min_run_time=1.0).median
    a = b = c = None
    src = torch.ones(working_set // 8, device=dev)
    dst = torch.empty_like(src)
    cp = benchmark.Timer("dst.copy_(src)", globals={"src": src, "dst": dst}, num_threads=threads)
    cp.blocked_autorange(min_run_time=0.2)
    copy_s = cp.blocked_autorange(min_run_time=1.0).median
print(json.dumps({"gflops": 2 * n**3 / mm_s / 1e9, "gbs": working_set / copy_s / 1e9}))
"""


def independent(device: str, threads: int, n: int, working_set: int) -> dict:
    """The matrix multiply's GFLOP/s and the large copy's GB/s, measured in a separate process."""
    out = subprocess.run([sys.executable, "-c", INDEPENDENT, device, str(threads), str(n), str(working_set)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(ceilings: DeviceCeilings, threads: int) -> None:
    sizes = measured_ceilings.Sizes()
    n = sizes.matmul if ceilings.device == "cpu" else sizes.matmul * 4
    largest = ceilings.bandwidth_gbs[-1]
    other = independent(ceilings.device, threads, n, largest.working_set_bytes)
    print(f"ceilings of {ceilings.device_label} ({ceilings.threads} threads), measured {ceilings.measured_at}"
          f"{', DISTURBED' if ceilings.quality.disturbed else ''}")
    print(f"{'':<26}{'BlockScope':>12}{'independent':>13}{'ratio':>8}")
    for label, mine, theirs in (
            (f"matmul {n}^3 GFLOP/s", ceilings.compute_gflops.value, other["gflops"]),
            (f"copy {largest.working_set_bytes >> 20} MiB GB/s", largest.gbs, other["gbs"])):
        ratio = mine / theirs if theirs else float("nan")
        verdict = "ok" if 0.8 <= ratio <= 1.2 else "OUTSIDE 20%"
        print(f"{label:<26}{mine:>12.1f}{theirs:>13.1f}{ratio:>8.2f}  {verdict}")
    print(f"{'conv2d best GFLOP/s':<26}{ceilings.family_gflops['conv2d'].value:>12.1f}")
    print(f"{'call overhead us':<26}{ceilings.call_overhead_us.value:>12.3f}")
    print(f"{'ridge FLOP/byte':<26}{ceilings.ridge_flop_per_byte:>12.2f}")
    if ceilings.theoretical:
        t = ceilings.theoretical
        print(f"{'datasheet GFLOP/s':<26}{t.gflops:>12.1f}   ({t.cores} cores x {t.lanes} lanes x 2 x "
              f"{t.fma_units} FMA x {t.ghz} GHz; assumed: {'; '.join(t.assumed)})")
    print("bandwidth by working set:")
    for b in ceilings.bandwidth_gbs:
        interval = f"[{b.ci95[0]:.1f}, {b.ci95[1]:.1f}]"
        print(f"  {b.working_set_bytes:>12,} B  {b.level:<5} {b.gbs:>9.1f} GB/s  {interval}")


def dots_summary(kinds: list[str], device: str, threads: int | None) -> None:
    """Every kind at its defaults on the roofline: each node's bound, and the share of op time per bound."""
    print("\nkinds on the roofline (defaults, op by op):")
    print(f"{'kind':<26}{'compute':>9}{'memory':>9}{'overhead':>10}  nodes by bound")
    for kind in kinds:
        try:
            report = latency.latency_report(kind, {}, device=device, threads=threads, fresh=True)
        except (InvalidParameter, Busy) as exc:  # too slow for the budget on a loaded machine, or busy
            print(f"{kind:<26}  (not measured: {exc})")
            continue
        if report.roofline is None:
            print(f"{kind:<26}  (no roofline: the ceilings could not be had)")
            continue
        shares = report.roofline.by_bound
        bounds = [f"{n.id}:{n.roofline.bound}" for n in report.nodes or () if n.roofline is not None]
        noisy = "  DISTURBED" if report.quality.disturbed else ""
        print(f"{kind:<26}{shares.get('compute', 0):>9.0%}{shares.get('memory', 0):>9.0%}"
              f"{shares.get('overhead', 0):>10.0%}  {' '.join(bounds)}{noisy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=latency.DEFAULT_THREADS)
    parser.add_argument("--kinds", nargs="*", default=list(BLOCKS), help="kinds to place (default: all)")
    parser.add_argument("--no-kinds", action="store_true", help="the ceilings only")
    args = parser.parse_args()
    threads = args.threads if args.device == "cpu" else None
    ceilings = machine.ceilings(args.device, threads, refresh=True)
    compare(ceilings, args.threads)
    if not args.no_kinds:
        dots_summary(args.kinds, args.device, threads)


if __name__ == "__main__":
    main()
