"""The configurations a sweep tries, counted once each and kept in a cache of their own.

A sweep tries dozens of configurations; they never go to the analyses cache, which holds what
readers look at. Only what a sweep needs of each is kept: its totals and its structure.
"""

from dataclasses import dataclass

from ..analysis.graph import ops_of
from ..cache import BoundedCache
from ..errors import InvalidParameter
from ..registry import BlockSpec
from ..schemas import Totals
from .blocks import construct, resolve, tally_config


@dataclass(frozen=True)
class Costs:
    """What a sweep needs of one configuration: its totals and its structure (its ops in order,
    channel shuffles left out); no totals where it was only checked for its structure."""
    totals: Totals | None
    structure: tuple[str, ...]


def _structure(ops: tuple[str, ...]) -> tuple[str, ...]:
    # channel shuffles left out (there is none at g = 1): widths that change the structure (a RepVGG
    # block loses its identity branch when out_channels != in_channels) are a different block
    return tuple(op for op in ops if op != "channel_shuffle")


_tried: BoundedCache[tuple, Costs | None] = BoundedCache("sweep points", "sweep_point_cache")
_MISSING = object()


def _count(spec: BlockSpec, values: dict, only: tuple[str, ...] | None) -> Costs | None:
    try:
        _, config = resolve(spec.kind, values)
        module = construct(spec, config, "meta")
        if only is not None:
            structure = _structure(ops_of(module))
            if structure != only:
                return Costs(None, structure)
        counted = tally_config(spec, config, module)
    except InvalidParameter:
        return None
    return Costs(counted.totals, _structure(counted.ops()))


def costs_of(spec: BlockSpec, values: dict, only: tuple[str, ...] | None = None) -> Costs | None:
    """The costs of a configuration, None where it is refused. With `only` (a structure), one of
    another structure is not counted (the module is built, no shape is propagated): its costs come
    back with its structure alone."""
    key = (spec.kind, tuple(sorted(values.items())))
    found = _tried.get(key, _MISSING)
    if found is _MISSING:  # threads missing one key at once share one count (maybe a structure check)
        found = _tried.get_or_compute(key, lambda: _count(spec, values, only))
    if found is not None and found.totals is None and (only is None or found.structure == only):
        # checked for another sweep's structure only; counted now that its counts are wanted
        found = _tried.put(key, _count(spec, values, None))
    return found
