"""Trace a block with torch.fx, propagate shapes, and analyse every op as a node with its counts."""

import operator
import threading
from dataclasses import dataclass

import torch
from torch import fx, nn

from ..blocks.shuffle import shuffle_permutation
from ..cache import BoundedCache
from ..schemas import Edge, Graph, Node, Permutation, Position, Totals
from . import ops

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


# Modules whose output has their input's shape; their meta kernels are slow Python decompositions.
_SAME_SHAPE = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Hardsigmoid, nn.SiLU, nn.Hardswish,
               nn.ChannelShuffle, nn.Identity, nn.Dropout)


_BROADCASTING = {operator.add, operator.mul, torch.add, torch.mul}


class _ShapeRecorder(fx.Interpreter):
    """Shape propagation straight over the traced graph (no GraphModule code generation)."""

    # Some meta kernels are slow Python decompositions (the first one also imports torch._dynamo,
    # a second or more); where the output shape is a one-line rule, apply the rule instead.

    def call_module(self, target, args, kwargs):
        module = self.submodules[target]
        x = args[0]
        if x.is_meta and type(module) in _SAME_SHAPE:
            return x
        if x.is_meta and type(module) is nn.AdaptiveAvgPool2d:
            return torch.empty(*x.shape[:-2], *nn.modules.utils._pair(module.output_size), device="meta")
        return super().call_module(target, args, kwargs)

    def call_function(self, target, args, kwargs):
        if target in _BROADCASTING and all(isinstance(a, torch.Tensor) and a.is_meta for a in args):
            return torch.empty(torch.broadcast_shapes(*(a.shape for a in args)), device="meta")
        if target is torch.cat and all(t.is_meta for t in args[0]):
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            shape = list(args[0][0].shape)
            shape[dim] = sum(t.shape[dim] for t in args[0])
            return torch.empty(shape, device="meta")
        return super().call_function(target, args, kwargs)

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


def _structure(module: nn.Module) -> tuple:
    """What a block's traced graph depends on: its module tree and the plain attributes that steer
    `forward` (a residual flag, the stride, an optional branch set to None) of every module whose
    class is not PyTorch's own. Channel counts of PyTorch layers do not change the graph."""
    key = []
    for name, m in module.named_modules():
        flags = ()
        if not type(m).__module__.startswith("torch."):
            flags = tuple(sorted((k, v) for k, v in vars(m).items() if _plain(v)))
        key.append((name, type(m), flags))
    return tuple(key)


def _graph_of(module: nn.Module) -> fx.Graph:
    """The traced graph, shared by every block of the same structure (the slider's common case:
    a new group count re-uses the graph, only shapes and counts are computed again)."""
    return _GRAPHS.get_or_compute(_structure(module), lambda: _PathTracer().trace(module))


_GRAPHS: BoundedCache[tuple, fx.Graph] = BoundedCache("graphs", "graph_cache")


def _propagate_shapes(module: nn.Module, input_shape: list[int]) -> tuple[fx.Graph, dict]:
    graph = _graph_of(module)
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


def classify(root: nn.Module, node: fx.Node):
    """(op name, owning module or None) for a node; op None means "fold into its input"."""
    if node.op == "call_module":
        module = root.get_submodule(node.target)
        if isinstance(module, ops.PASS_THROUGH):
            return None, module
        for cls, op in ops.MODULE_OPS.items():
            if type(module) is cls:
                return op, module
        raise TypeError(f"no description for module {type(module).__name__}")
    if node.op == "call_function":
        if node.target is operator.getitem:
            return None, None
        return ops.FUNCTION_OPS[node.target], None
    if node.op == "call_method":
        return ops.METHOD_OPS[node.target], None
    raise TypeError(f"unexpected fx node {node.op}")


def analyse_graph(module: nn.Module, input_shape: list[int]) -> Graph:
    """Nodes, edges and totals of `module` on an input of `input_shape`.

    Works on any device; on the meta device it allocates nothing, so it is safe for any size.
    """
    graph, shapes = _propagate_shapes(module, input_shape)

    sources: dict[fx.Node, Source] = {}
    records: list[dict] = []  # the fields of each Node but its position, known once all are in
    edges: list[Edge] = []
    for node in graph.nodes:
        if node.op == "placeholder":
            sources[node] = Source(INPUT_ID, list(input_shape))
            records.append(dict(id=INPUT_ID, op="input", label="Input", module="", attrs={}, inputs=[],
                                input_shapes=[], output_shape=list(input_shape), params=0, madds=0,
                                mac=0, elementwise=0))
            continue
        if node.op in ("output", "get_attr"):
            continue
        op, module_ = classify(module, node)
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
            params = sum(p.numel() for p in module_.parameters())
        else:
            attrs, label, params = _function_attrs(op, node), ops.FUNCTION_LABELS[op], 0
        records.append(dict(id=node.name, op=op, label=label, module=node.meta["module_path"], attrs=attrs,
                            inputs=[s.node for s in inputs], input_shapes=in_shapes, output_shape=out_shape,
                            params=params, madds=ops.madds(op, module_, out_shape),
                            mac=ops.mac(op, in_shapes, out_shape, params),
                            elementwise=ops.elementwise(op, out_shape)))
        edges.extend(Edge(source=s.node, target=node.name, shape=s.shape) for s in inputs)
        sources[node] = Source(node.name, out_shape)

    output_node = next(n for n in graph.nodes if n.op == "output")
    final = sources[output_node.args[0]]
    positions = _layout(records)
    nodes = [Node(**r, pos=positions[r["id"]]) for r in records]
    return Graph(
        input_shape=list(input_shape),
        output_shape=final.shape,
        output_node=final.node,
        nodes=nodes,
        edges=edges,
        permutations=[
            Permutation(node=n.id, channels=n.input_shapes[0][1], groups=n.attrs["groups"],
                        permutation=shuffle_permutation(n.input_shapes[0][1], n.attrs["groups"]))
            for n in nodes if n.op == "channel_shuffle"
        ],
        totals=_totals(module, nodes),
    )


def _function_attrs(op: str, node: fx.Node) -> dict:
    if op == "cat":
        return {"dim": node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)}
    if op == "chunk":
        dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
        return {"chunks": node.args[1], "dim": dim}
    return {}


def _totals(module: nn.Module, nodes: list[Node]) -> Totals:
    mac = sum(n.mac for n in nodes)
    return Totals(
        params=sum(p.numel() for p in module.parameters()),
        madds=sum(n.madds for n in nodes),
        mac=mac,
        mac_bytes=mac * ops.ELEMENT_SIZE,
        elementwise=sum(n.elementwise for n in nodes),
    )


def _layout(records: list[dict]) -> dict[str, Position]:
    """Layered layout: y is the longest path from the input, x spreads a layer's nodes around 0."""
    depth: dict[str, int] = {}
    for r in records:  # fx order is topological
        depth[r["id"]] = 1 + max((depth[i] for i in r["inputs"]), default=-1)
    layers: dict[int, list[str]] = {}
    for r in records:
        layers.setdefault(depth[r["id"]], []).append(r["id"])
    return {id_: Position(x=i - (len(layer) - 1) / 2, y=y)
            for y, layer in layers.items() for i, id_ in enumerate(layer)}
