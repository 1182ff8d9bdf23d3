"""Every op's output shape by its rule, in plain integers: no tensor is made, not even on the meta device.

Propagating meta tensors through the traced graph costs most of an analysis (each op dispatches,
some through Python decompositions); the ops blocks use have one-line shape rules, as PyTorch's
documentation gives them. Where an op has no rule here, or a rule meets an input too small for it,
`propagate` answers None and the caller runs the meta tensors instead, which give PyTorch's own
answer or its own error. tests/test_shapes.py holds the rules to the meta tensors' shapes.
"""

import math
import operator

import torch
from torch import fx, nn

Shape = tuple[int, ...]

# Modules whose output has their input's shape.
SAME_SHAPE = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Hardsigmoid, nn.SiLU, nn.Hardswish,
              nn.ChannelShuffle, nn.Identity, nn.Dropout)
# Tensor functions whose output is their operands' broadcast shape.
BROADCASTING = {operator.add, operator.mul, torch.add, torch.mul}


class _NoRule(Exception):
    """An op without a rule here, or a rule that meets an input it would refuse."""


def _dim(dim: int, rank: int) -> int:
    """`dim` as an index into a shape of `rank` dimensions (PyTorch's negative dims wrap)."""
    if not isinstance(dim, int) or not -rank <= dim < rank:
        raise _NoRule  # PyTorch raises its IndexError
    return dim % rank


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    raise _NoRule  # e.g. padding="same"


def _window(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a sliding window (PyTorch's Conv2d and pooling docs, ceil_mode off)."""
    if kernel < 1 or stride < 1 or padding < 0 or dilation < 1:
        raise _NoRule
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise _NoRule  # the meta tensors raise PyTorch's own error
    return out


def _spatial(x: Shape, kernel, stride, padding, dilation=1, pool: bool = False) -> Shape:
    if len(x) != 4:
        raise _NoRule
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    # pooling refuses padding over half its (dilated) window
    if pool and any(p[i] > ((k[i] - 1) * d[i] + 1) // 2 for i in range(2)):
        raise _NoRule
    return tuple(_window(x[2 + i], k[i], s[i], p[i], d[i]) for i in range(2))


def _channels(x: Shape, channels: int) -> None:
    """A layer made for `channels` input channels meets a 4-d input with that many, or no rule."""
    if len(x) != 4 or x[1] != channels:
        raise _NoRule


def _module(m: nn.Module, x: Shape) -> Shape:
    kind = type(m)
    if kind is nn.BatchNorm2d:
        _channels(x, m.num_features)
        return x
    if kind is nn.ChannelShuffle:
        if len(x) != 4 or x[1] % m.groups:
            raise _NoRule
        return x
    if kind in SAME_SHAPE:
        return x
    if kind is nn.Conv2d:
        if m.padding_mode != "zeros":
            raise _NoRule  # reflection and the like limit the padding: left to PyTorch
        _channels(x, m.in_channels)
        return (x[0], m.out_channels, *_spatial(x, m.kernel_size, m.stride, m.padding, m.dilation))
    if kind is nn.AvgPool2d and not m.ceil_mode:
        return (*x[:2], *_spatial(x, m.kernel_size, m.stride or m.kernel_size, m.padding, pool=True))
    if kind is nn.MaxPool2d and not m.ceil_mode:
        return (*x[:2], *_spatial(x, m.kernel_size, m.stride or m.kernel_size, m.padding, m.dilation,
                                  pool=True))
    if kind is nn.AdaptiveAvgPool2d and len(x) == 4:
        size = m.output_size if isinstance(m.output_size, tuple | list) else (m.output_size,) * 2
        if len(size) != 2 or not all(s is None or (isinstance(s, int) and s >= 1) for s in size):
            raise _NoRule
        return (*x[:2], *(x[2 + i] if size[i] is None else size[i] for i in range(2)))
    if kind is nn.Linear and len(x) >= 1 and x[-1] == m.in_features:
        return (*x[:-1], m.out_features)
    if kind is nn.Flatten:
        return _flatten(x, m.start_dim, m.end_dim)
    raise _NoRule


def _flatten(x: Shape, start_dim: int = 0, end_dim: int = -1) -> Shape:
    if not x:
        raise _NoRule  # a 0-d tensor: left to PyTorch
    start, end = _dim(start_dim, len(x)), _dim(end_dim, len(x))
    if start > end:
        raise _NoRule  # PyTorch refuses it
    return (*x[:start], math.prod(x[start:end + 1]), *x[end + 1:])


def _broadcast(shapes: list) -> Shape:
    if not all(isinstance(s, tuple) for s in shapes):
        raise _NoRule  # a Python number among the operands
    rank = max(len(s) for s in shapes)
    out = []
    for sizes in zip(*((1,) * (rank - len(s)) + s for s in shapes), strict=True):  # aligned from the right
        wanted = {d for d in sizes if d != 1}
        if len(wanted) > 1:
            raise _NoRule  # sizes that do not broadcast: PyTorch raises its own error
        out.append(wanted.pop() if wanted else 1)
    return tuple(out)


def _chunk(x: Shape, chunks: int, dim: int = 0) -> list[Shape]:
    """torch.chunk: pieces of ceil(n / chunks) along `dim`, the last one smaller (fewer pieces when
    they run out)."""
    dim = _dim(dim, len(x))
    n = x[dim]
    if not isinstance(chunks, int) or chunks < 1 or n < 1:
        raise _NoRule
    size = -(-n // chunks)
    pieces = [size] * (n // size) + ([n % size] if n % size else [])
    return [(*x[:dim], p, *x[dim + 1:]) for p in pieces]


def _cat(shapes: list[Shape], dim: int = 0) -> Shape:
    if not shapes or not all(isinstance(s, tuple) for s in shapes):
        raise _NoRule
    first = shapes[0]
    dim = _dim(dim, len(first))
    # every other dimension must agree, as torch.cat demands
    if any(len(s) != len(first) or s[:dim] + s[dim + 1:] != first[:dim] + first[dim + 1:] for s in shapes):
        raise _NoRule
    return (*first[:dim], sum(s[dim] for s in shapes), *first[dim + 1:])


def _function(target, args: tuple, kwargs: dict):
    if target in BROADCASTING:
        if kwargs or len(args) != 2:
            raise _NoRule  # alpha=, out=: left to PyTorch
        return _broadcast(list(args))
    if target is torch.cat:
        return _cat(args[0], *args[1:], **kwargs)
    if target is torch.chunk:
        return _chunk(*args, **kwargs)
    if target is torch.flatten:
        return _flatten(*args, **kwargs)
    if target is operator.getitem and isinstance(args[0], list) and isinstance(args[1], int):
        return args[0][args[1]]
    raise _NoRule


_METHODS = {"add": operator.add, "mul": operator.mul, "chunk": torch.chunk, "flatten": torch.flatten}


def propagate(modules: dict[str, nn.Module], graph: fx.Graph,
              input_shape: list[int]) -> dict[fx.Node, list[int]] | None:
    """Every tensor-valued node's output shape, or None where some op needs the meta tensors
    (`modules`: the block's `named_modules()`)."""
    env: dict[fx.Node, object] = {}
    shapes: dict[fx.Node, list[int]] = {}
    try:
        for node in graph.nodes:
            if node.op == "output":
                continue
            if node.op == "placeholder":
                out = tuple(input_shape)
            else:
                args = fx.node.map_arg(node.args, env.__getitem__)
                kwargs = fx.node.map_arg(node.kwargs, env.__getitem__)
                if node.op == "call_module":
                    out = _module(modules[node.target], args[0])
                elif node.op == "call_function":
                    out = _function(node.target, args, kwargs)
                elif node.op == "call_method" and node.target in _METHODS:
                    out = _function(_METHODS[node.target], args, kwargs)
                else:
                    raise _NoRule
            env[node] = out
            if isinstance(out, tuple):
                shapes[node] = list(out)
    except (_NoRule, KeyError, TypeError, IndexError, ValueError, RuntimeError, ArithmeticError):
        return None
    return shapes
