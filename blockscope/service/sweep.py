"""Sweep a block's group count: costs against g at fixed channels, and at (nearly) fixed multiply-adds.

The second series is ShuffleNet V2's guideline G2 (Ma et al. 2018, Sec. 2, Table 2): with the
multiply-adds held constant, more groups buy wider channels, and MAC (memory access cost) rises.
It is anchored at g = 1: the reference block has the group count 1 and the channels `reference`,
and every point widens the kind's `widen` parameters (multiples of g) so that its multiply-adds
stay within `TOLERANCE` of the reference's. Group counts where the channels cannot get that close
(too few channels to divide finely) are left out rather than shown off target.
"""

import itertools
import math
from dataclasses import dataclass

from ..cache import BoundedCache
from ..errors import InvalidParameter, NotFound
from ..registry import BLOCKS, BlockSpec
from ..schemas import FixedMadds, FixedMaddsSeries, Sweep, SweepPoint, Totals
from .blocks import analyse, analyse_config, resolve

# The parameters that are channel widths (their greatest common divisor bounds the group count).
CHANNEL_PARAMS = ("in_channels", "out_channels", "bottleneck_width", "expanded_channels")
MAX_POINTS = 16  # group counts shown at fixed channels
# Group counts tried at fixed multiply-adds (G2's Table 2 has 1, 2, 4, 8).
FIXED_MADDS_GROUPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
TOLERANCE = 0.02  # largest |multiply-adds / target - 1| of a point at fixed multiply-adds
# Largest spread of the widened parameters' growth (out/in may change by at most a third), so that
# a point does not buy its multiply-adds by making the block lopsided (which G1 says costs MAC).
MAX_IMBALANCE = 1 / 3
WINDOW = 2  # multiples of g tried on each side of the estimated width


def grouped_kinds() -> list[str]:
    return [s.kind for s in BLOCKS.values() if s.group_param]


def widening_kinds() -> list[str]:
    return [s.kind for s in BLOCKS.values() if s.widen]


def no_group_parameter(kind: str) -> NotFound:
    return NotFound(f"{kind!r} has no group parameter to sweep; blocks that do: {', '.join(grouped_kinds())}")


def nothing_to_widen(kind: str) -> NotFound:
    return NotFound(f"{kind!r} has no channels to widen at fixed multiply-adds; blocks that do: "
                    f"{', '.join(widening_kinds())}")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class _Costs:
    """What a sweep needs of one configuration: its totals and its structure (its ops in order)."""
    totals: Totals
    structure: tuple[str, ...]


# A sweep tries dozens of configurations once each: their costs are kept here, small, and never in
# the analyses cache, which holds what readers look at.
_tried: BoundedCache[tuple, _Costs | None] = BoundedCache("sweep points", "sweep_point_cache")


def _costs(spec: BlockSpec, values: dict) -> _Costs | None:
    """The costs of a configuration, None where it is refused."""
    def compute() -> _Costs | None:
        try:
            _, config = resolve(spec.kind, values)
            analysis = analyse_config(spec, config)
        except InvalidParameter:
            return None
        # channel shuffles left out (there is none at g = 1): widths that change the structure (a
        # RepVGG block loses its identity branch when out_channels != in_channels) are a different
        # block, not a wider one
        return _Costs(analysis.totals, tuple(n.op for n in analysis.nodes if n.op != "channel_shuffle"))
    return _tried.get_or_compute((spec.kind, tuple(sorted(values.items()))), compute)


def _point(spec: BlockSpec, config: dict, g: int) -> SweepPoint | None:
    """The costs at `g` groups (None where that configuration is refused)."""
    costs = _costs(spec, {**config, spec.group_param: g})
    if costs is None:
        return None
    t = costs.totals
    return SweepPoint(g=g, params=t.params, madds=t.madds, mac=t.mac, elementwise=t.elementwise)


def _fixed_channels(spec: BlockSpec, config: dict) -> list[SweepPoint]:
    channel_values = [config[p] for p in CHANNEL_PARAMS if p in config]
    candidates = _divisors(math.gcd(*channel_values))
    points = []
    for g in candidates:
        point = _point(spec, config, g)
        if point:
            points.append(point)
        if len(points) >= MAX_POINTS:
            break
    return points


class _Candidate:
    def __init__(self, config: dict, costs: _Costs, base: dict, widen: tuple[str, ...], target: int,
                 structure: tuple[str, ...]):
        self.config = config
        self.totals = costs.totals
        self.deviation = self.totals.madds / target - 1
        growth = [config[p] / base[p] for p in widen]
        self.imbalance = max(growth) / min(growth) - 1
        self.same = costs.structure == structure

    def rank(self) -> tuple:
        """Within the tolerance and balanced first; then the most balanced, then the closest."""
        close = abs(self.deviation) <= TOLERANCE
        return (not close, self.imbalance > MAX_IMBALANCE or not self.same,
                self.imbalance if close else abs(self.deviation), abs(self.deviation))


def _imbalance(widths: dict, base: dict) -> float:
    growth = [widths[p] / base[p] for p in widths]
    return round(max(growth) / min(growth) - 1, 12)


def _solve(spec: BlockSpec, base: dict, g: int, target: int, closest: bool = False) -> _Candidate | None:
    """The block at `g` groups whose `widen` parameters (multiples of g, grown from `base`'s in the
    same proportion where divisibility allows) bring the multiply-adds closest to `target`."""
    widen, gp = spec.widen, spec.group_param
    structure = _costs(spec, base).structure
    seen: dict[tuple, _Candidate | None] = {}

    def attempt(widths: dict) -> _Candidate | None:
        key = tuple(widths[p] for p in widen)
        if key not in seen:
            config = {**base, gp: g, **widths}
            costs = _costs(spec, config)
            seen[key] = (_Candidate(config, costs, base, widen, target, structure)
                         if costs and costs.totals.madds else None)
        return seen[key]

    # multiply-adds grow between linearly and quadratically with the width: refine the scale on the
    # rounded centre (a multiple of g, else 2g or 4g, whichever builds) a few times
    scale = math.sqrt(g / base[gp])
    for _ in range(6):
        centre = None
        for unit in (g, 2 * g, 4 * g):
            centre = attempt({p: max(unit, round(base[p] * scale / unit) * unit) for p in widen})
            if centre:
                break
        if centre is None:
            break
        step = math.sqrt(target / centre.totals.madds)
        if abs(step - 1) < 1e-3:
            break
        scale *= step
    # then, unless the centre is already close and keeps the block's proportions, every combination
    # of multiples of g around it
    if centre and centre.imbalance < 1e-9 and centre.rank()[:2] == (False, False):
        return centre
    ranges = []
    for p in widen:
        k = max(1, round(base[p] * scale / g))
        ranges.append(range(max(1, k - WINDOW), k + WINDOW + 1))
    # The most balanced first: a candidate's imbalance is known from its widths alone, so the first
    # level of balance with a candidate close enough (and of the same structure) holds the best one
    # there is, and the less balanced need no analysis. Only `closest` (no candidate may be close
    # enough, and the nearest is wanted anyway) tries every combination.
    combos = [{p: k * g for p, k in zip(widen, ks, strict=True)} for ks in itertools.product(*ranges)]
    for level, same_level in itertools.groupby(sorted(combos, key=lambda w: _imbalance(w, base)),
                                               key=lambda w: _imbalance(w, base)):
        tried = [attempt(widths) for widths in same_level]
        if any(c and c.rank()[:2] == (False, False) for c in tried):
            break
        if level > MAX_IMBALANCE and not closest:
            break  # no candidate further out can be balanced enough
    found = [c for c in seen.values() if c]
    return min(found, key=_Candidate.rank) if found else None


def _series(spec: BlockSpec, reference: dict, extra_groups: tuple[int, ...] = ()) -> FixedMadds:
    """Points at fixed multiply-adds from the g = 1 block `reference` (a full config)."""
    gp = spec.group_param
    reference = {**reference, gp: 1}
    totals = _costs(spec, reference).totals
    target = totals.madds
    widths = {p: reference[p] for p in spec.widen}
    points = [SweepPoint(g=1, params=totals.params, madds=totals.madds, mac=totals.mac,
                         elementwise=totals.elementwise, channels=widths, madds_deviation=0.0)]
    for g in sorted(set(FIXED_MADDS_GROUPS[1:]) | {g for g in extra_groups if g > 1}):
        best = _solve(spec, reference, g, target)
        if best is None or best.rank()[:2] != (False, False):
            continue  # no widths this close at this group count
        t = best.totals
        points.append(SweepPoint(g=g, params=t.params, madds=t.madds, mac=t.mac, elementwise=t.elementwise,
                                 channels={p: best.config[p] for p in spec.widen},
                                 madds_deviation=round(best.deviation, 6)))
    return FixedMadds(target_madds=target, points=points, reference=widths, tolerance=TOLERANCE)


def reference_of(spec: BlockSpec, config: dict) -> dict:
    """The g = 1 block whose multiply-adds are closest to `config`'s (same proportions)."""
    target = _costs(spec, config).totals.madds
    best = _solve(spec, config, 1, target, closest=True)
    return best.config if best else {**config, spec.group_param: 1}


_sweeps: BoundedCache[tuple, Sweep] = BoundedCache("sweeps", "sweep_cache")


def _cached_series(spec: BlockSpec, reference: dict, extra_groups: tuple[int, ...] = ()) -> FixedMadds:
    """`_series`, kept: blocks at other group counts often share their g = 1 reference."""
    reference = {**reference, spec.group_param: 1}
    extra = tuple(sorted(set(extra_groups) - set(FIXED_MADDS_GROUPS)))
    return _sweeps.get_or_compute(("series", spec.kind, tuple(reference.items()), extra),
                                  lambda: _series(spec, reference, extra))


def _fixed_madds(spec: BlockSpec, config: dict, target: int) -> FixedMadds:
    if target == 0 or not spec.widen:
        return FixedMadds(target_madds=target, points=[])  # e.g. a channel shuffle: nothing to hold
    return _cached_series(spec, reference_of(spec, config), (config[spec.group_param],))


def _sweep(spec: BlockSpec, config: dict) -> Sweep:
    target = _costs(spec, config).totals.madds
    return Sweep(kind=spec.kind, param=spec.group_param, current=config[spec.group_param], config=config,
                 fixed_channels=_fixed_channels(spec, config),
                 fixed_madds=_fixed_madds(spec, config, target))


def sweep(kind: str, values: dict) -> Sweep:
    """Costs of `kind` against its group parameter; `values` as for `analyse` (checked first)."""
    spec, config = resolve(kind, values)
    if not spec.group_param:
        raise no_group_parameter(kind)
    if _costs(spec, config) is None:
        analyse(kind, config)  # the configuration must itself be valid: this raises its 422
    return _sweeps.get_or_compute((kind, tuple(config.items())), lambda: _sweep(spec, config))


def fixed_madds(kind: str, values: dict) -> FixedMaddsSeries:
    """G2 for `kind`: the channels in `values` are the g = 1 block's (the group count given is
    ignored); every group count at which the widened block's multiply-adds stay within the tolerance."""
    spec, config = resolve(kind, values)
    if not spec.widen:
        raise nothing_to_widen(kind)
    reference = {**config, spec.group_param: 1}
    if _costs(spec, reference) is None:
        analyse(kind, reference)  # the g = 1 block must itself be valid: this raises its 422
    series = _cached_series(spec, reference)
    return FixedMaddsSeries(kind=kind, param=spec.group_param, **series.model_dump())
