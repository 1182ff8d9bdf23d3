"""How much memory running a module needs, from its graph analysis alone (nothing is allocated).

One model for every job that runs real tensors: the weights, the input, and the activations alive
at the worst moment. An eager forward pass frees a tensor once its last reader has run; timing op
by op keeps every op's recorded input alive, so then every activation counts at once.
"""

from ..schemas import Graph
from .graph import Tally
from .ops import ELEMENT_SIZE, numel


def _sizes(graph: Graph | Tally) -> dict[str, int]:
    # a chunk's pieces are views of its input: they hold no memory of their own
    return {n.id: 0 if n.op == "chunk" else numel(n.output_shape) for n in graph.nodes}


def peak_activation_elements(graph: Graph | Tally) -> int:
    """The most activation elements alive at once in an eager forward pass, the input included.

    A tensor lives from the op that writes it until its last reader has run (the output lives on);
    an op's output is allocated while its inputs are still alive.
    """
    last_use = {}
    for i, n in enumerate(graph.nodes):
        for source in n.inputs:
            last_use[source] = i
    last_use[graph.output_node] = len(graph.nodes)
    sizes = _sizes(graph)
    live = peak = 0
    for i, n in enumerate(graph.nodes):
        live += sizes[n.id]
        peak = max(peak, live)
        for source in set(n.inputs):
            if last_use.get(source) == i:
                live -= sizes[source]
    return peak


def all_activation_elements(graph: Graph | Tally) -> int:
    """Every activation of one pass, the input included: what timing op by op keeps alive."""
    return sum(_sizes(graph).values())


def bytes_needed(graph: Graph | Tally, *, every_activation: bool, extra_weight_copies: int = 0) -> int:
    """Bytes to run the module once: weights (plus `extra_weight_copies` more, e.g. a deployed
    copy and its fused kernels) and activations, all of them or the peak of a plain pass."""
    activations = all_activation_elements(graph) if every_activation else peak_activation_elements(graph)
    return (graph.totals.params * (1 + extra_weight_copies) + activations) * ELEMENT_SIZE
