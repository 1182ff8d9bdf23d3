"""The guideline lab's computations (ShuffleNet V2, Ma et al. 2018, Sec. 2): each benchmark network's
analysis, and the Sec. 2 closed forms.

Every count comes from `analyse_graph()` on the meta device, so it follows the same definitions as
every block's; the closed forms serve the G2 slider and the G1 lower bound, and the tests check one
against the other. What the experiments are is `blockscope.guideline_catalogue`.
"""

import math
from collections.abc import Callable

import torch

from ..blocks.guidelines import STACK_DEPTH
from ..schemas import Graph, UnitDiagram
from .graph import analyse_graph
from .meta import on_meta

SIZE = 56  # input height = width in every experiment (Sec. 2)


def analyse_network(build: Callable[[int], torch.nn.Module], depth: int,
                    input_shape: list[int]) -> tuple[Graph, UnitDiagram]:
    """The whole stacked network's analysis, and one unit's diagram, on the meta device.

    `build(n)` builds the network of n units; the whole network has `depth`.
    """
    with on_meta():
        network, unit = build(depth), build(1)
    whole = analyse_graph(network, input_shape)
    return whole, unit_diagram(analyse_graph(unit, input_shape))


def unit_diagram(graph: Graph) -> UnitDiagram:
    """One unit's nodes and edges, trimmed to what a diagram draws."""
    return UnitDiagram(
        nodes=[n.model_dump(include={"id", "op", "label", "output_shape", "attrs"})
               for n in graph.nodes],
        edges=[e.model_dump(include={"source", "target"}) for e in graph.edges],
    )


def g3_width(c1: int, fragments: int) -> int:
    """Width of each of n fragments with the multiply-adds of one c1 -> c1 conv: n c^2 = c1^2 (Sec. 2, G3)."""
    return max(1, round(c1 / math.sqrt(fragments)))


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
