"""The configurations a sweep tries, counted once each and kept in a cache of their own.

A sweep tries dozens of configurations; they never go to the analyses cache, which holds what
readers look at. Only what a sweep needs of each is kept: its totals and its structure.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from ..analysis.graph import ops_of
from ..cache import BoundedCache
from ..errors import InvalidParameter
from ..registry import BlockConfig, BlockSpec
from ..schemas import ConfigValue, Totals
from .blocks import construct, tally_config


@dataclass(frozen=True)
class Costs:
    """What a sweep needs of one configuration: its totals and its structure (its ops in order,
    channel shuffles left out); no totals where it was only checked for its structure. Once
    counted, also its ops with the shuffles and the group count of each convolution, in order."""
    totals: Totals | None
    structure: tuple[str, ...]
    ops: tuple[str, ...] = ()
    groups: tuple[int, ...] = ()


def _structure(ops: tuple[str, ...]) -> tuple[str, ...]:
    # channel shuffles left out (there is none at g = 1): widths that change the structure (a RepVGG
    # block loses its identity branch when out_channels != in_channels) are a different block
    return tuple(op for op in ops if op != "channel_shuffle")


_tried: BoundedCache[BlockConfig, Costs | None] = BoundedCache("sweep points", "sweep_point_cache")
_MISSING = object()


Values = Mapping[str, ConfigValue]  # a configuration a sweep tries, before it is checked


def count(spec: BlockSpec, values: Values, only: tuple[str, ...] | None) -> Costs | None:
    """Count one configuration (uncached; `costs_of` keeps what it counts), None where refused."""
    try:
        config = spec.resolve(values)
        module = construct(config, "meta")
        if only is not None:
            structure = _structure(ops_of(module))
            if structure != only:
                return Costs(None, structure)
        counted = tally_config(config, module)
    except InvalidParameter:
        return None
    ops = counted.ops()
    groups = tuple(n.attrs["groups"] for n in counted.nodes if n.op == "conv2d")
    return Costs(counted.totals, _structure(ops), ops, groups)


def costs_of(spec: BlockSpec, values: Values, only: tuple[str, ...] | None = None) -> Costs | None:
    """The costs of a configuration, None where it is refused. With `only` (a structure), one of
    another structure is not counted (the module is built, no shape is propagated): its costs come
    back with its structure alone."""
    key = BlockConfig.of(spec.kind, values)
    found = _tried.get(key, _MISSING)
    if found is _MISSING:  # threads missing one key at once share one count (maybe a structure check)
        found = _tried.get_or_compute(key, lambda: count(spec, values, only))
    if found is not None and found.totals is None and (only is None or found.structure == only):
        # checked for another sweep's structure only; counted now that its counts are wanted
        found = _tried.put(key, count(spec, values, None))
    return found


_FIELDS = ("params", "madds", "mac", "mac_bytes", "elementwise")


def _derived(first: tuple[int, Totals], last: tuple[int, Totals], g: int) -> Totals | None:
    """The totals at `g` groups on the line through two counts in 1/g (None where not whole)."""
    (g1, t1), (g2, t2) = first, last
    values = {}
    for name in _FIELDS:
        v1, v2 = getattr(t1, name), getattr(t2, name)
        slope = Fraction(v1 - v2) / (Fraction(1, g1) - Fraction(1, g2))
        value = v1 + slope * (Fraction(1, g) - Fraction(1, g1))
        if value.denominator != 1:
            return None
        values[name] = int(value)
    return Totals(**values)


def _split_alike(counted: dict[int, Costs]) -> bool:
    """The same ops, and each convolution split alike at every group count counted: in a number of
    groups that is either the same or the same multiple of g."""
    costs = list(counted.values())
    if len({c.ops for c in costs}) != 1 or len({len(c.groups) for c in costs}) != 1:
        return False
    for i in range(len(costs[0].groups)):
        split = [c.groups[i] for c in costs]
        if len(set(split)) > 1 and len({Fraction(s, g) for s, g in zip(split, counted, strict=True)}) > 1:
            return False
    return True


def across_groups(spec: BlockSpec, config: Values, groups: list[int]) -> dict[int, Costs | None]:
    """The costs of `config` at each of `groups` (group counts its channels allow), channels held.

    At fixed channels a block's ops and their shapes do not change with g; a convolution split in g
    groups (or a multiple of g) has 1/g of the weights and multiply-adds of the whole one, and the
    rest does not depend on g. So every total is a line in 1/g through the counts at two group
    counts. Those two are counted (the smallest and largest g > 1; g = 1 on its own, a channel
    shuffle appears only past it), and a third checks them: its own g when that lies between, else
    the middle one. The three must have the same ops, each convolution split alike (in the same
    number of groups or the same multiple of g), and the third must lie on the line in every total.
    Where they do not, every group count is counted.
    """
    gp = spec.group_param

    def count(g: int) -> Costs | None:
        return costs_of(spec, {**config, gp: g})

    grouped = [g for g in groups if g > 1]
    found = {1: count(1)} if 1 in groups else {}
    if len(grouped) < 4:
        return found | {g: count(g) for g in grouped}
    low, high = grouped[0], grouped[-1]
    check = config[gp] if low < config[gp] < high and config[gp] in grouped else grouped[len(grouped) // 2]
    counted = {g: count(g) for g in (low, check, high)}
    holds = all(c and c.totals for c in counted.values()) and _split_alike(counted)

    def on_line(g: int) -> Totals | None:
        return _derived((low, counted[low].totals), (high, counted[high].totals), g)

    holds = holds and on_line(check) == counted[check].totals
    ends = counted[low], counted[high]
    for g in grouped:
        totals = on_line(g) if holds and g not in counted else None
        if totals is None:
            found[g] = counted[g] if g in counted else count(g)
            continue
        # each convolution's groups: the same at both ends, else the same multiple of g
        split = tuple(a if a == b else a * g // low for a, b in zip(*(c.groups for c in ends), strict=True))
        costs = Costs(totals, ends[0].structure, ends[0].ops, split)
        found[g] = _tried.put(BlockConfig.of(spec.kind, {**config, gp: g}), costs)
    return found
