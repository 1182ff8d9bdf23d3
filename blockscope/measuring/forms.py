"""What a job builds: a module named by plain data, so that a job can be sent to the measuring process
and the process builds (and frees) the module itself.

Each form is a frozen dataclass: equal forms build the same module, so a form is part of its job's
cache key.
"""

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ..analysis.reparam import deploy
from ..blocks.layers import seed_weights
from ..guideline_catalogue import GUIDELINES, UnitConfig
from ..networks.build import build_network
from ..networks.catalogue import NETWORKS
from ..registry import BlockConfig


@dataclass(frozen=True)
class BlockForm:
    """A registered block kind at a full config, as trained or deployed (branches and BNs folded)."""
    config: BlockConfig
    deployed: bool = False

    def build(self) -> nn.Module:
        module = self.config.spec.seeded(self.config)
        return deploy(module)[0] if self.deployed else module


@dataclass(frozen=True)
class GuidelineForm:
    """One row of a guideline experiment: its ten-unit network at a width (`config`: the unit's
    constructor arguments, sorted by name)."""
    guideline: str
    config: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, guideline: str, config: UnitConfig) -> "GuidelineForm":
        return cls(guideline, tuple(sorted(config.items())))

    def build(self) -> nn.Module:
        return seed_weights(GUIDELINES[self.guideline].build(dict(self.config)), seed=0)


@dataclass(frozen=True)
class ModuleForm:
    """A module handed over whole (only for work that never leaves the web process: tests)."""
    name: str
    module: nn.Module = field(compare=False, hash=False)

    def build(self) -> nn.Module:
        return copy.deepcopy(self.module)  # measured in eval mode on its device: the caller's stays as it is


@dataclass(frozen=True)
class NetworkForm:
    """A whole network of the catalogue (`blockscope.networks`), weights and BatchNorm statistics drawn from
    `seed`, as trained or deployed (every Conv+BN folded, RepVGG's branches merged)."""
    name: str
    deployed: bool = False
    seed: int = 0

    def build(self) -> nn.Module:
        with torch.device("cpu"):
            module = seed_weights(build_network(NETWORKS[self.name]), self.seed).eval()
        return deploy(module)[0] if self.deployed else module


Form = BlockForm | GuidelineForm | ModuleForm | NetworkForm
