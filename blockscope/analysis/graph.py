"""Trace a block with torch.fx, propagate shapes, and analyse every op as a node with its counts."""

import operator
import threading
from dataclasses import dataclass

import torch
from torch import fx, nn

from ..blocks.shuffle import shuffle_permutation
from ..cache import BoundedCache
from ..schemas import Edge, Graph, Node, Permutation, Totals
from . import ops
from . import shapes as shapes_by_rule

INPUT_ID = "x"


# torch.fx patches nn.Module.__call__ and __getattr__ process-wide while it traces: one trace at a
# time, and module calls from other threads (a measurement, a shape pass) run untouched meanwhile.
_TRACE_LOCK = threading.Lock()


class _PathTracer(fx.Tracer):
    """A tracer that remembers which submodule each node was created in (for `module`)."""

    _thread: int | None = None

    def trace(self, root, concrete_args=None):
        with _TRACE_LOCK:
            self._thread = threading.get_ident()
            try:
                return super().trace(root, concrete_args)
            finally:
                self._thread = None

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        if threading.get_ident() != self._thread:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def __init__(self):
        # No autowrapping of `math`: blocks never call it, and patching it costs most of a trace.
        super().__init__(autowrap_modules=(), autowrap_functions=())
        self._paths: list[str] = []

    def call_module(self, m, forward, args, kwargs):
        if threading.get_ident() != self._thread:
            return forward(*args, **kwargs)
        self._paths.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self._paths.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["module_path"] = self._paths[-1] if self._paths else ""
        return node


def trace(module: nn.Module) -> fx.GraphModule:
    tracer = _PathTracer()
    graph = tracer.trace(module)
    return fx.GraphModule(tracer.root, graph)


class _ShapeRecorder(fx.Interpreter):
    """Shape propagation with meta tensors straight over the traced graph (no GraphModule code
    generation): PyTorch's own answer, or its own error, for what `shapes.propagate` has no rule
    for. Some meta kernels are slow Python decompositions (the first imports torch._dynamo)."""

    def __init__(self, module, graph):
        super().__init__(module, graph=graph)
        self.shapes: dict[fx.Node, list[int]] = {}

    def run_node(self, n: fx.Node):
        out = super().run_node(n)
        if isinstance(out, torch.Tensor):
            self.shapes[n] = list(out.shape)
        return out


def _plain(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return isinstance(value, (bool, int, float, str, type(None)))


# nn.Module's own bookkeeping (hooks, the children's dicts): never a flag a block sets
_MODULE_INTERNALS = frozenset(vars(nn.Module())) - {"training"}


def _structure(modules: dict[str, nn.Module]) -> tuple:
    """What a block's traced graph depends on: its module tree and the plain attributes that steer
    `forward` (a residual flag, the stride, an optional branch set to None) of every module whose
    class is not PyTorch's own. Channel counts of PyTorch layers do not change the graph."""
    key = []
    for name, m in modules.items():
        flags = ()
        if not type(m).__module__.startswith("torch."):
            flags = tuple(sorted((k, v) for k, v in vars(m).items()
                                 if k not in _MODULE_INTERNALS and _plain(v)))
        key.append((name, type(m), flags))
    return tuple(key)


def _graph_of(module: nn.Module, modules: dict[str, nn.Module] | None = None) -> fx.Graph:
    """The traced graph, shared by every block of the same structure (the slider's common case:
    a new group count re-uses the graph, only shapes and counts are computed again). `modules`:
    the block's `named_modules()`, when they are at hand."""
    key = _structure(modules if modules is not None else dict(module.named_modules()))
    return _GRAPHS.get_or_compute(key, lambda: _PathTracer().trace(module))


_GRAPHS: BoundedCache[tuple, fx.Graph] = BoundedCache("graphs", "graph_cache")


def _propagate_shapes(module: nn.Module, modules: dict[str, nn.Module],
                      input_shape: list[int]) -> tuple[fx.Graph, dict]:
    graph = _graph_of(module, modules)
    found = shapes_by_rule.propagate(modules, graph, input_shape)
    if found is not None:
        return graph, found
    # Values are never needed, only shapes: a module without weights runs on the meta device.
    tensors = [*module.parameters(), *module.buffers()]
    device = tensors[0].device if tensors else torch.device("meta")
    recorder = _ShapeRecorder(module, graph)
    with torch.inference_mode():
        recorder.run(torch.empty(input_shape, device=device))
    return graph, recorder.shapes


@dataclass
class Source:
    """Where a value comes from: a node id and its shape (several values can share a node: chunk)."""
    node: str
    shape: list[int]


def _tensor_args(node: fx.Node) -> list[fx.Node]:
    found = []
    fx.node.map_arg((node.args, node.kwargs), lambda a: found.append(a))
    return found


def classify(root: nn.Module, node: fx.Node, modules: dict[str, nn.Module] | None = None):
    """(op name, owning module or None) for a node; op None means "fold into its input".
    `modules`: the root's `named_modules()`, when they are at hand."""
    if node.op == "call_module":
        module = modules[node.target] if modules is not None else root.get_submodule(node.target)
        if isinstance(module, ops.PASS_THROUGH):
            return None, module
        op = ops.MODULE_OPS.get(type(module))
        if op is None:
            raise TypeError(f"no description for module {type(module).__name__}")
        return op, module
    if node.op == "call_function":
        if node.target is operator.getitem:
            return None, None
        return ops.FUNCTION_OPS[node.target], None
    if node.op == "call_method":
        return ops.METHOD_OPS[node.target], None
    raise TypeError(f"unexpected fx node {node.op}")


@dataclass
class Record:
    """One analysed op: a Node's fields but its position (known once every node is in)."""
    id: str
    op: str
    label: str
    module: str
    attrs: dict
    inputs: list[str]
    input_shapes: list[list[int]]
    output_shape: list[int]
    params: int
    madds: int
    mac: int
    elementwise: int


@dataclass
class Tally:
    """What the counts of a block need, without its diagram: its ops in order, each with its counts,
    the node its output comes from, and the totals. `analysis.memory` reads it as it reads a Graph."""
    input_shape: list[int]
    output_shape: list[int]
    output_node: str
    nodes: list[Record]
    edges: list[tuple[str, str, list[int]]]  # (source, target, shape): Edges once drawn
    totals: Totals

    def ops(self) -> tuple[str, ...]:
        return tuple(n.op for n in self.nodes)


def ops_of(module: nn.Module) -> tuple[str, ...]:
    """The ops `tally` lists for `module`, in its order, read off the traced graph: no shape is
    propagated, so this costs a fraction of a tally (a sweep skips blocks of another structure)."""
    found = []
    modules = dict(module.named_modules())
    for node in _graph_of(module, modules).nodes:
        if node.op == "placeholder":
            found.append("input")
        elif node.op not in ("output", "get_attr"):
            op, _ = classify(module, node, modules)
            if op is not None:
                found.append(op)
    return tuple(found)


def tally(module: nn.Module, input_shape: list[int]) -> Tally:
    """Every op of `module` on an input of `input_shape` with its shapes and counts, and the totals.

    Works on any device; on the meta device it allocates nothing, so it is safe for any size.
    """
    modules = dict(module.named_modules())
    graph, shapes = _propagate_shapes(module, modules, input_shape)

    sources: dict[fx.Node, Source] = {}
    records: list[Record] = []
    edges: list[tuple[str, str, list[int]]] = []
    for node in graph.nodes:
        if node.op == "placeholder":
            sources[node] = Source(INPUT_ID, list(input_shape))
            records.append(Record(INPUT_ID, "input", "Input", "", {}, [], [], list(input_shape), 0, 0, 0, 0))
            continue
        if node.op in ("output", "get_attr"):
            continue
        op, module_ = classify(module, node, modules)
        if op is None:
            # views with no work of their own: a piece of a chunk, or an identity
            parent = sources[node.args[0]]
            sources[node] = Source(parent.node, shapes[node])
            continue
        inputs = [sources[a] for a in _tensor_args(node)]
        in_shapes = [s.shape for s in inputs]
        # a chunk's output is a tuple of views: its "output" is its input, read in pieces
        out_shape = list(in_shapes[0]) if op == "chunk" else shapes[node]
        if module_ is not None:
            attrs, label = ops.module_attrs_and_label(op, module_)
            params = _own_params(module_)
        else:
            attrs, label, params = _function_attrs(op, node), ops.FUNCTION_LABELS[op], 0
        records.append(Record(node.name, op, label, node.meta["module_path"], attrs, [s.node for s in inputs],
                              in_shapes, out_shape, params, ops.madds(op, module_, out_shape),
                              ops.mac(op, in_shapes, out_shape, params), ops.elementwise(op, out_shape)))
        edges.extend((s.node, node.name, s.shape) for s in inputs)
        sources[node] = Source(node.name, out_shape)

    output_node = next(n for n in graph.nodes if n.op == "output")
    final = sources[output_node.args[0]]
    return Tally(list(input_shape), final.shape, final.node, records, edges, _totals(modules, records))


def analyse_graph(module: nn.Module, input_shape: list[int]) -> Graph:
    """Nodes, edges and totals of `module` on an input of `input_shape`, laid out for a diagram.

    Works on any device; on the meta device it allocates nothing, so it is safe for any size.
    """
    return diagram(tally(module, input_shape))


def diagram(t: Tally) -> Graph:
    """A tally as the graph a diagram draws (the page lays it out), with every channel shuffle's
    permutation."""
    nodes = [Node(**vars(r)) for r in t.nodes]
    return Graph(
        input_shape=t.input_shape,
        output_shape=t.output_shape,
        output_node=t.output_node,
        nodes=nodes,
        edges=[Edge(source=source, target=target, shape=shape) for source, target, shape in t.edges],
        permutations=[
            Permutation(node=n.id, channels=n.input_shapes[0][1], groups=n.attrs["groups"],
                        permutation=shuffle_permutation(n.input_shapes[0][1], n.attrs["groups"]))
            for n in nodes if n.op == "channel_shuffle"
        ],
        totals=t.totals,
    )


def _function_attrs(op: str, node: fx.Node) -> dict:
    if op == "cat":
        return {"dim": node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)}
    if op == "chunk":
        dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
        return {"chunks": node.args[1], "dim": dim}
    return {}


def _own_params(module: nn.Module) -> int:
    """The parameters a module holds itself (not its children's)."""
    return sum(p.numel() for p in module._parameters.values() if p is not None)


def _totals(modules: dict[str, nn.Module], nodes: list[Record]) -> Totals:
    # every parameter once, as module.parameters() counts them (a shared one is not counted twice)
    params = {id(p): p.numel() for m in modules.values() for p in m._parameters.values() if p is not None}
    mac = sum(n.mac for n in nodes)
    return Totals(
        params=sum(params.values()),
        madds=sum(n.madds for n in nodes),
        mac=mac,
        mac_bytes=mac * ops.ELEMENT_SIZE,
        elementwise=sum(n.elementwise for n in nodes),
    )
