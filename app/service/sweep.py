"""Sweep a block's group count: costs against g at fixed channels, and at (nearly) fixed multiply-adds.

The second series is ShuffleNet V2's guideline G2 (Ma et al. 2018, Sec. 2, Table 2): with the
multiply-adds held constant, more groups buy wider channels, and MAC (memory access cost) rises.
"""

import math

from ..cache import BoundedCache
from ..errors import InvalidParameter, NotFound
from ..registry import BLOCKS, BlockSpec
from ..schemas import FixedMadds, Sweep, SweepPoint
from .blocks import analyse, resolve

# The parameters that are channel widths (scaled together to hold multiply-adds fixed).
CHANNEL_PARAMS = ("in_channels", "out_channels", "bottleneck_width", "expanded_channels")
MAX_POINTS = 16  # group counts shown at fixed channels
# Group counts tried at fixed multiply-adds (plus the current one), as in G2's Table 2.
FIXED_MADDS_GROUPS = (1, 2, 4, 8, 16, 32)


def grouped_kinds() -> list[str]:
    return [s.kind for s in BLOCKS.values() if s.group_param]


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _point(kind: str, config: dict, group_param: str, g: int,
           widened: tuple[str, ...] = ()) -> SweepPoint | None:
    """The costs at `g` groups (None where that configuration is refused); `widened` names the
    channel parameters to report, when they were changed to hold multiply-adds fixed."""
    try:
        totals = analyse(kind, {**config, group_param: g}).data.totals
    except InvalidParameter:
        return None
    return SweepPoint(g=g, params=totals.params, madds=totals.madds, mac=totals.mac,
                      elementwise=totals.elementwise,
                      channels={p: config[p] for p in widened} if widened else None)


def _fixed_channels(spec: BlockSpec, config: dict) -> list[SweepPoint]:
    channel_values = [config[p] for p in CHANNEL_PARAMS if p in config]
    candidates = _divisors(math.gcd(*channel_values))
    points = []
    for g in candidates:
        point = _point(spec.kind, config, spec.group_param, g)
        if point:
            points.append(point)
        if len(points) >= MAX_POINTS:
            break
    return points


def _scaled(config: dict, scale: float, unit: int) -> dict:
    out = dict(config)
    for p in CHANNEL_PARAMS:
        if p in config:
            out[p] = max(unit, round(config[p] * scale / unit) * unit)
    return out


def _closest_at(spec: BlockSpec, config: dict, g: int, target: int) -> SweepPoint | None:
    """The channel scaling with `g` groups whose multiply-adds come closest to `target`."""
    best = None
    for unit in (g, 2 * g, 4 * g):
        scale = math.sqrt(g / config[spec.group_param])  # exact when every conv is grouped by g
        for _ in range(3):  # refine: madds grow about as the square of the width
            tried = []
            base = _scaled(config, scale, unit)
            for step in (-1, 0, 1):
                candidate = {p: (v + step * unit if p in CHANNEL_PARAMS and p in config else v)
                             for p, v in base.items()}
                widened = tuple(p for p in CHANNEL_PARAMS if p in config)
                point = _point(spec.kind, candidate, spec.group_param, g, widened)
                if point is None:
                    continue
                tried.append(point)
                if best is None or abs(point.madds - target) < abs(best.madds - target):
                    best = point
            if not tried or best.madds == 0:
                break
            scale *= math.sqrt(target / best.madds)
        if best is not None:
            return best
    return best


def _fixed_madds(spec: BlockSpec, config: dict, target: int) -> list[SweepPoint]:
    if target == 0:
        return []  # a block without multiply-adds (channel shuffle) has nothing to hold fixed
    groups = sorted(set(FIXED_MADDS_GROUPS) | {config[spec.group_param]})
    points = [p for g in groups if (p := _closest_at(spec, config, g, target))]
    return points


_sweeps: BoundedCache[tuple, Sweep] = BoundedCache("sweeps", "sweep_cache")


def _sweep(spec: BlockSpec, config: dict) -> Sweep:
    target = analyse(spec.kind, config).data.totals.madds
    return Sweep(kind=spec.kind, param=spec.group_param, current=config[spec.group_param], config=config,
                 fixed_channels=_fixed_channels(spec, config),
                 fixed_madds=FixedMadds(target_madds=target, points=_fixed_madds(spec, config, target)))


def sweep(kind: str, values: dict) -> Sweep:
    """Costs of `kind` against its group parameter; `values` as for `analyse` (checked first)."""
    spec, config = resolve(kind, values)
    if not spec.group_param:
        raise NotFound(f"{kind!r} has no group parameter to sweep; blocks that do: "
                       f"{', '.join(grouped_kinds())}")
    analyse(kind, config)  # the current configuration must itself be valid (422 otherwise)
    return _sweeps.get_or_compute((kind, tuple(config.items())), lambda: _sweep(spec, config))
