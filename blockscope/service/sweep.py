"""Sweep a block's group count: costs against g at fixed channels, and at (nearly) fixed multiply-adds
(the second series: service/fixed_madds.py, ShuffleNet V2's G2)."""

import math
from collections.abc import Mapping

from ..cache import BoundedCache
from ..errors import NotFound
from ..registry import BLOCKS, BlockConfig, BlockSpec
from ..schemas import ConfigValue, FixedMadds, FixedMaddsSeries, Sweep, SweepPoint
from .blocks import analyse, resolve
from .fixed_madds import FIXED_MADDS_GROUPS, reference_of, series
from .sweep_points import across_groups, costs_of

# The parameters that are channel widths (their greatest common divisor bounds the group count of a
# kind that declares no rule of its own in `group_divides`).
CHANNEL_PARAMS = ("in_channels", "out_channels", "bottleneck_width", "expanded_channels")
MAX_POINTS = 16  # group counts shown at fixed channels


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


def _fixed_channels(spec: BlockSpec, config: BlockConfig) -> list[SweepPoint]:
    # the group counts the block's rules allow (g divides each of those channels over its factor)
    channel_values = ([config[p] for p, _ in spec.group_divides] if spec.group_divides
                      else [config[p] for p in CHANNEL_PARAMS if p in config])
    candidates = [g for g in _divisors(math.gcd(*channel_values))
                  if all(config[p] % g == 0 and config[p] // factor % g == 0
                         for p, factor in spec.group_divides)]
    found = across_groups(spec, config, candidates[:MAX_POINTS])
    for g in candidates[MAX_POINTS:]:  # some refused (a dense block over the memory limit): more
        if sum(c is not None for c in found.values()) >= MAX_POINTS:
            break
        found[g] = costs_of(spec, {**config, spec.group_param: g})
    points = []
    for g, costs in sorted(found.items()):
        if costs is not None:  # None: refused at that group count
            t = costs.totals
            points.append(SweepPoint(g=g, params=t.params, madds=t.madds, mac=t.mac,
                                     elementwise=t.elementwise))
    return points


_sweeps: BoundedCache[BlockConfig | tuple, Sweep | FixedMadds] = BoundedCache("sweeps", "sweep_cache")


def _cached_series(spec: BlockSpec, reference: BlockConfig, extra_groups: tuple[int, ...] = ()) -> FixedMadds:
    """`series`, kept: blocks at other group counts often share their g = 1 reference."""
    reference = reference.replace(**{spec.group_param: 1})
    extra = tuple(sorted(set(extra_groups) - set(FIXED_MADDS_GROUPS)))
    return _sweeps.get_or_compute(("series", reference, extra),
                                  lambda: series(spec, reference, extra))


def _fixed_madds(spec: BlockSpec, config: BlockConfig, target: int) -> FixedMadds:
    if target == 0 or not spec.widen:
        return FixedMadds(target_madds=target, points=[])  # e.g. a channel shuffle: nothing to hold
    reference = reference_of(spec, config)
    if costs_of(spec, reference) is None:
        # no g = 1 block to anchor at: the dense block is refused (over the memory limit, say)
        return FixedMadds(target_madds=target, points=[])
    return _cached_series(spec, reference, (config[spec.group_param],))


def _sweep(spec: BlockSpec, config: BlockConfig) -> Sweep:
    target = costs_of(spec, config).totals.madds
    return Sweep(kind=spec.kind, param=spec.group_param, current=config[spec.group_param],
                 config=config.as_dict(),
                 fixed_channels=_fixed_channels(spec, config),
                 fixed_madds=_fixed_madds(spec, config, target))


def sweep(kind: str, values: Mapping[str, ConfigValue | None]) -> Sweep:
    """Costs of `kind` against its group parameter; `values` as for `analyse` (checked first)."""
    config = resolve(kind, values)
    spec = config.spec
    if not spec.group_param:
        raise no_group_parameter(kind)
    if costs_of(spec, config) is None:
        analyse(kind, config)  # the configuration must itself be valid: this raises its 422
    return _sweeps.get_or_compute(config, lambda: _sweep(spec, config))


def fixed_madds(kind: str, values: Mapping[str, ConfigValue | None]) -> FixedMaddsSeries:
    """G2 for `kind`: the channels in `values` are the g = 1 block's (the group count given is
    ignored); every group count at which the widened block's multiply-adds stay within the tolerance."""
    config = resolve(kind, values)
    spec = config.spec
    if not spec.widen:
        raise nothing_to_widen(kind)
    reference = config.replace(**{spec.group_param: 1})
    if costs_of(spec, reference) is None:
        analyse(kind, reference)  # the g = 1 block must itself be valid: this raises its 422
    series = _cached_series(spec, reference)
    return FixedMaddsSeries(kind=kind, param=spec.group_param, **series.model_dump())
