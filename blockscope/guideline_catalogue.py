"""The one list of guideline experiments: ShuffleNet V2's four guidelines (Ma et al. 2018, Sec. 2,
Tables 1-4), each with its benchmark network, its rows, the paper's figures and prose.

It plays for the guideline lab the part `registry.py` plays for blocks: the API, the page and the
tests iterate `GUIDELINES`; the service runs every experiment through one code path.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from torch import nn

from .analysis.guidelines import SIZE, conv1x1_madds, g1_lower_bound, g3_width
from .blocks.guidelines import STACK_DEPTH, Fragments, GroupConv1x1, PlainBottleneck, TwoConv1x1, stack

# A unit's constructor arguments (channel counts, groups, fragments), read-only.
UnitConfig = Mapping[str, int]

PAPER = "ShuffleNet V2 (Ma et al. 2018), Sec. 2"
WIDTH_MULTIPLIERS = (1, 2, 4)
GPU_UNIT, ARM_UNIT = "batches/s", "images/s"
MAX_SWEEP_GROUPS = 16  # the G2 slider's range of group counts
G2_SWEEP_FORMULA = ("per conv: multiply-adds B = hw c^2 / g, MAC = 2 hw c + c^2 / g; with c = channels x "
                    "sqrt(g) rounded to a multiple of g, B stays near hw channels^2 while MAC grows "
                    "(Sec. 2, Eq. 2)")


@dataclass(frozen=True)
class Row:
    """One row of a paper table at width x1; `gpu`/`arm` are the published figures (None: not recorded).

    `arm_config` is set where the paper's ARM column was measured at other channel counts (G1).
    """
    label: str
    config: UnitConfig
    gpu: float | None = None
    arm: float | None = None
    arm_config: UnitConfig | None = None


@dataclass(frozen=True)
class Guideline:
    name: str
    title: str
    rule: str
    table: str
    unit: type[nn.Module]
    channel_keys: tuple[str, ...]  # the config entries a width multiplier scales
    in_channels: str  # the config entry (times `in_factor`) that is the network's input width
    rows: tuple[Row, ...]
    in_factor: int = 1
    decisions: tuple[str, ...] = ()
    paper_notes: tuple[str, ...] = ()
    # optional (config at x1, width_multiplier) -> config, and the prose that explains it
    derive: Callable[[UnitConfig, int], UnitConfig] | None = None
    derivation: str | None = None
    # optional (row config, batch) -> the smallest MAC the row's multiply-adds allow
    mac_lower_bound: Callable[[UnitConfig, int], float] | None = None
    # the roofline bound the guideline's argument rests on, and why, for the explanation of a measured
    # report (docs/numbers.md, "Roofline"): the share of op time in ops of that bound, row by row
    argued_bound: str | None = None
    argued_because: str | None = None

    def row_config(self, row: Row, width_multiplier: int) -> UnitConfig:
        """The unit's constructor arguments at this width (x2 and x4 multiply the channel counts)."""
        if self.derive is not None:
            return self.derive(row.config, width_multiplier)
        return {k: v * width_multiplier if k in self.channel_keys else v for k, v in row.config.items()}

    def input_shape(self, config: UnitConfig, batch: int) -> list[int]:
        return [batch, config[self.in_channels] * self.in_factor, SIZE, SIZE]

    def build(self, config: UnitConfig, depth: int = STACK_DEPTH) -> nn.Sequential:
        """The stacked benchmark network, in eval mode (build under `torch.device("meta")` to
        allocate nothing)."""
        return stack(self.unit, depth, **config).eval()


BARE_CONVS = ("Plain bias-free convolutions without BatchNorm, as in the paper's micro-benchmarks "
              "(at inference a BN folds into the conv before it), so a 1x1 conv's MAC is exactly "
              "hw(c1 + c2) + c1*c2/g.")
ONLY_X1 = "The published figures recorded here are the width x1 columns only; other widths show none."


def _g1_lower_bound(config: UnitConfig, batch: int) -> float:
    # every conv of the stack meets the bound with equality iff c1 = c2 (Sec. 2, Eq. 1)
    conv_madds = conv1x1_madds(config["c1"], config["c2"], batch=batch)
    return 2 * STACK_DEPTH * g1_lower_bound(conv_madds, batch=batch)


def _g3_derive(config: UnitConfig, width_multiplier: int) -> UnitConfig:
    c1 = config["channels"] * width_multiplier
    return {**config, "channels": g3_width(c1, config["fragments"])}


G3_DERIVATION = ("Each fragment is a 1x1 conv c -> c, costing hw*c^2 multiply-adds; n fragments match the "
                 "1-fragment block of width c1 = 128 x width_multiplier when n*c^2 = c1^2, so "
                 "c = round(c1 / sqrt(n)): at x1, 91 for two fragments and 64 for four (within 1.1% of "
                 "the 1-fragment multiply-adds). Series and parallel blocks use the same widths; "
                 "parallel branches all read the block input and are summed.")

GUIDELINES: dict[str, Guideline] = {g.name: g for g in (
    Guideline(
        name="g1", title="G1: equal channel width minimizes MAC",
        rule="For a fixed number of multiply-adds, a 1x1 conv's memory access cost is lowest when its "
             "input and output channel counts are equal.",
        table="Table 1", unit=TwoConv1x1, channel_keys=("c1", "c2"), in_channels="c1",
        rows=(Row("1:1", {"c1": 128, "c2": 128}, 1480, 76.2, {"c1": 32, "c2": 32}),
              Row("1:2", {"c1": 90, "c2": 180}, 1296, 72.9, {"c1": 22, "c2": 44}),
              Row("1:6", {"c1": 52, "c2": 312}, 876, 69.1, {"c1": 13, "c2": 78}),
              Row("1:12", {"c1": 36, "c2": 432}, 748, 57.6, {"c1": 9, "c2": 108})),
        decisions=("Each unit is two 1x1 convs c1 -> c2 -> c1; widths x2 and x4 multiply both channel "
                   "counts.",
                   BARE_CONVS),
        mac_lower_bound=_g1_lower_bound,
        argued_bound="memory", argued_because="MAC decides the time of an op that waits on memory",
        paper_notes=("The paper's ARM (Snapdragon 810, one thread) figures for G1 were measured at the "
                     "channel pairs (32,32), (22,44), (13,78) and (9,108), not at the GPU pairs used "
                     "here; they are shown for the shape of the table only.", ONLY_X1),
    ),
    Guideline(
        name="g2", title="G2: excessive group convolution increases MAC",
        rule="At a fixed number of multiply-adds, more groups allow wider channels, and the memory "
             "access cost of a 1x1 group conv rises with the group count.",
        table="Table 2", unit=GroupConv1x1, channel_keys=("channels",), in_channels="channels",
        rows=(Row("g=1", {"channels": 128, "groups": 1}, 2451),
              Row("g=2", {"channels": 180, "groups": 2}, 1725),
              Row("g=4", {"channels": 256, "groups": 4}, 1026),
              Row("g=8", {"channels": 360, "groups": 8}, 634)),
        decisions=("The network is ten 1x1 group convs c -> c; widths x2 and x4 multiply c.", BARE_CONVS),
        argued_bound="memory", argued_because="the MAC that groups add costs time only where an op waits "
                                              "on memory",
        paper_notes=(ONLY_X1,),
    ),
    Guideline(
        name="g3", title="G3: network fragmentation reduces degree of parallelism",
        rule="Splitting the same multiply-adds over more, smaller operators, in series or in parallel, "
             "adds launch and synchronisation overhead and uses wide parallel hardware less well.",
        table="Table 3", unit=Fragments, channel_keys=("channels",), in_channels="channels",
        rows=(Row("1-fragment", {"channels": 128, "fragments": 1, "arrangement": "series"}, 2446),
              Row("2-fragment-series", {"channels": 128, "fragments": 2, "arrangement": "series"}, 1790),
              Row("4-fragment-series", {"channels": 128, "fragments": 4, "arrangement": "series"}, 752),
              Row("2-fragment-parallel", {"channels": 128, "fragments": 2, "arrangement": "parallel"}, 1537),
              Row("4-fragment-parallel", {"channels": 128, "fragments": 4, "arrangement": "parallel"}, 691)),
        decisions=(G3_DERIVATION, BARE_CONVS),
        paper_notes=(ONLY_X1,),
        derive=_g3_derive, derivation=G3_DERIVATION,
        argued_bound="overhead", argued_because="each fragment pays a call's fixed cost, the paper's launch "
                                                "and synchronisation overhead",
    ),
    Guideline(
        name="g4", title="G4: element-wise operations are non-negligible",
        rule="ReLU, additions and other element-wise ops have few multiply-adds but real memory access "
             "cost; removing them from a block makes it measurably faster.",
        table="Table 4", unit=PlainBottleneck, channel_keys=("bottleneck_channels",),
        in_channels="bottleneck_channels", in_factor=PlainBottleneck.expansion,
        rows=(Row("ReLU + shortcut", {"bottleneck_channels": 32, "relu": True, "shortcut": True}, 2427),
              Row("ReLU, no shortcut", {"bottleneck_channels": 32, "relu": True, "shortcut": False}, 2647),
              Row("shortcut, no ReLU", {"bottleneck_channels": 32, "relu": False, "shortcut": True}, 2672),
              Row("neither", {"bottleneck_channels": 32, "relu": False, "shortcut": False}, 2842)),
        decisions=("c = 32 is the bottleneck width; as in ResNet the unit expands 4x, so it maps "
                   "128 -> 32 (1x1) -> 32 (3x3) -> 128 (1x1) channels at x1, ReLU after the first two "
                   "convs and after the add. Widths x2 and x4 multiply c.", BARE_CONVS),
        paper_notes=(ONLY_X1,),
        argued_bound="memory", argued_because="element-wise ops have no multiply-adds and wait on memory",
    ),
)}


