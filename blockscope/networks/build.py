"""Modules from the catalogue's rows: every unit is a registry block or one of the plain layers below.

A network is an `nn.Sequential` of rows, each an `nn.Sequential` of its units in order, so the
analysis's module path of every op starts with "<row>.<unit>" and the ops of a row can be summed.
"""

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn

from ..blocks.layers import ACTIVATIONS, ConvNormAct
from ..registry import BLOCKS
from .catalogue import Network, Unit


def _conv_bn_act(in_channels: int, out_channels: int, kernel_size: int, stride: int, act: str) -> nn.Module:
    return ConvNormAct(in_channels, out_channels, kernel_size, stride, act=act)


def _max_pool(kernel_size: int, stride: int, padding: int) -> nn.Module:
    return nn.MaxPool2d(kernel_size, stride, padding)


def _global_avg_pool() -> nn.Module:
    return nn.Sequential(OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten()))


def _linear(in_features: int, out_features: int, bias: bool, act: str | None, dropout: float) -> nn.Module:
    layers = OrderedDict()
    if dropout:
        layers["dropout"] = nn.Dropout(dropout)  # nothing at inference; kept where torchvision has it
    layers["fc"] = nn.Linear(in_features, out_features, bias=bias)
    if act is not None:
        layers["act"] = ACTIVATIONS[act]()
    return nn.Sequential(layers)


# The plain layers a row may use besides the registry's blocks: builder and a readable title.
LAYERS = {
    "conv_bn_act": (_conv_bn_act, "conv-BN-activation"),
    "max_pool": (_max_pool, "max pool"),
    "global_avg_pool": (_global_avg_pool, "global average pool"),
    "linear": (_linear, "fully connected"),
}


def title(block: str) -> str:
    return BLOCKS[block].title if block in BLOCKS else LAYERS[block][1]


def build_unit(unit: Unit) -> nn.Module:
    """One unit (on the current default device: build under `torch.device("meta")` to count)."""
    if unit.block in BLOCKS:
        return BLOCKS[unit.block].builder(**unit.config)
    return LAYERS[unit.block][0](**unit.config)


def build_network(network: Network) -> nn.Sequential:
    """The whole network in eval mode: rows of units, untouched weights (seed them to run it)."""
    rows = [nn.Sequential(*(build_unit(u) for u in row.units for _ in range(u.count)))
            for row in network.rows]
    return nn.Sequential(*rows).eval()


@dataclass(frozen=True)
class Link:
    """The explorer block that shows a unit: its kind and block parameters (batch and size come from
    where the unit sits), whether `/api/blocks/{kind}` reproduces the unit's counts, and how the two
    differ, if they do."""
    kind: str
    config: dict
    same_counts: bool
    note: str | None


ACT_NAMES = {"relu6": "ReLU6", "hardswish": "hard-swish"}


def link(unit: Unit) -> Link | None:
    """The registry block to open for `unit`, or None for a plain layer the explorer has no block for."""
    if unit.block == "conv_bn_act":
        config = {k: unit.config[k] for k in ("in_channels", "out_channels", "kernel_size", "stride")}
        act = ACT_NAMES.get(unit.config["act"], unit.config["act"])
        return Link("conv", config, True, f"This layer ends in {act}; the explorer's standard convolution "
                                          "ends in ReLU. The counts are the same.")
    spec = BLOCKS.get(unit.block)
    if spec is None:
        return None
    names = {p.name for p in spec.params}
    config = {p.name: unit.config.get(p.name, p.default) for p in spec.params}
    extra = {k: v for k, v in unit.config.items() if k not in names}
    if not extra:
        return Link(unit.block, config, True, None)
    if extra == {"group_first_conv": False}:
        return Link(unit.block, config, False,
                    "Here the first 1x1 conv is not grouped (the paper's first Stage2 unit: its input "
                    "has only 24 channels); the explorer's unit groups it, so the linked block has fewer "
                    "parameters and multiply-adds in that one conv.")
    raise ValueError(f"no explorer block shows {unit.block} with {sorted(extra)}")
