"""The catalogue's networks assembled another way than `build_network` does: every unit in one flat
`nn.Sequential`, without the rows, so that code reading a network's module tree is tried on another tree."""

from torch import nn

from blockscope.networks.build import build_unit
from blockscope.networks.catalogue import NETWORKS


def flat(name: str) -> nn.Sequential:
    """The units of `name`, in order, in one `nn.Sequential` (build it under `on_meta()` to count)."""
    network = NETWORKS[name]
    return nn.Sequential(*(build_unit(u) for row in network.rows for u in row.units for _ in range(u.count)))


def mobilenet_v2() -> nn.Sequential:
    return flat("mobilenet_v2")


def mobilenet_v3_large() -> nn.Sequential:
    return flat("mobilenet_v3_large")
