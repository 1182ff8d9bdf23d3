"""The work the measuring process does, described as plain data so that it can be sent to it.

A job names the modules it needs (a block kind at a config, its deployed form, a guideline's
network, a whole network of the catalogue), never carries them: the measuring process builds them
itself, runs them, and frees them. The web side fills in what it knows from the analysis (the work
of every op, for the duration estimate, and the memory the job needs), so nothing is refused after
device time was spent.
"""

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ..analysis.estimate import OpWork
from ..analysis.reparam import deploy
from ..blocks.layers import seed_weights
from ..guideline_catalogue import GUIDELINES
from ..networks.build import build_network
from ..networks.catalogue import NETWORKS
from ..registry import BLOCKS


@dataclass(frozen=True)
class BlockForm:
    """A registered block kind at a full config, as trained or deployed (branches and BNs folded)."""
    kind: str
    config: tuple[tuple[str, object], ...]
    deployed: bool = False

    def build(self) -> nn.Module:
        module = BLOCKS[self.kind].seeded(dict(self.config))
        return deploy(module)[0] if self.deployed else module


@dataclass(frozen=True)
class GuidelineForm:
    """One row of a guideline experiment: its ten-unit network at a width."""
    guideline: str
    config: tuple[tuple[str, object], ...]

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


@dataclass(frozen=True)
class Timing:
    """Time one or more forms on one input: end to end, and with `per_node` op by op.

    Several forms are timed in rounds, each round calling every form once, so that the machine's
    ups and downs touch them alike and their ratio (e.g. a speedup) gets an honest interval.
    """
    forms: tuple[tuple[str, Form], ...]
    input_shape: tuple[int, ...]
    seed: int
    device: str
    threads: int | None
    warmup: int | None
    repeats: int | None
    per_node: bool
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False)  # per form, for the estimate
    memory_bytes: int = field(compare=False, default=0)

    @property
    def key(self) -> tuple:
        return ("timing", self.forms, self.input_shape, self.seed, self.device, self.threads, self.warmup,
                self.repeats, self.per_node)

    def input(self) -> torch.Tensor:
        return torch.randn(list(self.input_shape), generator=torch.Generator().manual_seed(self.seed))


@dataclass(frozen=True)
class Equivalence:
    """Deploy a block kind's config and check it: the largest output difference on a seeded
    input, what was fused into what and the merged kernel (RepVGG). The deployed form's graph is
    the web side's, from the meta device."""
    kind: str
    config: tuple[tuple[str, object], ...]
    memory_bytes: int = field(compare=False, default=0)
    device: str = "cpu"
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())

    @property
    def key(self) -> tuple:
        return ("equivalence", self.kind, self.config)


@dataclass(frozen=True)
class NetworkEquivalence:
    """Build a catalogue network with seeded weights, deploy it, and run both forms on a seeded
    input: the largest difference of their outputs, absolute and relative to the largest output."""
    name: str
    input_shape: tuple[int, ...]
    seed: int = 0
    memory_bytes: int = field(compare=False, default=0)
    device: str = "cpu"
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())

    @property
    def key(self) -> tuple:
        return ("network equivalence", self.name, self.input_shape, self.seed)


@dataclass(frozen=True)
class Export:
    """Build a form and export it to ONNX with the input fixed at `input_shape`: the file's bytes.

    The exporter traces the module on fake tensors (nothing is computed on an input), so its time
    grows with the number of ops, not with the input's size.
    """
    form: Form
    input_shape: tuple[int, ...]
    memory_bytes: int = field(compare=False, default=0)
    device: str = "cpu"
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())

    @property
    def key(self) -> tuple:
        return ("export", self.form, self.input_shape)


@dataclass(frozen=True)
class QuantizedActivations:
    """The six activations as 8-bit integer functions in ONNX Runtime at input scale and zero point:
    their kernels and curves, and with `measure` float32 and int8 timed on `size` elements in
    alternating rounds (blockscope/analysis/quantization.py)."""
    scale: float
    zero_point: int
    size: int
    seed: int
    device: str
    threads: int | None
    measure: bool
    memory_bytes: int = field(compare=False, default=0)
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())
    estimate_s: float = field(compare=False, default=1.0)

    @property
    def key(self) -> tuple:
        return ("quantized activations", self.scale, self.zero_point, self.size, self.seed, self.device,
                self.threads, self.measure)


@dataclass(frozen=True)
class QuantizedBlock:
    """A block kind's config with hard and with smooth activations, each statically quantized on
    `calibration` seeded inputs: output errors, kernels, and with `measure` float32 and int8 timed."""
    kind: str
    config: tuple[tuple[str, object], ...]
    calibration: int
    device: str
    threads: int | None
    measure: bool
    memory_bytes: int = field(compare=False, default=0)
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())
    estimate_s: float = field(compare=False, default=3.0)

    @property
    def key(self) -> tuple:
        return ("quantized block", self.kind, self.config, self.calibration, self.device, self.threads,
                self.measure)


Job = Timing | Equivalence | NetworkEquivalence | Export | QuantizedActivations | QuantizedBlock
