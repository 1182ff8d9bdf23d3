"""/api/blocks/{kind}/sweep: costs against the group count at fixed channels and at fixed multiply-adds."""

import dataclasses
import random
import threading
import time

import pytest

from blockscope.cache import named, sizes
from blockscope.errors import InvalidParameter
from blockscope.registry import BLOCKS
from blockscope.service import fixed_madds as fixed_madds_search
from blockscope.service import sweep_points
from blockscope.service.blocks import analyse
from blockscope.service.sweep import sweep

from .configs import random_configs


def test_sweep_fixed_channels_matches_single_analyses(client):
    r = client.get("/api/blocks/group_conv/sweep?in_channels=24&out_channels=36&groups=3&height=7&width=7")
    assert r.status_code == 200
    sw = r.json()
    assert sw["param"] == "groups" and sw["current"] == 3
    assert [p["g"] for p in sw["fixed_channels"]] == [1, 2, 3, 4, 6, 12]  # divisors of gcd(24, 36)
    for p in sw["fixed_channels"]:
        one = client.get("/api/blocks/group_conv", params={
            "in_channels": 24, "out_channels": 36, "groups": p["g"], "height": 7, "width": 7}).json()
        keys = ("params", "madds", "mac")
        assert {k: p[k] for k in keys} == {k: one["totals"][k] for k in keys}
        # 3x3 conv, padding 1: multiply-adds = 49 * 36 * (24 / g) * 9
        assert p["madds"] == 49 * 36 * (24 // p["g"]) * 9


def test_sweep_fixed_madds_holds_multiply_adds_and_shows_mac_rising(client):
    query = "kernel_size=1&in_channels=64&out_channels=64&groups=1"
    sw = client.get(f"/api/blocks/group_conv/sweep?{query}").json()
    fm = sw["fixed_madds"]
    target, points = fm["target_madds"], fm["points"]
    assert fm["reference"] == {"in_channels": 64, "out_channels": 64} and fm["tolerance"] == 0.02
    gs = [p["g"] for p in points]
    assert gs[0] == 1 and {1, 2, 4, 8, 16, 32, 64} <= set(gs)
    hw = 56 * 56
    for p in points:
        assert abs(p["madds"] / target - 1) <= 0.02
        assert p["madds_deviation"] == pytest.approx(p["madds"] / target - 1, abs=1e-6)
        c1, c2 = p["channels"]["in_channels"], p["channels"]["out_channels"]
        assert c1 % p["g"] == 0 and c2 % p["g"] == 0
        assert max(c1, c2) / min(c1, c2) <= 4 / 3  # widened, not made lopsided
        assert p["madds"] == hw * c1 * c2 // p["g"]
        # ShuffleNet V2 eq. (2) for a 1x1 group conv plus BN and ReLU on its output
        conv_mac = hw * (c1 + c2) + c1 * c2 // p["g"]
        assert p["mac"] == conv_mac + (2 * hw * c2 + 2 * c2) + 2 * hw * c2
    macs = [p["mac"] for p in points]
    assert macs == sorted(macs)  # G2: more groups at equal multiply-adds cost more memory traffic


def test_fixed_madds_is_anchored_at_g1_whatever_the_current_group_count(client):
    """The sweep's points do not depend on which g the block is at (no point halves after g=64)."""
    at = {g: client.get(f"/api/blocks/group_conv/sweep?in_channels={c}&out_channels={c}&groups={g}").json()
          for g, c in ((4, 64), (16, 128), (64, 256))}
    series = [sw["fixed_madds"]["points"] for sw in at.values()]
    assert series[0] == series[1] == series[2]
    assert at[64]["fixed_madds"]["reference"] == {"in_channels": 32, "out_channels": 32}
    for p in series[0]:
        assert abs(p["madds_deviation"]) <= 0.02


def test_fixed_madds_series_from_a_g1_block(client):
    """The explorer's switch: channels given are the g=1 block's; ResNeXt widens its bottleneck as in
    its own Table 2 (1x64d, 2x40d, 4x24d, 32x4d at about the same complexity)."""
    r = client.get("/api/blocks/resnext_bottleneck/fixed-madds?bottleneck_width=64&cardinality=32")
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "resnext_bottleneck" and body["param"] == "cardinality"
    widths = {p["g"]: p["channels"]["bottleneck_width"] for p in body["points"]}
    assert {1: 64, 2: 80, 4: 96, 32: 128}.items() <= widths.items()
    # ShuffleNet V1's Table 1: 384 channels at g=8 for the complexity of 240 at g=3
    sv1 = client.get("/api/blocks/shufflenet_v1_unit/sweep").json()["fixed_madds"]["points"]
    assert {p["g"]: p["channels"]["out_channels"] for p in sv1}[8] == 384
    # a RepVGG block keeps its identity branch: in and out stay equal
    for p in client.get("/api/blocks/repvgg_block/fixed-madds").json()["points"]:
        assert p["channels"]["in_channels"] == p["channels"]["out_channels"]
    assert client.get("/api/blocks/channel_shuffle/fixed-madds").status_code == 404
    assert client.get("/api/blocks/conv/fixed-madds").status_code == 404
    bad = client.get("/api/blocks/group_conv/fixed-madds?in_channels=99999")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "in_channels"]


def test_sweep_refusals(client):
    for kind in ("conv", "inverted_residual"):
        r = client.get(f"/api/blocks/{kind}/sweep")
        assert r.status_code == 404 and "no group parameter" in r.json()["detail"], kind
        assert client.get(f"/api/blocks/{kind}/fixed-madds").status_code == 404
    assert client.get("/api/blocks/nonsense/sweep").status_code == 404
    r = client.get("/api/blocks/group_conv/sweep?groups=5")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "groups"]
    assert client.get("/api/blocks/channel_shuffle/sweep").json()["fixed_madds"]["points"] == []


def test_sweeps_are_kept_in_their_own_bounded_cache(client, configure):
    c = configure(sweep_cache=2)
    for groups in (1, 2, 4):
        assert c.get(f"/api/blocks/group_conv/sweep?groups={groups}").status_code == 200
    assert sizes()["sweeps"] == 2


def test_sweep_routes_exist_only_for_kinds_with_a_group_parameter(client):
    paths = client.get("/openapi.json").json()["paths"]
    for spec in BLOCKS.values():
        assert (f"/api/blocks/{spec.kind}/sweep" in paths) == bool(spec.group_param), spec.kind
        assert (f"/api/blocks/{spec.kind}/fixed-madds" in paths) == bool(spec.widen), spec.kind


def test_a_sweep_leaves_the_analysis_cache_as_it_was(configure):
    """A class's sweeps try hundreds of configurations; the analyses readers look at stay cached."""
    c = configure(analysis_cache=8)
    looked_at = [f"/api/blocks/group_conv?groups={g}" for g in (1, 2, 4, 8)]
    for url in looked_at:
        assert c.get(url).status_code == 200
    before = set(named("analyses").keys())
    assert len(before) == 4
    for g in (1, 2, 4, 8, 16):
        assert c.get(f"/api/blocks/group_conv/sweep?groups={g}&in_channels=128&out_channels=128")\
            .status_code == 200
        assert c.get(f"/api/blocks/repvgg_block/sweep?groups={g}").status_code == 200
    assert set(named("analyses").keys()) == before, "a sweep touched the analyses cache"
    assert sizes()["sweep points"] > 100


def _madds_and_ops(kind: str, values: dict) -> tuple[int, tuple] | None:
    """An independent count: the analysis readers get, not the sweep's own."""
    try:
        data = analyse(kind, values).data
    except InvalidParameter:
        return None
    return data.totals.madds, tuple(n.op for n in data.nodes if n.op != "channel_shuffle")


@pytest.mark.parametrize("kind", ["group_conv", "resnext_bottleneck", "shufflenet_v1_unit", "repvgg_block"])
def test_every_fixed_madds_point_is_the_closest_of_its_kind_on_random_blocks(kind):
    """Each point holds the target within the tolerance, in multiples of g, not lopsided, with the
    reference's structure; the reference is the g = 1 block closest to the block swept, and a point
    with equal widths has no neighbour (all widths one step of g up or down) closer to the target."""
    spec = BLOCKS[kind]
    rng = random.Random(kind)
    for config in random_configs(spec, 3, seed=11):
        config = {**config, "height": rng.choice([7, 14]), "width": 7, "batch": 1}
        swept = sweep(kind, config)
        fm = swept.fixed_madds
        ref = {**config, spec.group_param: 1, **fm.reference}
        target, structure = _madds_and_ops(kind, ref)
        assert target == fm.target_madds
        own, _ = _madds_and_ops(kind, config)
        for step in (-1, 1):  # no g = 1 neighbour of the reference is closer to the block swept
            near = _madds_and_ops(kind, {**ref, **{p: w + step for p, w in fm.reference.items()}})
            if near and near[1] == structure:
                assert abs(near[0] - own) >= abs(target - own)
        for point in fm.points[1:]:
            widths, g = point.channels, point.g
            madds, ops = _madds_and_ops(kind, {**ref, spec.group_param: g, **widths})
            assert madds == point.madds and ops == structure
            assert abs(madds / target - 1) <= fixed_madds_search.TOLERANCE
            assert all(w % g == 0 for w in widths.values())
            growth = [widths[p] / fm.reference[p] for p in widths]
            assert max(growth) / min(growth) - 1 <= fixed_madds_search.MAX_IMBALANCE + 1e-9
            if len(set(widths.values())) == 1:
                for step in (-g, g):
                    near = _madds_and_ops(kind, {**ref, spec.group_param: g,
                                                 **{p: w + step for p, w in widths.items()}})
                    if near and near[1] == structure:
                        assert abs(near[0] - target) >= abs(madds - target), (config, point)


def test_a_count_checked_for_another_structure_is_counted_when_its_own_is_wanted():
    """A sweep of one structure leaves some configurations checked for their structure only; a sweep
    of their structure must get them counted, not taken as refused."""
    spec = BLOCKS["repvgg_block"]
    named("sweep points").clear()
    other = {**spec.defaults(), "in_channels": 64, "out_channels": 128, "height": 8, "width": 8}
    identity = sweep_points.costs_of(spec, {**other, "out_channels": 64}).structure
    own = sweep_points.costs_of(spec, other, only=identity)
    assert own.totals is None and own.structure != identity  # no identity branch: not counted
    counted = sweep_points.costs_of(spec, other, only=own.structure)
    assert counted.totals is not None and counted.totals.madds == _madds_and_ops("repvgg_block", other)[0]


@pytest.mark.parametrize("kind", ["group_conv", "resnext_bottleneck"])
def test_the_usual_points_do_not_depend_on_the_group_counts_asked_for_besides(kind):
    spec = BLOCKS[kind]
    reference = {**spec.defaults(), spec.group_param: 1, "height": 14, "width": 14}
    alone = fixed_madds_search.series(spec, reference)
    named("sweep points").clear()
    with_five = fixed_madds_search.series(spec, reference, (5, 10))
    assert [p for p in with_five.points if p.g not in (5, 10)] == alone.points


def test_a_count_shared_with_a_structure_check_still_comes_back_counted(monkeypatch):
    """Under a class's traffic a request wanting a configuration's counts can join another sweep's
    structure check of it in flight: it must still get the counts."""
    spec = BLOCKS["repvgg_block"]
    named("sweep points").clear()
    other = {**spec.defaults(), "in_channels": 64, "out_channels": 96, "height": 8, "width": 8}
    identity = sweep_points.costs_of(spec, {**other, "out_channels": 64}).structure
    entered, release, got = threading.Event(), threading.Event(), {}
    real = sweep_points.count

    def held(spec_, values, only):
        if only is not None:
            entered.set()
            release.wait(5)
        return real(spec_, values, only)

    monkeypatch.setattr(sweep_points, "count", held)
    leader = threading.Thread(target=lambda: sweep_points.costs_of(spec, other, only=identity))
    leader.start()
    assert entered.wait(5)
    follower = threading.Thread(target=lambda: got.update(costs=sweep_points.costs_of(spec, other)))
    follower.start()
    time.sleep(0.2)  # the follower now waits on the leader's flight
    release.set()
    leader.join(5)
    follower.join(5)
    assert got["costs"].totals is not None
    assert got["costs"].totals.madds == _madds_and_ops("repvgg_block", other)[0]


def _counted(kind: str, config: dict):
    """The totals of one configuration as a fresh analysis gives them (None where refused)."""
    try:
        return analyse(kind, config).data.totals
    except InvalidParameter:
        return None


def _counting(monkeypatch) -> list[int]:
    """The group counts sweep_points builds and counts from now on (derived ones are not built)."""
    built, real = [], sweep_points.count

    def counting(spec_, values, only):
        built.append(values[spec_.group_param])
        return real(spec_, values, only)
    monkeypatch.setattr(sweep_points, "count", counting)
    return built


@pytest.mark.parametrize("kind", ["group_conv", "resnext_bottleneck", "shufflenet_v1_unit", "repvgg_block",
                                  "conv_bn"])
def test_fixed_channel_points_on_the_line_in_1_over_g_are_every_blocks_own_counts(kind, monkeypatch):
    """Most fixed-channel points come off a line in 1/g through two counts; each must equal the
    block's own analysis, and no group count the block refuses may appear."""
    spec = BLOCKS[kind]
    derived = 0
    built = _counting(monkeypatch)
    defaults = {**spec.defaults(), "height": 7, "width": 7}  # many group counts: the line is used
    for config in [defaults, *random_configs(spec, 6, seed=21)]:
        named("sweep points").clear()
        built.clear()
        shown = {p.g: p for p in sweep(kind, config).fixed_channels}
        derived += len(set(shown) - set(built))
        for g in range(1, 65):
            totals = _counted(kind, {**config, spec.group_param: g})
            if g not in shown:
                assert totals is None or g > max(shown) or len(shown) == 16, (config, g)
                continue
            p = shown[g]
            assert totals is not None, (config, g)
            assert (p.params, p.madds, p.mac, p.elementwise) == (
                totals.params, totals.madds, totals.mac, totals.elementwise), (config, g)
    assert derived, "no point of these random blocks came off the line: the test proves nothing"


def test_a_line_the_check_refutes_counts_every_group_count(monkeypatch):
    """A block whose totals are not a line in 1/g (simulated: one count is off) is counted at every
    group count rather than shown off its own numbers."""
    spec = BLOCKS["group_conv"]
    config = {**spec.defaults(), "in_channels": 48, "out_channels": 48, "groups": 4, "height": 8, "width": 8}
    real = sweep_points.count
    asked = []

    def skewed(spec_, values, only):
        asked.append(values[spec.group_param])
        costs = real(spec_, values, only)
        if values[spec.group_param] == 4 and costs and costs.totals:  # the check point
            costs = dataclasses.replace(costs, totals=costs.totals.model_copy(
                update={"madds": costs.totals.madds + 1}))
        return costs

    named("sweep points").clear()
    monkeypatch.setattr(sweep_points, "count", skewed)
    found = sweep_points.across_groups(spec, config, [1, 2, 3, 4, 6, 8, 12, 16, 24, 48])
    assert sorted(set(asked)) == [1, 2, 3, 4, 6, 8, 12, 16, 24, 48]
    for g in (2, 6, 48):
        assert found[g].totals == _counted("group_conv", {**config, "groups": g})


def test_a_convolution_split_otherwise_is_counted_at_every_group_count(monkeypatch):
    """The line needs every convolution split in the same number of groups or the same multiple of
    g at the counts it is drawn through; one that is not (simulated) sends the sweep back to counting."""
    spec = BLOCKS["group_conv"]
    config = {**spec.defaults(), "in_channels": 48, "out_channels": 48, "groups": 4, "height": 8, "width": 8}
    real = sweep_points.count

    def capped(spec_, values, only):
        costs = real(spec_, values, only)
        if values[spec.group_param] == 48 and costs and costs.totals:
            costs = dataclasses.replace(costs, groups=(24,))  # as if split in min(g, 24) groups
        return costs

    named("sweep points").clear()
    monkeypatch.setattr(sweep_points, "count", capped)
    built = _counting(monkeypatch)
    sweep_points.across_groups(spec, config, [1, 2, 3, 4, 6, 8, 12, 16, 24, 48])
    assert sorted(set(built)) == [1, 2, 3, 4, 6, 8, 12, 16, 24, 48]


def test_the_line_is_used_where_it_holds(monkeypatch):
    spec = BLOCKS["group_conv"]
    config = {**spec.defaults(), "in_channels": 48, "out_channels": 48, "groups": 4, "height": 8, "width": 8}
    named("sweep points").clear()
    built = _counting(monkeypatch)
    found = sweep_points.across_groups(spec, config, [1, 2, 3, 4, 6, 8, 12, 16, 24, 48])
    assert sorted(built) == [1, 2, 4, 48]  # g = 1, both ends, and the check (its own g)
    assert len(named("sweep points")) == 10  # the derived points are kept like counted ones
    for g, costs in found.items():
        assert costs.totals == _counted("group_conv", {**config, "groups": g})
        assert costs.groups == (g,)


def test_a_dense_block_over_the_memory_limit_still_sweeps(client):
    """g = 1 over the memory limit: the fixed-channel series goes on past it to 16 group counts, and
    there is no series at fixed multiply-adds (no g = 1 block to anchor at), never a 500."""
    query = "in_channels=1680&out_channels=1680&kernel_size=7&height=64&width=64&batch=8"
    assert client.get(f"/api/blocks/conv_bn?{query}&groups=1").status_code == 422
    r = client.get(f"/api/blocks/conv_bn/sweep?{query}&groups=2")
    assert r.status_code == 200
    sw = r.json()
    shown = [p["g"] for p in sw["fixed_channels"]]
    assert 1 not in shown and len(shown) == 16 and shown[-1] == 28
    assert sw["fixed_madds"]["points"] == [] and sw["fixed_madds"]["reference"] is None
