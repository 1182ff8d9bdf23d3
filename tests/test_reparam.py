"""Reparameterization (docs/numbers.md, "Reparameterization"): every kind's deploy form is equivalent,
and the checks would catch the classic mistakes."""

import copy
import json
import threading
import time

import pytest
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_conv_bn_weights

from blockscope import cache
from blockscope import measuring as app_measuring
from blockscope.analysis import latency as timing
from blockscope.analysis.graph import analyse_graph
from blockscope.analysis.reparam import deploy, fuse_conv_bn
from blockscope.blocks.layers import seed_weights
from blockscope.blocks.plain import ConvBN
from blockscope.blocks.repvgg import RepVGGBlock, identity_kernel
from blockscope.config import get_settings
from blockscope.errors import Busy, InvalidParameter
from blockscope.measuring import run as measuring_run
from blockscope.measuring.core import inline_core
from blockscope.measuring.jobs import MEASUREMENTS
from blockscope.registry import BLOCKS
from blockscope.service import blocks as blocks_service
from blockscope.service import latency as latency_service
from blockscope.service import reparam as service

from .configs import random_configs

TOL = 1e-4


def describe(module, shape) -> dict:
    return analyse_graph(module, shape).model_dump()


def report_of(kind: str, values: dict) -> dict:
    """The checked report: the equivalence proven by the measuring process first."""
    service.equivalence(kind, values)
    report = service.report(kind, values).data.model_dump()
    assert report["equivalence"] == "checked"
    return report


_checked: dict[str, dict] = {}


def checked_report(kind: str, values: dict) -> dict:
    """`report_of`, proven once per configuration for the slow tests that read the same random
    configurations (a deep copy each time, so no test sees another's changes)."""
    key = json.dumps([kind, values], sort_keys=True)
    if key not in _checked:
        _checked[key] = report_of(kind, values)
    return copy.deepcopy(_checked[key])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny blocks run faster on one thread than waiting for a busy second core; afterwards the
    start-up count is restored, as a measurement does (a thread's "previous" count may be stale)."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(measuring_run.DEFAULT_THREADS)


SMALL = {"height": 7, "width": 6}
CASES = [(kind, {**BLOCKS[kind].defaults(), **SMALL}) for kind in BLOCKS]
CASES += [(kind, cfg) for kind in BLOCKS for cfg in random_configs(BLOCKS[kind], 10, seed=1)]
# RepVGG's hard cases by hand: grouped identity, depthwise identity (in/groups = 1), stride 2, in != out
REPVGG = [(8, 8, 1, 2), (12, 12, 1, 3), (6, 6, 1, 6), (8, 16, 2, 4), (6, 6, 2, 3), (6, 12, 1, 3)]
CASES += [("repvgg_block", blocks_service.resolve("repvgg_block", {
    "in_channels": i, "out_channels": o, "stride": s, "groups": g, **SMALL, "seed": n}).as_dict())
    for n, (i, o, s, g) in enumerate(REPVGG)]
IDS = [f"{kind}-{i}" for i, (kind, _) in enumerate(CASES)]


def test_random_configs_cover_the_hard_cases():
    configs = [c for _, c in CASES]
    assert any(c.get("groups", 1) > 1 for c in configs) and any(c.get("cardinality", 1) > 1 for c in configs)
    assert any(c.get("stride") == 2 for c in configs)
    assert any(c.get("out_channels", 0) != c.get("in_channels", 0) for c in configs if "out_channels" in c)
    rep = [c for k, c in CASES if k == "repvgg_block"]
    assert any(c["groups"] > 1 and c["stride"] == 1 and c["in_channels"] == c["out_channels"] for c in rep)
    assert any(c["groups"] > 1 and c["stride"] == 2 for c in rep)


def _snapshot(module: nn.Module) -> dict:
    return {"state": {k: v.clone() for k, v in module.state_dict().items()},
            "modules": [(n, type(m)) for n, m in module.named_modules()],
            "training": [m.training for m in module.modules()]}


def _same(module: nn.Module, snap: dict) -> bool:
    now = _snapshot(module)
    return (now["modules"] == snap["modules"] and now["training"] == snap["training"]
            and now["state"].keys() == snap["state"].keys()
            and all(torch.equal(now["state"][k], v) for k, v in snap["state"].items()))


def _bn_after_conv(graph: dict) -> list[str]:
    ops = {n["id"]: n["op"] for n in graph["nodes"]}
    return [n["id"] for n in graph["nodes"]
            if n["op"] == "batch_norm" and any(ops[i] == "conv2d" for i in n["inputs"])]


@pytest.mark.parametrize("kind, config", CASES, ids=IDS)
@pytest.mark.slow
def test_deploy_form_is_equivalent(kind, config):
    report = checked_report(kind, config)
    shape = blocks_service.resolve(kind, config).input_shape
    # independent of the cached analysis: a real module built and described here (the lesson's
    # sentences are checked on their own, in test_lessons.py)
    before = {k: v for k, v in report["before"].items() if k != "lesson"}
    assert before == {"kind": kind, "config": config,
                      **describe(blocks_service.build(blocks_service.resolve(kind, config)), shape)}
    assert report["before"]["lesson"]["sentences"] and report["after"]["lesson"] is None

    # independent check: our own input, both modules run here
    module = blocks_service.build(blocks_service.resolve(kind, config))
    snap = _snapshot(module)
    deployed, fused = deploy(module)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(config["seed"] + 12345))
    with torch.inference_mode():
        diff = (module(x) - deployed(x)).abs().max().item()
    assert diff < TOL and report["max_abs_diff"] < TOL
    assert _same(module, snap), "the training-time module was changed"
    assert fused == report["fused"]

    after, before = report["after"], report["before"]
    # every BN in these blocks follows a conv or is RepVGG's identity branch: none survives
    assert _bn_after_conv(after) == [] and [n for n in after["nodes"] if n["op"] == "batch_norm"] == []
    assert after["output_shape"] == before["output_shape"]
    # the meta-device analysis equals a real CPU analysis of the deployed module
    real = describe(deployed, shape)
    assert real["totals"] == after["totals"]
    assert [(n["id"], n["op"], n["output_shape"]) for n in real["nodes"]] == \
           [(n["id"], n["op"], n["output_shape"]) for n in after["nodes"]]


REPVGG_CASES = [(k, c) for k, c in CASES if k == "repvgg_block"]
FOLD_CASES = [(k, c) for k, c in CASES if k != "repvgg_block"]


@pytest.mark.parametrize("kind, config", REPVGG_CASES, ids=[f"repvgg-{i}" for i in range(len(REPVGG_CASES))])
@pytest.mark.slow
def test_repvgg_merges_its_branches_into_one_conv(kind, config):
    report = report_of(kind, config)
    after, fused = report["after"], report["fused"]
    i, o, g = config["in_channels"], config["out_channels"], config["groups"]
    assert [n["op"] for n in after["nodes"]] == ["input", "conv2d", "relu"]
    assert after["totals"]["params"] == 9 * i * o // g + o
    assert len(fused) == 1 and fused[0].endswith("-> rbr_reparam")
    assert ("rbr_identity" in fused[0]) == (config["stride"] == 1 and i == o)


@pytest.mark.parametrize("kind, config", FOLD_CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(FOLD_CASES)])
@pytest.mark.slow
def test_every_bn_folds_into_the_conv_before_it(kind, config):
    report = checked_report(kind, config)
    after, before, fused = report["after"], report["before"], report["fused"]
    bn_channels = sum(n["attrs"]["num_features"] for n in before["nodes"] if n["op"] == "batch_norm")
    # a BN's gamma and beta (2 C) become the conv's bias (C)
    assert after["totals"]["params"] == before["totals"]["params"] - bn_channels
    # one "conv + bn -> conv" line per conv -> BN edge of the training-time graph
    nodes = {n["id"]: n for n in before["nodes"]}
    expected = [f"{nodes[n['inputs'][0]]['module']} + {n['module']} -> {nodes[n['inputs'][0]]['module']}"
                for n in before["nodes"] if n["op"] == "batch_norm"]
    assert fused == expected and len(fused) == len(_bn_after_conv(before))
    # fusing removes BN nodes, nothing else; multiply-adds are unchanged
    assert after["totals"]["madds"] == before["totals"]["madds"]
    assert len(after["nodes"]) == len(before["nodes"]) - len(fused)


def test_fused_lines_read_as_documented():
    conv_bn = report_of("conv_bn", SMALL)
    assert conv_bn["fused"] == ["conv + bn -> conv"]
    assert [n["op"] for n in conv_bn["after"]["nodes"]] == ["input", "conv2d"]
    assert conv_bn["after"]["nodes"][1]["attrs"]["bias"] is True
    rep = report_of("repvgg_block", SMALL)
    assert rep["fused"] == ["rbr_dense.conv + rbr_dense.bn + rbr_1x1.conv + rbr_1x1.bn + rbr_identity"
                            " -> rbr_reparam"]
    strided = report_of("repvgg_block", {**SMALL, "stride": 2})
    assert strided["fused"] == ["rbr_dense.conv + rbr_dense.bn + rbr_1x1.conv + rbr_1x1.bn -> rbr_reparam"]
    # nothing to fuse in a block without BatchNorm
    assert report_of("squeeze_excitation", SMALL)["fused"] == []
    assert report_of("channel_shuffle", SMALL)["max_abs_diff"] == 0.0


def test_seeded_batchnorms_are_not_the_identity():
    """A fresh BN is the identity and proves nothing (RepVGG tools/verify.py): every block's BNs are
    seeded."""
    for kind in BLOCKS:
        module = blocks_service.build(blocks_service.resolve(kind, SMALL))
        for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
            assert not bn.training
            for value, identity, lo, hi in ((bn.running_mean, 0, -1, 1), (bn.running_var, 1, 0.5, 2),
                                            (bn.weight, 1, 0.5, 1.5), (bn.bias, 0, -0.5, 0.5)):
                assert lo <= value.min() and value.max() <= hi
                if value.numel() >= 4:
                    assert (value - identity).abs().max() > 0.05


# ---- the classic mistakes: each wrong version fails the check that the right one passes


def _conv_bn(seed=0, in_channels=8, out_channels=8, kernel_size=3, groups=1) -> ConvBN:
    return seed_weights(ConvBN(in_channels, out_channels, kernel_size, 1, groups), seed).eval()


def _diff(a: nn.Module, b: nn.Module, shape=(2, 8, 9, 9), seed=1) -> float:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        return (a(x) - b(x)).abs().max().item()


def _conv_with(conv: nn.Conv2d, weight, bias) -> nn.Conv2d:
    out = copy.deepcopy(conv)
    out.weight, out.bias = nn.Parameter(weight.detach().clone()), nn.Parameter(bias.detach().clone())
    return out


def test_mistake_fusing_with_batch_statistics():
    block = _conv_bn()
    right = fuse_conv_bn_eval(block.conv, block.bn)
    assert _diff(block, right) < TOL
    # wrong: normalise by the statistics of one batch, as BN does in training mode
    x = torch.randn(2, 8, 9, 9, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = block.conv(x)
    mean, var = y.mean((0, 2, 3)), y.var((0, 2, 3), unbiased=False)
    wrong = _conv_with(block.conv, *fuse_conv_bn_weights(block.conv.weight, None, mean, var, block.bn.eps,
                                                         block.bn.weight, block.bn.bias))
    assert _diff(block, wrong) > TOL
    # and the helpers refuse a module in training mode rather than fuse it
    with pytest.raises(ValueError, match="eval"):
        deploy(block.train())
    with pytest.raises(AssertionError):
        fuse_conv_bn_eval(block.conv, block.bn)


def test_mistake_forgetting_eps():
    block = _conv_bn()
    block.bn.eps = 1e-3  # TensorFlow's default and timm's for EfficientNets; 1e-5 hides the mistake less well
    right = fuse_conv_bn_eval(block.conv, block.bn)
    bn = block.bn
    wrong = _conv_with(block.conv, *fuse_conv_bn_weights(block.conv.weight, None, bn.running_mean,
                                                         bn.running_var, 0.0, bn.weight, bn.bias))
    assert _diff(block, right) < TOL < _diff(block, wrong)


def test_fused_weights_match_the_formula_with_eps():
    """At the default eps = 1e-5 the output check cannot see a forgotten eps (var >= 0.5 makes it a
    1e-5 relative change), so the fused weights are checked against the formula in float64 too."""
    block = _conv_bn(seed=3)
    deployed, _ = deploy(block)
    bn, w = block.bn, block.conv.weight.double()
    for eps, close in ((bn.eps, True), (0.0, False)):
        scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + eps)
        weight = w * scale.view(-1, 1, 1, 1)
        bias = bn.bias.double() - bn.running_mean.double() * scale
        rel = ((deployed.conv.weight.double() - weight).abs() / weight.abs().clamp_min(1e-3)).max().item()
        rel_b = ((deployed.conv.bias.double() - bias).abs() / bias.abs().clamp_min(1e-3)).max().item()
        assert (max(rel, rel_b) < 1e-6) == close, (eps, rel, rel_b)


def _repvgg(in_channels=8, out_channels=8, stride=1, groups=1, seed=0) -> RepVGGBlock:
    return seed_weights(RepVGGBlock(in_channels, out_channels, stride, groups), seed).eval()


def _merged(block: RepVGGBlock, kernel, bias) -> nn.Conv2d:
    conv = block.rbr_dense.conv
    out = nn.Conv2d(conv.in_channels, conv.out_channels, 3, conv.stride, 1, groups=conv.groups)
    return _conv_with(out, kernel, bias)


class _Deployed(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv, self.relu = conv, nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


def test_mistake_padding_the_1x1_off_centre():
    block = _repvgg()
    parts = block.branch_kernel_bias()
    k1, b1 = fuse_conv_bn_weights(block.rbr_1x1.conv.weight, None, block.rbr_1x1.bn.running_mean,
                                  block.rbr_1x1.bn.running_var, block.rbr_1x1.bn.eps,
                                  block.rbr_1x1.bn.weight, block.rbr_1x1.bn.bias)
    assert k1.shape[-1] == 1
    for pad, ok in (([1, 1, 1, 1], True), ([0, 2, 0, 2], False), ([2, 0, 2, 0], False)):
        kernel = parts["rbr_dense"][0] + nn.functional.pad(k1, pad) + parts["rbr_identity"][0]
        bias = parts["rbr_dense"][1] + b1 + parts["rbr_identity"][1]
        assert (_diff(block, _Deployed(_merged(block, kernel, bias))) < TOL) == ok, pad


def test_mistake_identity_kernel_of_a_grouped_block():
    block = _repvgg(8, 8, 1, groups=2)
    per_group = 4
    right = identity_kernel(8, 2)
    assert right.shape == (8, per_group, 3, 3) and right.sum() == 8
    # wrong: i % groups instead of i % (in / groups)
    wrong = torch.zeros_like(right)
    for i in range(8):
        wrong[i, i % 2, 1, 1] = 1.0
    # wrong: the dense identity does not even fit a grouped kernel
    with pytest.raises(IndexError):
        torch.zeros(8, per_group, 3, 3)[torch.arange(8), torch.arange(8)] = 1.0

    def deployed(identity):
        bn = block.rbr_identity
        k, b = fuse_conv_bn_weights(identity, None, bn.running_mean, bn.running_var, bn.eps, bn.weight,
                                    bn.bias)
        parts = block.branch_kernel_bias()
        kernel = parts["rbr_dense"][0] + parts["rbr_1x1"][0] + k
        return _Deployed(_merged(block, kernel, parts["rbr_dense"][1] + parts["rbr_1x1"][1] + b))

    assert _diff(block, deployed(right)) < TOL < _diff(block, deployed(wrong))
    # the block's own merge uses the right one
    assert torch.equal(identity_kernel(8, 2), right)
    assert _diff(block, _Deployed(_merged(block, *block.equivalent_kernel_bias()))) < TOL


def test_mistake_a_fresh_batchnorm_proves_nothing():
    """Dropping the BN altogether passes on a fresh BN (mean 0, var 1) and fails on seeded statistics."""
    fresh = ConvBN(8, 8, 3).eval()
    seeded = _conv_bn()
    for block, passes in ((fresh, True), (seeded, False)):
        wrong = _conv_with(block.conv, block.conv.weight, torch.zeros(8))  # conv alone, BN forgotten
        assert (_diff(block, wrong) < TOL) == passes
        assert _diff(block, fuse_conv_bn_eval(block.conv, block.bn)) < TOL


# ---- the kernel view and the verb


def test_repvgg_kernel_view_shows_each_branch():
    config = {**SMALL, "in_channels": 8, "out_channels": 8, "groups": 2}
    report = report_of("repvgg_block", config)
    view = report["kernel"]
    assert view["shape"] == [8, 4, 3, 3] and view["groups"] == 2 and not view["truncated"]
    assert view["slice"] == {"out_channels": [0, 8], "in_channels_per_group": [0, 4]}
    block = blocks_service.build(blocks_service.resolve("repvgg_block", config))
    deployed, _ = deploy(block)
    fused = torch.tensor(view["fused"]["weight"])
    assert torch.allclose(fused, deployed.rbr_reparam.weight, atol=1e-6)
    assert torch.allclose(torch.tensor(view["fused"]["bias"]), deployed.rbr_reparam.bias, atol=1e-6)
    branches = {k: torch.tensor(v["weight"]) for k, v in view["branches"].items()}
    assert torch.allclose(sum(branches.values()), fused, atol=1e-5)
    # the 1x1 lands on the centre; the identity on [i, i % (in / groups)] at the centre, nowhere else
    centre = torch.zeros(3, 3, dtype=torch.bool)
    centre[1, 1] = True
    assert (branches["rbr_1x1"][..., ~centre] == 0).all() and (branches["rbr_1x1"][..., centre] != 0).all()
    ident = branches["rbr_identity"]
    bn = block.rbr_identity
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    for i in range(8):
        for j in range(4):
            expected = torch.zeros(3, 3, dtype=ident.dtype)
            if j == i % 4:
                expected[1, 1] = scale[i]
            assert torch.allclose(ident[i, j], expected, atol=1e-6), (i, j)
    strided = report_of("repvgg_block", {**config, "stride": 2})["kernel"]
    assert strided["branches"]["rbr_identity"] is None


def test_kernel_view_is_bounded_for_large_blocks():
    config = {"in_channels": 64, "out_channels": 32, "height": 5, "width": 5}
    view = report_of("repvgg_block", config)["kernel"]
    assert view["shape"] == [32, 64, 3, 3] and view["truncated"]
    assert view["slice"] == {"out_channels": [0, 8], "in_channels_per_group": [0, 8]}
    assert torch.tensor(view["fused"]["weight"]).shape == (8, 8, 3, 3)
    assert report_of("conv_bn", SMALL)["kernel"] is None


def test_repvgg_reparameterize_verb_in_place_and_idempotent():
    block = _repvgg(6, 6, 1, groups=3)
    reference = copy.deepcopy(block)
    kernel, bias = block.equivalent_kernel_bias()
    assert _same(block, _snapshot(reference))  # the helper is pure
    block.reparameterize()
    block.reparameterize()
    assert [n for n, _ in block.named_children()] == ["relu", "rbr_reparam"]
    assert torch.equal(block.rbr_reparam.weight, kernel) and torch.equal(block.rbr_reparam.bias, bias)
    assert _diff(reference, block, (2, 6, 7, 7)) < TOL


def test_conv_with_two_consumers_is_not_fused():
    class Tap(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y  # folding the BN into the conv would change the second use

    tap = seed_weights(Tap(), 0).eval()
    deployed, fused = deploy(tap)
    assert fused == [] and _diff(tap, deployed) == 0.0
    twin = seed_weights(Tap(), 0).eval()
    assert fuse_conv_bn(twin) == []


# ---- service limits and the cache


def test_compute_limit_is_a_422_naming_the_parameter(configure):
    configure(max_reparam_madds=1000)
    with pytest.raises(InvalidParameter) as err:
        service.report("conv", {"height": 9, "width": 9, "seed": 77})
    assert err.value.param == "height" and "1,000 this server allows" in err.value.message
    with pytest.raises(InvalidParameter) as err:
        service.report("conv", {"height": 9, "width": 9, "batch": 3, "seed": 77})
    assert err.value.param == "batch"


def test_deploy_copy_counts_against_the_memory_budget(monkeypatch):
    # 2048 -> 2048 7x7 weights (822 MB) pass the analysis's 1 GiB budget alone, but not with a deploy copy
    config = {"in_channels": 2048, "out_channels": 2048, "kernel_size": 7, "height": 1, "width": 1}
    blocks_service.analyse("conv", config)
    with pytest.raises(InvalidParameter) as err:
        service.report("conv", config)
    assert err.value.param == "in_channels" and f"{get_settings().max_memory_mb} MiB" in err.value.message


def test_measuring_is_bounded(configure, monkeypatch):
    """Each measure=true request holds both built forms: past the limit the next is refused at once."""
    configure(reparam_max_measuring=1)
    service.equivalence("conv_bn", {**SMALL, "seed": 9})  # the equivalence is proven: only measuring is left
    entered, release = threading.Event(), threading.Event()
    real = timing.time_rounds  # both forms are timed in alternating rounds

    def held(*args, **kwargs):
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(timing, "time_rounds", held)
    worker = threading.Thread(target=lambda: service.report_with_latency("conv_bn", {**SMALL, "seed": 8},
                                                                         repeats=1, warmup=0))
    worker.start()
    try:
        assert entered.wait(10)
        with pytest.raises(Busy) as err:
            service.report_with_latency("conv_bn", {**SMALL, "seed": 9}, repeats=1, warmup=0)
        assert err.value.retry_after >= 1
    finally:
        release.set()
        worker.join(30)


@pytest.mark.parametrize("kind, values", [
    ("repvgg_block", dict(in_channels=512, out_channels=512, groups=1)),
    ("repvgg_block", dict(in_channels=512, out_channels=512, groups=8)),
    ("conv", dict(in_channels=512, out_channels=512, kernel_size=7)),
    ("resnext_bottleneck", dict(in_channels=1024, bottleneck_width=512, cardinality=8, out_channels=1024)),
])
def test_wide_blocks_stay_equivalent(kind, values):
    """Float32 error grows with the fan-in; wide blocks still stay below 1e-4."""
    report = report_of(kind, {**values, "height": 6, "width": 6, "seed": 3})
    assert 0 < report["max_abs_diff"] < TOL


def test_memory_limit_is_checked_before_any_real_build(monkeypatch):
    built = []
    monkeypatch.setattr(app_measuring, "submit", lambda *a, **k: built.append(a))
    with pytest.raises(InvalidParameter):
        service.report("conv", {"in_channels": 2048, "out_channels": 2048, "height": 512, "width": 512})
    with pytest.raises(InvalidParameter):
        service.report("group_conv", {"groups": 5})
    assert built == []


def test_reports_and_checks_are_cached(monkeypatch):
    config = {**SMALL, "seed": 4242}
    pending = service.report("conv_bn", config)
    assert pending.data.equivalence == "pending" and pending.data.max_abs_diff is None
    checked = service.equivalence("conv_bn", config)
    monkeypatch.setattr(service.measuring, "submit", lambda *a, **k: pytest.fail("checked a config twice"))
    monkeypatch.setattr(service, "deployed_form", lambda *a: pytest.fail("recomputed a cached report"))
    assert service.equivalence("conv_bn", config) is checked
    first = service.report("conv_bn", config)
    assert first.data.equivalence == "checked" and first.data.max_abs_diff == checked.data.max_abs_diff
    assert first.data.before == pending.data.before and first.data.after == pending.data.after
    assert first.data.fused == pending.data.fused == checked.data.fused
    assert service.report("conv_bn", config) is first
    assert 1 <= cache.sizes()["reparam reports"] <= get_settings().reparam_cache


def test_a_report_runs_nothing_real(monkeypatch):
    """Without `measure` the two forms come from the meta device: no job for the measuring process,
    whatever the block's size; the same forms the measuring process deploys for real."""
    monkeypatch.setattr(service.measuring, "submit", lambda *a, **k: pytest.fail("ran real tensors"))
    for kind, spec in BLOCKS.items():
        config = {**SMALL, "seed": 777} if "height" in {p.name for p in spec.all_params} else {"seed": 777}
        report = service.report(kind, config).data
        assert report.equivalence == "pending" and report.kernel is None, kind
        assert report.before.output_shape == report.after.output_shape, kind
    big = service.report("repvgg_block", {"in_channels": 512, "out_channels": 512, "height": 56, "width": 56})
    assert big.data.after.totals.params == 512 * 512 * 9 + 512


# ---- HTTP


def test_every_kind_has_a_documented_reparam_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    for kind, spec in BLOCKS.items():
        params = {p["name"] for p in paths[f"/api/blocks/{kind}/reparam"]["get"]["parameters"]}
        assert {p.name for p in spec.all_params} | {"measure", "device", "threads", "repeats"} <= params


def test_reparam_answers_at_once_and_is_cacheable_once_checked(client):
    url = ("/api/blocks/repvgg_block/reparam?in_channels=8&out_channels=16&stride=2&groups=4&height=6"
           "&width=5&seed=3")
    pending = client.get(url)
    assert pending.status_code == 200 and pending.json()["equivalence"] == "pending"
    assert pending.json()["max_abs_diff"] is None and pending.headers["cache-control"] == "no-store"
    path, query = url.split("?")
    proof = client.get(f"{path}/equivalence?{query}")
    assert proof.status_code == 200 and proof.headers["etag"]
    assert proof.headers["cache-control"].startswith("public, max-age=")
    assert proof.json()["max_abs_diff"] < TOL and proof.json()["kernel"]["fused"]
    r = client.get(url)
    assert r.status_code == 200 and r.json()["equivalence"] == "checked"
    assert r.json()["max_abs_diff"] == proof.json()["max_abs_diff"]
    assert {k: v for k, v in r.json().items() if k not in ("equivalence", "max_abs_diff", "kernel")} == \
        {k: v for k, v in pending.json().items() if k not in ("equivalence", "max_abs_diff", "kernel")}
    assert r.headers["cache-control"].startswith("public, max-age=") and r.headers["etag"]
    body = r.json()
    assert set(body) >= {"kind", "config", "before", "after", "max_abs_diff", "fused", "kernel"}
    assert body["latency"] is None
    assert body["config"]["stride"] == 2 and body["max_abs_diff"] < TOL
    assert body["after"]["totals"]["params"] == 9 * 8 * 16 // 4 + 16
    assert set(body["after"]) >= {"kind", "config", "input_shape", "output_shape", "totals", "nodes", "edges",
                                  "permutations"}
    again = client.get(url, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == r.headers["etag"]
    assert client.get(url).content == r.content


def test_reparam_errors(client):
    r = client.get("/api/blocks/nope/reparam")
    assert r.status_code == 404 and "repvgg_block" in r.json()["detail"]
    r = client.get("/api/blocks/repvgg_block/reparam?groups=5")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "groups"]
    r = client.get("/api/blocks/conv/reparam?in_channels=2048&out_channels=2048&height=512&width=512")
    assert r.status_code == 422
    r = client.get("/api/blocks/conv_bn/reparam?measure=true&device=tpu&height=8&width=8")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "device"]


def _check_latency(body: dict, device: str):
    latency = body["latency"]
    assert body["max_abs_diff"] < TOL
    for name in ("before", "after"):
        report = latency[name]
        assert report["kind"] == body["kind"] and report["config"] == body["config"]
        assert report["device"] == device and report["total"]["median_us"] > 0
    # each form is timed node by node on its own graph: the deployed one has no BN left to time
    for name in ("before", "after"):
        timed = [(n["id"], n["op"]) for n in latency[name]["nodes"]]
        assert timed == [(n["id"], n["op"]) for n in body[name]["nodes"] if n["op"] != "input"]
    assert "batch_norm" in {n["op"] for n in latency["before"]["nodes"]}
    assert "batch_norm" not in {n["op"] for n in latency["after"]["nodes"]}
    medians = [latency[name]["total"]["median_us"] for name in ("before", "after")]
    assert latency["speedup"] == pytest.approx(medians[0] / medians[1], rel=1e-4)  # of unrounded medians
    comparison = latency["comparison"]
    assert comparison["of"] == ["before", "after"] and comparison["value"] == latency["speedup"]
    lo, hi = comparison["ci95"]
    assert lo <= latency["speedup"] <= hi and comparison["measurable"] == (not lo <= 1 <= hi)


def _fresh_config(seed: int) -> dict:
    return {**SMALL, "seed": seed}


def test_equivalence_passes_wait_for_the_cpu_like_a_measurement(monkeypatch):
    """The real forward passes of an equivalence check run on the CPU's measuring queue, so they
    never overlap (and skew) a CPU latency measurement."""
    measuring, release = threading.Event(), threading.Event()
    real_block, real_input = timing.measure_block, measuring_run.random_input
    checked = threading.Event()

    def held(*args, **kwargs):
        measuring.set()
        release.wait(10)
        return real_block(*args, **kwargs)

    def spy(*args):
        checked.set()
        return real_input(*args)

    monkeypatch.setattr(timing, "measure_block", held)
    monkeypatch.setattr(measuring_run, "random_input", spy)
    timer = threading.Thread(target=lambda: latency_service.latency_report(
        "conv", {"height": 8, "width": 8, "seed": 5150}, warmup=0, repeats=1))
    checker = threading.Thread(target=lambda: service.equivalence("conv_bn", _fresh_config(5151)))
    timer.start()
    try:
        assert measuring.wait(10)
        checker.start()
        assert not checked.wait(0.5), "ran forward passes while the CPU was being measured"
    finally:
        release.set()
        timer.join(30)
        checker.join(30)
    assert checked.is_set()


def test_real_work_runs_one_job_at_a_time(monkeypatch):
    """Builds, deploys and forward passes of concurrent requests never overlap on the CPU."""
    inside, most = [0], [0]
    lock = threading.Lock()
    real = measuring_run.deploy

    def counting(module):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.05)
            return real(module)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(measuring_run, "deploy", counting)
    workers = [threading.Thread(target=lambda s=s: service.equivalence("conv_bn", _fresh_config(5252 + s)))
               for s in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert most[0] == 1


def test_speedup_never_divides_a_cached_number_by_a_fresh_one(configure, monkeypatch):
    """Both forms are measured together: they expire together, never one stale and one fresh."""
    clock = [1000.0]
    monkeypatch.setattr(inline_core().cache(MEASUREMENTS), "clock", lambda: clock[0])
    configure(latency_ttl_s=12)
    real = timing.time_ops

    step = [5]

    def slow(*args, **kwargs):  # in the first request each form's op timing takes 5 s on the clock
        clock[0] += step[0]
        return real(*args, **kwargs)

    monkeypatch.setattr(timing, "time_ops", slow)
    config = _fresh_config(5353)
    first = service.report_with_latency("conv_bn", config, warmup=0, repeats=1).model_dump()["latency"]
    assert not first["before"]["cached"] and not first["after"]["cached"]
    step[0] = 0
    clock[0] += 8  # past 12 s after the first form's measurement, within 12 s of the second's
    again = service.report_with_latency("conv_bn", config, warmup=0, repeats=1).model_dump()["latency"]
    assert again["before"]["cached"] == again["after"]["cached"]
    assert again["speedup"] == pytest.approx(
        again["before"]["total"]["median_us"] / again["after"]["total"]["median_us"], rel=1e-4)


def test_measuring_uses_the_analyses_for_its_cost(monkeypatch):
    monkeypatch.setattr(latency_service, "meta_copy", lambda *a: pytest.fail("copied a module"))
    body = service.report_with_latency("conv_bn", _fresh_config(5454), warmup=0, repeats=1)
    assert body.latency.speedup > 0


def test_measure_reports_both_forms_and_the_unadjusted_speedup(client):
    url = ("/api/blocks/repvgg_block/reparam?in_channels=8&out_channels=8&groups=2&height=8&width=8"
           "&measure=true&repeats=5&warmup=1")
    r = client.get(url)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    _check_latency(body, "cpu")
    assert [n["id"] for n in body["latency"]["after"]["nodes"]] == ["rbr_reparam", "relu"]
    cached = client.get(url).json()["latency"]
    assert cached["before"]["cached"] and cached["after"]["cached"]
    assert cached["speedup"] == body["latency"]["speedup"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_measure_on_cuda(client):
    r = client.get("/api/blocks/conv_bn/reparam?in_channels=16&out_channels=16&height=8&width=8"
                   "&measure=true&device=cuda:0&repeats=10&warmup=2")
    assert r.status_code == 200, r.text
    _check_latency(r.json(), "cuda:0")
