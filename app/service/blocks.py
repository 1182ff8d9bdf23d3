"""Resolve a block request, build the block, analyse it, and keep analyses in a bounded cache."""

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from ..analysis.graph import describe
from ..analysis.ops import numel
from ..blocks.errors import BlockConfigError
from ..blocks.layers import seed_weights
from ..blocks.shuffle import inverse_permutation, shuffle_permutation
from ..registry import BLOCKS, BlockSpec
from ..settings import settings
from .errors import InvalidParameter, NotFound

ELEMENT_SIZE = 4  # float32


def get_spec(kind: str) -> BlockSpec:
    try:
        return BLOCKS[kind]
    except KeyError:
        raise NotFound(f"unknown block kind {kind!r}; known kinds: {', '.join(BLOCKS)}") from None


def resolve(kind: str, values: dict) -> tuple[BlockSpec, dict]:
    """Full config for `kind`: defaults filled in, every value checked against its parameter."""
    spec = get_spec(kind)
    config = {}
    for p in spec.all_params:
        value = values.get(p.name, p.default)
        if value is None:
            value = p.default
        if p.choices is not None and value not in p.choices:
            raise InvalidParameter(p.name, f"{p.name}={value!r} is not allowed; choose one of {', '.join(map(str, p.choices))}", value)
        if p.min is not None and value < p.min:
            raise InvalidParameter(p.name, f"must be at least {p.min}", value)
        if p.max is not None and value > p.max:
            raise InvalidParameter(p.name, f"must be at most {p.max} (server limit)", value)
        config[p.name] = value
    return spec, config


def input_shape(config: dict) -> list[int]:
    return [config["batch"], config["in_channels"], config["height"], config["width"]]


def _construct(spec: BlockSpec, config: dict, device) -> nn.Module:
    try:
        with torch.device(device):
            module = spec.build(config)
    except BlockConfigError as exc:
        raise InvalidParameter(exc.param, exc.message, config.get(exc.param)) from None
    return module.eval()


def build(kind: str, config: dict, device: str | torch.device = "cpu") -> nn.Module:
    """A real, seeded block in eval mode (after the config has passed `analyse`'s checks)."""
    spec = get_spec(kind)
    module = seed_weights(_construct(spec, config, "cpu"), config["seed"])
    return module.to(device)


def memory_estimate(description: dict) -> int:
    """Bytes to hold the parameters and every activation of one forward pass."""
    elements = description["totals"]["params"] + numel(description["input_shape"])
    elements += sum(numel(n["output_shape"]) for n in description["nodes"] if n["op"] not in ("input", "chunk"))
    return elements * ELEMENT_SIZE


def size_param(batch: int) -> str:
    """The parameter a size refusal names: the batch when there is one, else the input height."""
    return "batch" if batch > 1 else "height"


def check_memory(description: dict, config: dict) -> None:
    need = memory_estimate(description)
    limit = settings.max_memory_mb * 2**20
    if need > limit:
        param = size_param(config["batch"])
        raise InvalidParameter(
            param,
            f"this configuration needs about {need / 2**20:.0f} MiB for its weights and activations, over "
            f"the server's limit of {settings.max_memory_mb} MiB (BLOCKSCOPE_MAX_MEMORY_MB); reduce "
            "batch, height/width or the channel counts",
            config.get(param),
        )


def describe_config(spec: BlockSpec, config: dict) -> dict:
    """The analysis of a block, computed on the meta device: exact shapes and counts, no memory."""
    module = _construct(spec, config, "meta")
    try:
        description = describe(module, input_shape(config))
    except RuntimeError as exc:  # a shape PyTorch refuses (e.g. a kernel larger than the input)
        raise InvalidParameter("height", f"the block cannot run on this input: {exc}".split("\n")[0]) from None
    check_memory(description, config)
    return {"kind": spec.kind, "config": config, **description}


@dataclass(frozen=True)
class Cached:
    """A JSON answer kept for re-use: the data, its serialised body and the body's ETag."""
    data: dict
    body: bytes
    etag: str

    @classmethod
    def of(cls, data: dict) -> "Cached":
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(data, body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')


@lru_cache(maxsize=settings.analysis_cache_size)
def _cached(kind: str, items: tuple) -> Cached:
    return Cached.of(describe_config(get_spec(kind), dict(items)))


def clear_cache() -> None:
    _cached.cache_clear()


def analyse(kind: str, values: dict) -> Cached:
    """The BlockAnalysis of `kind` for these query values (cached; treat `data` as read-only)."""
    spec, config = resolve(kind, values)
    return _cached(spec.kind, tuple(config.items()))


def shuffle(channels: int, groups: int) -> dict:
    if channels % groups:
        raise InvalidParameter("groups", f"groups={groups} must divide channels={channels}", groups)
    perm = shuffle_permutation(channels, groups)
    return {"channels": channels, "groups": groups, "permutation": perm, "inverse": inverse_permutation(perm)}
