"""Random valid configurations for any registered kind, found by sampling and asking the service."""

import random

from blockscope.errors import InvalidParameter
from blockscope.registry import BlockSpec
from blockscope.service.blocks import analyse_config, resolve

CHANNEL_PARAMS = {"in_channels", "out_channels", "bottleneck_width", "expanded_channels"}
GROUP_PARAMS = {"groups", "cardinality"}


def _sample(spec: BlockSpec, rng: random.Random) -> dict:
    base = rng.choice([1, 2, 3, 4, 6, 8])
    values = {}
    for p in spec.params:
        if p.choices is not None:
            values[p.name] = rng.choice(p.choices)
        elif p.type == "boolean":
            values[p.name] = rng.random() < 0.5
        elif p.name in CHANNEL_PARAMS:
            values[p.name] = base * rng.randint(1, 8) * rng.choice([1, 2, 4])
        elif p.name in GROUP_PARAMS:
            values[p.name] = rng.choice([1, base, base * 2])
        else:
            values[p.name] = rng.randint(p.min, min(p.max, 24))
    # residual blocks are most interesting (and stride-1 units only valid) with in == out
    if "out_channels" in values and rng.random() < 0.5:
        values["out_channels"] = values["in_channels"]
    values.update(batch=rng.randint(1, 3), height=rng.randint(3, 14), width=rng.randint(3, 14),
                  seed=rng.randint(0, 1000))
    return values


def random_configs(spec: BlockSpec, count: int, seed: int = 0) -> list[dict]:
    """`count` distinct valid configs of `spec` (full configs, defaults resolved)."""
    rng = random.Random(f"{spec.kind}-{seed}")
    found: dict[tuple, dict] = {}
    for _ in range(count * 200):
        try:
            config = resolve(spec.kind, _sample(spec, rng))
            analyse_config(config)
        except InvalidParameter:
            continue
        found[config] = config.as_dict()
        if len(found) == count:
            break
    assert len(found) == count, f"could not sample {count} valid {spec.kind} configs"
    return list(found.values())
