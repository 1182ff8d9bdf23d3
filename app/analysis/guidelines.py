"""ShuffleNet V2's four guideline experiments (Ma et al. 2018, Sec. 2, Tables 1-4): rows, configs,
published figures, the Sec. 2 closed forms, and the analysis of each stacked network.

Every count comes from `describe()` on the meta device, so it follows BLOCKS.md's definitions exactly;
the closed forms here serve the G2 slider and the G1 lower bound, and the tests check one against the other.
"""

import math
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import nn

from ..blocks.guidelines import STACK_DEPTH, Fragments, GroupConv1x1, PlainBottleneck, TwoConv1x1, stack
from .graph import describe
from .ops import numel

SIZE = 56  # input height = width in every experiment (Sec. 2)
WIDTH_MULTIPLIERS = (1, 2, 4)
GPU_UNIT, ARM_UNIT = "batches/s", "images/s"


@dataclass(frozen=True)
class Row:
    """One row of a paper table at width x1; `gpu`/`arm` are the published figures (None: not recorded).

    `arm_config` is set where the paper's ARM column was measured at other channel counts (G1).
    """
    label: str
    config: dict
    gpu: float | None = None
    arm: float | None = None
    arm_config: dict | None = None


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
    derive: object = field(default=None)  # optional (config at x1, width_multiplier) -> config


BARE_CONVS = ("Plain bias-free convolutions without BatchNorm, as in the paper's micro-benchmarks "
              "(at inference a BN folds into the conv before it), so a 1x1 conv's MAC is exactly "
              "hw(c1 + c2) + c1*c2/g.")
ONLY_X1 = "The published figures recorded here are the width x1 columns only; other widths show none."


def g3_width(c1: int, fragments: int) -> int:
    """Width of each of n fragments with the multiply-adds of one c1 -> c1 conv: n c^2 = c1^2 (Sec. 2, G3)."""
    return max(1, round(c1 / math.sqrt(fragments)))


def _g3_derive(config: dict, width_multiplier: int) -> dict:
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
        decisions=("Each unit is two 1x1 convs c1 -> c2 -> c1; widths x2 and x4 multiply both channel counts.",
                   BARE_CONVS),
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
        derive=_g3_derive,
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
    ),
)}


def row_config(guideline: Guideline, row: Row, width_multiplier: int) -> dict:
    """The unit's constructor arguments at this width (x2 and x4 multiply the channel counts)."""
    if guideline.derive is not None:
        return guideline.derive(row.config, width_multiplier)
    return {k: v * width_multiplier if k in guideline.channel_keys else v for k, v in row.config.items()}


def input_shape(guideline: Guideline, config: dict, batch: int) -> list[int]:
    return [batch, config[guideline.in_channels] * guideline.in_factor, SIZE, SIZE]


def build(guideline: Guideline, config: dict, depth: int = STACK_DEPTH) -> nn.Sequential:
    """The stacked benchmark network, in eval mode (build under `torch.device("meta")` to allocate nothing)."""
    return stack(guideline.unit, depth, **config).eval()


def _unit_diagram(description: dict) -> dict:
    """One unit's nodes and edges, trimmed to what a diagram draws."""
    return {
        "nodes": [{k: n[k] for k in ("id", "op", "label", "pos", "output_shape")} | {"attrs": n["attrs"]}
                  for n in description["nodes"]],
        "edges": [{"source": e["source"], "target": e["target"]} for e in description["edges"]],
    }


@lru_cache(maxsize=128)
def _analyse(name: str, width_multiplier: int, batch: int) -> tuple:
    guideline = GUIDELINES[name]
    rows = []
    for row in guideline.rows:
        config = row_config(guideline, row, width_multiplier)
        shape = input_shape(guideline, config, batch)
        with torch.device("meta"):
            network, unit = build(guideline, config), build(guideline, config, depth=1)
        whole = describe(network, shape)
        rows.append({
            "label": row.label,
            "config": config,
            "input_shape": shape,
            "totals": whole["totals"],
            "peak_activation_elements": peak_activation_elements(whole),
            "unit": _unit_diagram(describe(unit, shape)),
        })
    return tuple(rows)


def analyse(name: str, width_multiplier: int, batch: int) -> list[dict]:
    """Per row: config, input shape, totals of the whole stacked network, and one unit's diagram.

    Cached; callers get fresh top-level dicts but must not mutate the nested ones.
    """
    return [dict(r) for r in _analyse(name, width_multiplier, batch)]


def peak_activation_elements(description: dict) -> int:
    """The most activation elements alive at once in an eager forward pass of `description`.

    A tensor lives from the op that writes it until its last reader has run (the output lives on);
    an op's output is allocated while its inputs are still alive.
    """
    nodes = description["nodes"]
    last_use = {}
    for i, n in enumerate(nodes):
        for source in n["inputs"]:
            last_use[source] = i
    last_use[description["output_node"]] = len(nodes)
    sizes = {n["id"]: 0 if n["op"] == "chunk" else numel(n["output_shape"]) for n in nodes}
    live, peak = 0, 0
    for i, n in enumerate(nodes):
        live += sizes[n["id"]]  # a chunk is a view of its input (none in these networks)
        peak = max(peak, live)
        for source in set(n["inputs"]):
            if last_use.get(source) == i:
                live -= sizes[source]
    return peak


# --- Sec. 2 closed forms -------------------------------------------------------------------------

def conv1x1_madds(c1: int, c2: int, groups: int = 1, hw: int = SIZE * SIZE, batch: int = 1) -> int:
    """B = h w c1 c2 / g multiply-adds of a 1x1 group conv (Sec. 2, Eq. 2), times the batch."""
    return batch * hw * c1 * c2 // groups


def conv1x1_mac(c1: int, c2: int, groups: int = 1, hw: int = SIZE * SIZE, batch: int = 1) -> int:
    """MAC = h w (c1 + c2) + c1 c2 / g (Sec. 2, Eq. 2): feature maps read and written, plus weights."""
    return batch * hw * (c1 + c2) + c1 * c2 // groups


def g1_lower_bound(madds: float, hw: int = SIZE * SIZE, batch: int = 1) -> float:
    """MAC >= 2 sqrt(hw B) + B / hw for a 1x1 conv of B multiply-adds (Sec. 2, Eq. 1), equal iff c1 = c2.

    With a batch of N the feature-map terms scale with N hw and the weights do not:
    MAC >= 2 sqrt(N hw B) + B / (N hw).
    """
    n_hw = batch * hw
    return 2 * math.sqrt(n_hw * madds) + madds / n_hw


def g2_width(channels: int, groups: int) -> int:
    """The multiple of g whose 1x1 group conv c -> c comes closest to the multiply-adds of a plain conv of
    `channels` (hw c^2 / g = hw channels^2, so c = channels sqrt(g); Sec. 2, G2)."""
    ideal = channels * math.sqrt(groups)
    low = max(groups, math.floor(ideal / groups) * groups)
    candidates = (low, low + groups)
    return min(candidates, key=lambda c: (abs(c * c / groups - channels * channels), c))


def g2_sweep(channels: int, batch: int = 1, max_groups: int = 16, depth: int = STACK_DEPTH) -> list[dict]:
    """G2's network (ten 1x1 group convs) for g = 1..max_groups at the multiply-adds of g = 1."""
    target = depth * conv1x1_madds(channels, channels, 1, batch=batch)
    points = []
    for g in range(1, max_groups + 1):
        c = g2_width(channels, g)
        madds = depth * conv1x1_madds(c, c, g, batch=batch)
        points.append({"groups": g, "channels": c, "madds": madds,
                       "mac": depth * conv1x1_mac(c, c, g, batch=batch),
                       "madds_deviation": madds / target - 1})
    return points
