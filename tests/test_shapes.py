"""Shapes by rule (analysis/shapes.py) against PyTorch's meta tensors; building on the meta device."""

import threading

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from blockscope.analysis import graph, shapes
from blockscope.analysis.meta import on_meta
from blockscope.networks.build import build_network
from blockscope.networks.catalogue import NETWORKS
from blockscope.registry import BLOCKS
from blockscope.service.blocks import construct, resolve

from . import networks
from .configs import random_configs


def meta_tensor_shapes(module: nn.Module, shape: list[int]) -> dict:
    """Every node's shape as the meta tensors give it: the fall-back the rules stand in for."""
    recorder = graph._ShapeRecorder(module, graph._graph_of(module))
    with torch.inference_mode():
        recorder.run(torch.empty(shape, device="meta"))
    return {node: s for node, s in recorder.shapes.items() if node.op != "output"}


def by_rule(module: nn.Module, shape: list[int]) -> dict | None:
    return shapes.propagate(dict(module.named_modules()), graph._graph_of(module), shape)


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_every_rule_gives_the_meta_tensors_shapes_on_random_blocks(kind):
    spec = BLOCKS[kind]
    for config in random_configs(spec, 8, seed=5):
        module = construct(resolve(spec.kind, config), "meta")
        found = by_rule(module, resolve(spec.kind, config).input_shape)
        assert found is not None, config  # every op blocks use has a rule
        assert found == meta_tensor_shapes(module, resolve(spec.kind, config).input_shape), config


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.slow
def test_rules_give_whole_networks_shapes(name):
    with on_meta():
        module = build_network(NETWORKS[name])
    for shape in ([1, 3, 224, 224], [2, 3, 97, 131]):
        found = by_rule(module, shape)
        assert found is not None and found == meta_tensor_shapes(module, shape)


@pytest.mark.parametrize("build", [networks.mobilenet_v2, networks.mobilenet_v3_large])
def test_rules_agree_on_networks_assembled_elsewhere(build):
    with on_meta():
        module = build().eval()
    assert by_rule(module, [1, 3, 224, 224]) == meta_tensor_shapes(module, [1, 3, 224, 224])


def test_an_input_too_small_is_left_to_pytorch_which_refuses_it():
    with on_meta():
        module = nn.Sequential(nn.Conv2d(1, 1, 5))  # no padding: a 3 x 3 input is too small
    assert by_rule(module, [1, 1, 5, 5]) == meta_tensor_shapes(module, [1, 1, 5, 5])
    assert by_rule(module, [1, 1, 3, 3]) is None
    with pytest.raises(RuntimeError):
        graph.tally(module, [1, 1, 3, 3])  # PyTorch's own error (the service answers it with a 422)


class _Call(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn, self.layers = fn, nn.ModuleList(layers)

    def forward(self, x):
        return self.fn(x, *self.layers)


REFUSED = {  # what PyTorch refuses must be refused with PyTorch's error, not answered by a rule
    "flatten start after end": _Call(lambda x: torch.flatten(x, 3, 1)),
    "flatten past the last dim": _Call(lambda x: torch.flatten(x, 5)),
    "chunk past the last dim": _Call(lambda x: torch.chunk(x, 2, 7)),
    "cat of unequal other dims": _Call(lambda x: torch.cat([x, x[:, :, :2]], 1)),
    "pooling padded over half its window": _Call(lambda x, p: p(x), nn.AvgPool2d(2, 1, 2)),
    "reflection padding as wide as the input": _Call(lambda x, c: c(x), nn.Conv2d(2, 2, 9, padding=4,
                                                                                   padding_mode="reflect")),
    "batch norm of other channels": _Call(lambda x, b: b(x), nn.BatchNorm2d(3)),
    "a shuffle that does not divide": _Call(lambda x, s: s(x), nn.ChannelShuffle(3)),
    "a sum of shapes that do not broadcast": _Call(lambda x: x + torch.flatten(x, 2)),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_no_rule_answers_what_pytorch_refuses(name):
    module = REFUSED[name].eval()
    shape = [1, 2, 3, 3]
    assert by_rule(module, shape) is None
    with pytest.raises((RuntimeError, IndexError, ValueError)):
        graph.tally(meta_copy(module), shape)


def test_broadcasting_by_rule_is_pytorchs():
    rng = torch.Generator().manual_seed(3)
    for _ in range(300):
        rank_a, rank_b = torch.randint(1, 5, (2,), generator=rng).tolist()
        a = tuple(torch.randint(0, 4, (rank_a,), generator=rng).tolist())
        b = tuple(torch.randint(0, 4, (rank_b,), generator=rng).tolist())
        try:
            expected = tuple(torch.broadcast_shapes(a, b))
        except RuntimeError:
            with pytest.raises(shapes._NoRule):
                shapes._broadcast([a, b])
        else:
            assert shapes._broadcast([a, b]) == expected, (a, b)


def meta_copy(module: nn.Module) -> nn.Module:
    return module.to_empty(device="meta")


def test_an_op_without_a_rule_falls_back_to_the_meta_tensors():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.transpose(x, 2, 3)  # no rule for this: the meta tensors decide

    module = Odd()
    assert by_rule(module, [1, 2, 3, 5]) is None
    found = graph._propagate_shapes(module, dict(module.named_modules()), [1, 2, 3, 5])[1]
    assert [s for node, s in found.items() if node.target is torch.transpose] == [[1, 2, 5, 3]]


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_ops_read_off_the_graph_are_the_tallys(kind):
    spec = BLOCKS[kind]
    for config in random_configs(spec, 4, seed=6):
        module = construct(resolve(spec.kind, config), "meta")
        assert graph.ops_of(module) == graph.tally(module, resolve(spec.kind, config).input_shape).ops()


class _Dispatched(TorchDispatchMode):
    """The ATen ops that reach the dispatcher: what PyTorch really runs, on any device."""

    def __init__(self):
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.__name__)
        return func(*args, **(kwargs or {}))


INITIALISING = ("uniform_", "normal_", "fill_", "zero_")


def test_blocks_built_on_meta_hold_no_memory_and_skip_initialisation():
    spec = BLOCKS["resnext_bottleneck"]
    with torch.device("meta"), _Dispatched() as plain:  # the control: PyTorch's own meta build
        spec.build(spec.defaults())
    assert any(op.startswith(INITIALISING) for op in plain.ops)
    with on_meta(), _Dispatched() as ours:
        block = spec.build(spec.defaults())
        real = nn.init.uniform_(torch.zeros(4, 4, device="cpu"), 1.0, 2.0)  # asked for by name
    tensors = [*block.parameters(), *block.buffers()]
    assert tensors and all(t.is_meta for t in tensors)
    assert [op for op in ours.ops if op.startswith(INITIALISING)] == ["uniform_.default"]  # the real one
    assert real.min() >= 1.0  # a real tensor is still initialised


def test_a_real_block_built_meanwhile_in_another_thread_is_initialised():
    inside, done = threading.Event(), threading.Event()
    built = {}

    def real():
        inside.wait(5)
        built["conv"] = nn.Conv2d(8, 8, 3)
        done.set()

    thread = threading.Thread(target=real)
    thread.start()
    with on_meta():
        inside.set()
        assert done.wait(5)
        meta = nn.Conv2d(8, 8, 3)
    thread.join()
    assert meta.weight.is_meta
    weight = built["conv"].weight
    assert weight.device.type == "cpu" and 0 < weight.abs().max() <= 1 / 72 ** 0.5 + 1e-6  # Kaiming bound
