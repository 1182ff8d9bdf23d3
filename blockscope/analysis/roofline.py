"""A measured op placed on the roofline (Williams, Waterman and Patterson, "Roofline: an insightful
visual performance model", CACM 2009), against the roofs this server measured (docs/numbers.md,
"Roofline").

Pure arithmetic on counts, timings and ceilings: the work comes from the analysis (2 x multiply-adds
plus the elementwise work), the bytes from MAC, the time from the measurement, the roofs from
`DeviceCeilings`. Two choices go beyond the paper's single roof: the bandwidth roof is the one
measured at the working set nearest above the op's bytes (an op that fits L2 is held against L2, not
DRAM), and an op whose roofs allow less time than one call's fixed cost is `overhead`-bound.
"""

from ..schemas import Bandwidth, DeviceCeilings, KernelInfo, Node, Roofline, Timing, Totals
from .ops import ELEMENT_SIZE

BOUNDS = ("compute", "memory", "overhead")


def flops_of(counts: Node | Totals) -> int:
    """FLOPs: one multiply-add is two, and each elementwise output one (docs/numbers.md)."""
    return 2 * counts.madds + counts.elementwise


def bytes_of(counts: Node | Totals) -> int:
    """Bytes moved: MAC in elements at float32."""
    return counts.mac * ELEMENT_SIZE


def intensity_of(flops: int, nbytes: int) -> float:
    """FLOP per byte; an op that moves no bytes (a view) is placed at 0: it has no memory roof to
    divide by, and no work either."""
    return flops / nbytes if nbytes > 0 else 0.0


def peak_gflops(ceilings: DeviceCeilings) -> float:
    """The compute roof: the fastest rate measured, the matrix multiply's or any op family's."""
    return max([ceilings.compute_gflops.value, *(i.value for i in ceilings.family_gflops.values())])


def roof_for(ceilings: DeviceCeilings, nbytes: int) -> Bandwidth:
    """The bandwidth roof of a working set of `nbytes`: measured at the smallest working set that
    holds it (past every measured size, the largest: the last level, DRAM on a CPU), and never below
    what a larger working set reached. A larger set's bandwidth is a floor for a smaller one's: a
    copy of a small tensor runs on one thread in PyTorch (under its parallel grain size) where a
    larger one, or a convolution of any size, runs on all, so a measured dip at a small set is the
    copy's threading, not the cache's bandwidth."""
    ordered = sorted(ceilings.bandwidth_gbs, key=lambda b: b.working_set_bytes)
    at = next((i for i, b in enumerate(ordered) if b.working_set_bytes >= nbytes), len(ordered) - 1)
    best = max(ordered[at:], key=lambda b: b.gbs)
    if best is ordered[at]:
        return best
    return ordered[at].model_copy(update={"gbs": best.gbs, "ci95": best.ci95})


def roof_time_us(flops: int, nbytes: int, ceilings: DeviceCeilings) -> float:
    """The time the roofs allow an op, in µs: the slower of computing at the peak and moving its
    bytes at its working set's bandwidth roof."""
    return max(flops / (peak_gflops(ceilings) * 1e3), nbytes / (roof_for(ceilings, nbytes).gbs * 1e3))


def _rate(amount: int, us: float) -> float:
    """`amount` per second in 10^9 per second, from microseconds (a time below the clock gives 0)."""
    return amount / (us * 1e3) if us > 0 else 0.0


def place(flops: int, nbytes: int, timing: Timing, ceilings: DeviceCeilings, *, calls: int = 1,
          kernel: KernelInfo | None = None) -> Roofline:
    """`flops` and `nbytes` done in `timing` on the roofline of `ceilings`.

    `calls` is how many op calls the time includes (1 for an op; a whole forward pass makes one per
    op): their fixed cost is what `overhead` compares with the roofs' time.
    """
    peak = peak_gflops(ceilings)
    roof = roof_for(ceilings, nbytes)
    intensity = intensity_of(flops, nbytes)
    allowed_us = roof_time_us(flops, nbytes, ceilings)
    return _placed(flops, nbytes, timing, roof.gbs, roof.level, allowed_us,
                   _bound(intensity, peak, roof.gbs, allowed_us, calls, ceilings), kernel)


def _bound(intensity: float, peak: float, roof_gbs: float, allowed_us: float, calls: int,
           ceilings: DeviceCeilings) -> str:
    """The rule of docs/numbers.md: overhead when the calls' fixed cost is at least the time the roofs
    allow, else memory below the ridge at this bandwidth roof, else compute."""
    if calls * ceilings.call_overhead_us.value >= allowed_us:
        return "overhead"
    return "memory" if intensity < peak / roof_gbs else "compute"


def _placed(flops: int, nbytes: int, timing: Timing, roof_gbs: float, level: str, allowed_us: float,
            bound: str, kernel: KernelInfo | None = None) -> Roofline:
    median = timing.median_us
    return Roofline(
        flops=flops, bytes=nbytes, intensity=intensity_of(flops, nbytes),
        achieved_gflops=_rate(flops, median),
        achieved_gflops_ci=[_rate(flops, timing.p75_us), _rate(flops, timing.p25_us)],
        achieved_gbs=_rate(nbytes, median), roof_gbs=roof_gbs, level=level,
        # min(peak, intensity x bandwidth), written as work over roof time so a view (no bytes) needs
        # no division by zero; a pure copy (no FLOPs) attains 0 GFLOP/s
        attainable_gflops=flops / (allowed_us * 1e3) if allowed_us > 0 else 0.0,
        # roof time over time taken: achieved over attainable, and for a pure copy the share of the
        # bandwidth roof it reached
        fraction_of_roof=allowed_us / median if median > 0 else 0.0,
        roof_time_us=allowed_us, bound=bound, kernel=kernel)


def place_node(node: Node, timing: Timing, ceilings: DeviceCeilings,
               kernel: KernelInfo | None = None) -> Roofline:
    """One op of the analysis, timed alone."""
    return place(flops_of(node), bytes_of(node), timing, ceilings, kernel=kernel)


def place_many(nodes: list[Node], timing: Timing, ceilings: DeviceCeilings) -> Roofline:
    """Ops taken together in `timing` (a whole pass, a row of a network): their summed work and bytes,
    one call each. Each op is held against its own roofs, so their roof time is the sum of theirs
    (not the time of the summed bytes at one level: a pass of ops that each fit L2 moves more bytes
    than L2 holds, yet never waits on DRAM); `roof_gbs` is the bandwidth that moves all their bytes
    in the time their own roofs allow for moving them, and `level` theirs when they share one."""
    nodes = [n for n in nodes if n.op != "input"]
    flops, nbytes = sum(flops_of(n) for n in nodes), sum(bytes_of(n) for n in nodes)
    peak = peak_gflops(ceilings)
    roofs = [roof_for(ceilings, bytes_of(n)) for n in nodes]
    moving_us = sum(bytes_of(n) / (r.gbs * 1e3) for n, r in zip(nodes, roofs, strict=True))
    allowed_us = sum(roof_time_us(flops_of(n), bytes_of(n), ceilings) for n in nodes)
    levels = {r.level for r in roofs}
    roof_gbs = nbytes / (moving_us * 1e3) if moving_us > 0 else roof_for(ceilings, nbytes).gbs
    bound = _bound(intensity_of(flops, nbytes), peak, roof_gbs, allowed_us, len(nodes), ceilings)
    return _placed(flops, nbytes, timing, roof_gbs, levels.pop() if len(levels) == 1 else "mixed",
                   allowed_us, bound)


def place_whole(graph_nodes: list[Node], timing: Timing, ceilings: DeviceCeilings) -> Roofline:
    """A whole forward pass: every op of the analysis in the end-to-end time."""
    return place_many(graph_nodes, timing, ceilings)


def place_group(nodes: list[Node], timings: list[Timing], ceilings: DeviceCeilings) -> Roofline:
    """Ops timed alone, taken together (a row of a network): in their summed medians, the quartiles
    summed for the interval."""
    total = Timing(median_us=sum(t.median_us for t in timings), p25_us=sum(t.p25_us for t in timings),
                   p75_us=sum(t.p75_us for t in timings))
    return place_many(nodes, total, ceilings)


def by_bound(rooflines: list[Roofline], medians: list[float]) -> dict[str, float]:
    """Share of the summed medians spent in ops of each bound (every bound named, 0 when none)."""
    total = sum(medians)
    shares = dict.fromkeys(BOUNDS, 0.0)
    for roofline, median in zip(rooflines, medians, strict=True):
        shares[roofline.bound] += median / total if total > 0 else 0.0
    return shares
