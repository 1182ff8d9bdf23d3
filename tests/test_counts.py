"""Every number of every registered kind, against independent computations (docs/numbers.md)."""

import pytest
import torch
from torch import fx
from torch.utils.flop_counter import FlopCounterMode

from blockscope.analysis.graph import INPUT_ID, trace
from blockscope.registry import BLOCKS
from blockscope.service import blocks as service

from . import formulas
from .configs import random_configs

KINDS = list(BLOCKS)
CASES = [(kind, cfg) for kind in KINDS
         for cfg in [BLOCKS[kind].defaults(), *random_configs(BLOCKS[kind], 12)]]
IDS = [f"{kind}-{i % 13}" for i, (kind, _) in enumerate(CASES)]


def analysis(kind, config):
    return service.analyse(kind, config).data.model_dump()


def real_shapes(module, x) -> dict[str, list[int]]:
    """Output shape of every fx node in a real forward pass on CPU."""
    gm = trace(module)
    shapes = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if isinstance(out, torch.Tensor):
                shapes[n.name] = list(out.shape)
            return out

    with torch.inference_mode():
        Recorder(gm).run(x)
    return shapes


@pytest.mark.parametrize("kind,config", CASES, ids=IDS)
def test_params_match_closed_form(kind, config):
    a = analysis(kind, config)
    assert a["totals"]["params"] == formulas.params(kind, config)
    module = service.build(service.resolve(kind, config))
    assert a["totals"]["params"] == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("kind,config", CASES, ids=IDS)
def test_madds_are_half_of_flop_counter(kind, config):
    a = analysis(kind, config)
    module = service.build(service.resolve(kind, config))
    x = torch.randn(service.resolve(kind, config).input_shape)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module(x)
    assert 2 * a["totals"]["madds"] == counter.get_total_flops()


@pytest.mark.parametrize("kind,config", CASES, ids=IDS)
@pytest.mark.slow
def test_shapes_match_a_real_forward_pass(kind, config):
    a = analysis(kind, config)
    module = service.build(service.resolve(kind, config))
    x = torch.randn(service.resolve(kind, config).input_shape)
    with torch.inference_mode():
        y = module(x)
    assert a["output_shape"] == list(y.shape)
    real = real_shapes(module, x)
    by_id = {n["id"]: n for n in a["nodes"]}
    for node in a["nodes"]:
        if node["op"] in ("input", "chunk"):
            continue
        assert node["output_shape"] == real[node["id"]], node["id"]
    for edge in a["edges"]:
        source = by_id[edge["source"]]
        if source["op"] != "chunk":
            assert edge["shape"] == source["output_shape"]


@pytest.mark.parametrize("kind,config", CASES, ids=IDS)
@pytest.mark.slow
def test_node_counts_sum_to_totals(kind, config):
    a = analysis(kind, config)
    t = a["totals"]
    for key in ("madds", "mac", "elementwise"):
        assert sum(n[key] for n in a["nodes"]) == t[key]
    assert sum(n["params"] for n in a["nodes"]) == t["params"]
    assert t["mac_bytes"] == 4 * t["mac"]
    # and the totals against a recomputation from the real forward pass's own shapes
    module = service.build(service.resolve(kind, config))
    x = torch.randn(service.resolve(kind, config).input_shape)
    real = real_shapes(module, x)
    mac = elementwise = 0
    op_of = {n["id"]: n["op"] for n in a["nodes"]}
    for n in a["nodes"][1:]:
        if n["op"] in ("chunk", "flatten"):
            continue
        out = torch.Size(real[n["id"]]).numel()
        reads = sum(torch.Size(real.get(i, a["input_shape"])).numel() if i != "x" else x.numel()
                    for i in n["inputs"])
        if any(op_of[i] == "chunk" for i in n["inputs"]):
            reads = sum(torch.Size(s).numel() for s in n["input_shapes"])  # pieces of a split
        mac += reads + out + n["params"]
        elementwise += out if n["op"] not in ("conv2d", "cat", "channel_shuffle", "linear") else 0
    assert (t["mac"], t["elementwise"]) == (mac, elementwise)


@pytest.mark.parametrize("kind,config", CASES, ids=IDS)
def test_node_costs_follow_their_definitions(kind, config):
    """Each node's mac/elementwise/madds recomputed from its own shapes and attributes."""
    def numel(s):
        return torch.Size(s).numel()

    for n in analysis(kind, config)["nodes"]:
        out = numel(n["output_shape"])
        reads = sum(numel(s) for s in n["input_shapes"])
        if n["op"] in ("input", "chunk"):
            assert n["mac"] == 0
        else:
            assert n["mac"] == reads + out + n["params"]
        if n["op"] == "conv2d":
            kh, kw = n["attrs"]["kernel_size"]
            assert n["madds"] == out * n["attrs"]["in_channels"] // n["attrs"]["groups"] * kh * kw
        else:
            assert n["madds"] == 0
        computes = n["op"] not in ("input", "chunk", "cat", "channel_shuffle", "conv2d")
        assert n["elementwise"] == (out if computes else 0)


@pytest.mark.parametrize("kind", KINDS)
def test_graph_is_connected_and_in_topological_order(kind):
    a = analysis(kind, {})
    ids = [n["id"] for n in a["nodes"]]
    assert ids[0] == INPUT_ID and len(set(ids)) == len(ids)
    for n in a["nodes"][1:]:
        assert n["inputs"], n["id"]
        for src in n["inputs"]:
            assert ids.index(src) < ids.index(n["id"])  # the page lays nodes out in this order
    assert {(e["source"], e["target"]) for e in a["edges"]} == {
        (s, n["id"]) for n in a["nodes"] for s in n["inputs"]}


def mac_1x1(h, w, c1, c2, g):
    """ShuffleNet V2 Sec. 2: MAC of a 1x1 group conv = hw(c1 + c2) + c1 c2 / g."""
    return h * w * (c1 + c2) + c1 * c2 // g


@pytest.mark.parametrize("seed", range(20))
def test_mac_of_1x1_group_conv_is_the_closed_form(seed):
    import random
    rng = random.Random(seed)
    g = rng.choice([1, 2, 3, 4, 8])
    c1, c2 = g * rng.randint(1, 40), g * rng.randint(1, 40)
    h, w = rng.randint(1, 30), rng.randint(1, 30)
    a = analysis("group_conv", dict(in_channels=c1, out_channels=c2, groups=g, kernel_size=1,
                                    height=h, width=w))
    conv = next(n for n in a["nodes"] if n["op"] == "conv2d")
    assert conv["mac"] == mac_1x1(h, w, c1, c2, g)
    assert conv["madds"] == h * w * c1 * c2 // g


def test_api_example_figures():
    """The group_conv example of docs/api.md, to the element."""
    a = analysis("group_conv", {})
    assert a["totals"] == {"params": 9344, "madds": 28901376, "mac": 1213568, "mac_bytes": 4854272,
                           "elementwise": 401408}
    conv = a["nodes"][1]
    assert (conv["id"], conv["label"], conv["mac"], conv["params"]) == \
        ("conv", "3x3 GConv, g=4", 410624, 9216)


def conv_pair_mac(c1, c2, g=1, hw=56 * 56):
    """Two 1x1 convs c1 -> c2 -> c1 measured through the analysis (G1's structure)."""
    first = analysis("group_conv", dict(in_channels=c1, out_channels=c2, groups=g, kernel_size=1))
    second = analysis("group_conv", dict(in_channels=c2, out_channels=c1, groups=g, kernel_size=1))
    return [next(n for n in a["nodes"] if n["op"] == "conv2d") for a in (first, second)]


def test_g1_widths_reproduce_the_papers_ordering():
    """G1: at (nearly) equal multiply-adds, MAC is lowest when c1 == c2 and rises with the ratio."""
    rows = []
    for c1, c2 in [(128, 128), (90, 180), (52, 312), (36, 432)]:
        convs = conv_pair_mac(c1, c2)
        rows.append((sum(n["madds"] for n in convs), sum(n["mac"] for n in convs)))
    madds = [m for m, _ in rows]
    assert max(madds) / min(madds) < 1.06  # the paper's pairs match 128 x 128 to within 5%
    macs = [m for _, m in rows]
    assert macs == sorted(macs) and len(set(macs)) == 4


def test_g2_widths_reproduce_the_papers_ordering():
    """G2: at fixed multiply-adds, more groups mean more MAC."""
    rows = []
    for g, c in [(1, 128), (2, 180), (4, 256), (8, 360)]:
        (conv, _) = conv_pair_mac(c, c, g)
        rows.append((conv["madds"], conv["mac"]))
    madds = [m for m, _ in rows]
    assert max(madds) / min(madds) < 1.03
    macs = [m for _, m in rows]
    assert macs == sorted(macs) and len(set(macs)) == 4


@pytest.mark.parametrize("kind", KINDS)
def test_reused_graphs_give_the_same_analysis_as_a_fresh_trace(kind):
    """Graphs are shared between blocks of one structure; a fresh trace must agree on every config."""
    from blockscope.cache import clear_all

    configs = [BLOCKS[kind].defaults(), *random_configs(BLOCKS[kind], 12, seed=2)]
    warm = [service.analyse_config(service.resolve(kind, c)) for c in configs]
    fresh = []
    for c in configs:
        clear_all()
        fresh.append(service.analyse_config(service.resolve(kind, c)))
    assert warm == fresh


def test_graph_reuse_keys_on_the_flags_that_steer_forward():
    """Two blocks that differ only in a (private or tuple) attribute read by forward get two graphs."""
    from torch import nn

    from blockscope.analysis.graph import analyse_graph

    class Unit(nn.Module):
        def __init__(self, residual, order):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)
            self._residual, self.order = residual, order

        def forward(self, x):
            y = self.conv(x)
            if self._residual:
                y = y + x
            return y * x if self.order == ("conv", "mul") else y

    ops_of = [[n.op for n in analyse_graph(Unit(r, o), [1, 4, 3, 3]).nodes]
              for r, o in [(True, ()), (False, ()), (False, ("conv", "mul"))]]
    assert ops_of == [["input", "conv2d", "add"], ["input", "conv2d"], ["input", "conv2d", "mul"]]
