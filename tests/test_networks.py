"""Whole networks from the catalogue: the published totals, the papers' tables line by line, every row's
counts summing to the network and reproduced by its explorer links, the deployed form, the measured
latency (per row, and of both forms), the pages."""

import dataclasses
import re

import pytest
import torch

from blockscope import measuring
from blockscope.analysis.graph import analyse_graph
from blockscope.api.web import ASSETS
from blockscope.cache import named
from blockscope.measuring.forms import NetworkForm
from blockscope.measuring.jobs import Timing
from blockscope.networks.build import build_network
from blockscope.networks.catalogue import NETWORKS, SHUFFLENET_V1_WIDTHS
from blockscope.schemas import NetworkAnalysis, NetworkReparam
from blockscope.service import latency as latency_service

from .test_pages import page_data

# The published figures come from the catalogue, written once as the papers (and torchvision) print them;
# tests/test_published.py checks them against the blocks assembled without the API.
PUBLISHED = {name: network.published for name, network in NETWORKS.items()}
TRAINING_FORM = [name for name, p in PUBLISHED.items() if p.form == "train"]
EXACT_PARAMS = [name for name in TRAINING_FORM if PUBLISHED[name].params_exact and PUBLISHED[name].params]
COUNTS = ("params", "madds", "mac", "elementwise")


@pytest.fixture(scope="module")
def analyses(client) -> dict[str, dict]:
    return {name: client.get(f"/api/networks/{name}").json() for name in NETWORKS}


def paper_shape(shape: list[int]) -> str:
    """A tensor as the papers write it: 224²×3 (a pooled, flattened vector is 1²×C)."""
    if len(shape) == 2:
        return f"1²×{shape[1]}"
    return f"{shape[2]}²×{shape[1]}" if shape[2] == shape[3] else f"{shape[2]}×{shape[3]}×{shape[1]}"


def stage_rows(analysis: dict, layer: str) -> list[dict]:
    return [r for r in analysis["rows"] if r["layer"] == layer]


# --- published figures --------------------------------------------------------------------------

def test_the_list_names_every_network_with_its_totals(client, analyses):
    listed = client.get("/api/networks").json()
    assert [n["name"] for n in listed] == list(NETWORKS)
    for n in listed:
        assert n["totals"] == analyses[n["name"]]["totals"]
        assert n["input_size"] == 224 and n["classes"] == 1000
        assert n["title"] and n["paper"] and n["table"].startswith("Table")
        assert n["published"] == dataclasses.asdict(PUBLISHED[n["name"]])


@pytest.mark.parametrize("name", EXACT_PARAMS)
def test_parameters_equal_torchvision_exactly(analyses, name):
    a = analyses[name]
    assert a["totals"]["params"] == PUBLISHED[name].params
    assert a["output_shape"] == [1, 1000]


@pytest.mark.parametrize("name", TRAINING_FORM)
def test_multiply_adds_within_two_percent_of_the_papers(analyses, name):
    madds = analyses[name]["totals"]["madds"]
    assert abs(madds / PUBLISHED[name].madds - 1) < 0.02, madds
    assert analyses[name]["published"]["madds"] == PUBLISHED[name].madds


@pytest.mark.parametrize("groups", list(SHUFFLENET_V1_WIDTHS))
def test_shufflenet_v1_follows_table_1(analyses, groups):
    a = analyses[f"shufflenet_v1_g{groups}"]
    # stage output widths per g, and the spatial sizes of the Output size column
    expected = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                8: (384, 768, 1536)}[groups]
    for layer, width, size in zip(("Stage2", "Stage3", "Stage4"), expected, (28, 14, 7), strict=True):
        rows = stage_rows(a, layer)
        assert [(r["stride"], r["repeats"]) for r in rows] == [(2, 1), (1, {"Stage3": 7}.get(layer, 3))]
        assert all(r["out_channels"] == width and r["output_shape"] == [1, width, size, size] for r in rows)
    # Stage2's first 1x1 conv is not grouped (Sec. 3.3): only where there are groups to speak of
    first = stage_rows(a, "Stage2")[0]["units"][0]
    assert first["config"].get("group_first_conv", True) is (groups == 1)


def test_shufflenet_v2_follows_table_5(analyses):
    widths = {"0_5": (48, 96, 192, 1024), "1_0": (116, 232, 464, 1024), "1_5": (176, 352, 704, 1024),
              "2_0": (244, 488, 976, 2048)}
    for width, (c2, c3, c4, c5) in widths.items():
        a = analyses[f"shufflenet_v2_x{width}"]
        table = [(r["layer"], r["output_shape"][-1] if len(r["output_shape"]) == 4 else 1, r["stride"],
                  r["repeats"], r["out_channels"]) for r in a["rows"]]
        assert table == [("Conv1", 112, 2, 1, 24), ("MaxPool", 56, 2, 1, None),
                         ("Stage2", 28, 2, 1, c2), ("Stage2", 28, 1, 3, c2), ("Stage3", 14, 2, 1, c3),
                         ("Stage3", 14, 1, 7, c3), ("Stage4", 7, 2, 1, c4), ("Stage4", 7, 1, 3, c4),
                         ("Conv5", 7, 1, 1, c5), ("GlobalPool", 1, None, 1, None), ("FC", 1, None, 1, 1000)]


def test_mobilenet_v2_follows_table_2(analyses):
    table = [(paper_shape(r["input_shape"]), r["operator"], r["expansion"], r["out_channels"], r["repeats"],
              r["stride"]) for r in analyses["mobilenet_v2"]["rows"]]
    assert table == [
        ("224²×3", "conv2d", None, 32, 1, 2), ("112²×32", "bottleneck", 1, 16, 1, 1),
        ("112²×16", "bottleneck", 6, 24, 2, 2), ("56²×24", "bottleneck", 6, 32, 3, 2),
        ("28²×32", "bottleneck", 6, 64, 4, 2), ("14²×64", "bottleneck", 6, 96, 3, 1),
        ("14²×96", "bottleneck", 6, 160, 3, 2), ("7²×160", "bottleneck", 6, 320, 1, 1),
        ("7²×320", "conv2d 1x1", None, 1280, 1, 1), ("7²×1280", "avgpool 7x7", None, None, 1, None),
        ("1²×1280", "conv2d 1x1", None, 1000, 1, None)]


# MobileNet V3, Tables 1 and 2: input, exp size, #out, SE, NL, s (k = 1000 classes)
V3_LARGE = [("224²×3", None, 16, False, "HS", 2), ("112²×16", 16, 16, False, "RE", 1),
            ("112²×16", 64, 24, False, "RE", 2), ("56²×24", 72, 24, False, "RE", 1),
            ("56²×24", 72, 40, True, "RE", 2), ("28²×40", 120, 40, True, "RE", 1),
            ("28²×40", 120, 40, True, "RE", 1), ("28²×40", 240, 80, False, "HS", 2),
            ("14²×80", 200, 80, False, "HS", 1), ("14²×80", 184, 80, False, "HS", 1),
            ("14²×80", 184, 80, False, "HS", 1), ("14²×80", 480, 112, True, "HS", 1),
            ("14²×112", 672, 112, True, "HS", 1), ("14²×112", 672, 160, True, "HS", 2),
            ("7²×160", 960, 160, True, "HS", 1), ("7²×160", 960, 160, True, "HS", 1),
            ("7²×160", None, 960, False, "HS", 1), ("7²×960", None, None, None, None, 1),
            ("1²×960", None, 1280, False, "HS", 1), ("1²×1280", None, 1000, False, None, 1)]
V3_SMALL = [("224²×3", None, 16, False, "HS", 2), ("112²×16", 16, 16, True, "RE", 2),
            ("56²×16", 72, 24, False, "RE", 2), ("28²×24", 88, 24, False, "RE", 1),
            ("28²×24", 96, 40, True, "HS", 2), ("14²×40", 240, 40, True, "HS", 1),
            ("14²×40", 240, 40, True, "HS", 1), ("14²×40", 120, 48, True, "HS", 1),
            ("14²×48", 144, 48, True, "HS", 1), ("14²×48", 288, 96, True, "HS", 2),
            ("7²×96", 576, 96, True, "HS", 1), ("7²×96", 576, 96, True, "HS", 1),
            # Table 2 marks SE here; torchvision has none (the notes say so)
            ("7²×96", None, 576, False, "HS", 1), ("7²×576", None, None, None, None, 1),
            ("1²×576", None, 1024, False, "HS", 1), ("1²×1024", None, 1000, False, None, 1)]


@pytest.mark.parametrize("name,table", [("mobilenet_v3_large", V3_LARGE), ("mobilenet_v3_small", V3_SMALL)])
def test_mobilenet_v3_follows_its_table(analyses, name, table):
    a = analyses[name]
    assert [(paper_shape(r["input_shape"]), r["expansion"], r["out_channels"], r["se"], r["nl"], r["stride"])
            for r in a["rows"]] == table
    kernels = [int(m.group(1)) for r in a["rows"] if (m := re.match(r"bneck, (\d)x\d", r["operator"]))]
    assert kernels == [u["config"]["kernel_size"] for r in a["rows"] for u in r["units"]
                       if u["block"] == "mobilenet_v3_bneck"]
    if name == "mobilenet_v3_small":
        assert any("SE" in note and "576" in note for note in a["notes"])


def test_resnext50_follows_table_1(analyses):
    a = analyses["resnext50_32x4d"]
    blocks = [r for r in a["rows"] if r["units"][0]["block"] == "resnext_bottleneck"]
    assert [(r["layer"], r["repeats"], r["out_channels"], r["output_shape"][2]) for r in blocks] == [
        ("conv2", 3, 256, 56), ("conv3", 4, 512, 28), ("conv4", 6, 1024, 14), ("conv5", 3, 2048, 7)]
    for r, width in zip(blocks, (128, 256, 512, 1024), strict=True):
        assert all(u["config"]["bottleneck_width"] == width and u["config"]["cardinality"] == 32
                   for u in r["units"])
        assert r["operator"] == f"1×1, {width} → 3×3, {width}, C=32 → 1×1, {2 * width}"
    assert a["rows"][0]["output_shape"] == [1, 64, 112, 112]


def test_repvgg_a0_is_the_official_definition(analyses):
    a = analyses["repvgg_a0"]
    stages = [r for r in a["rows"] if r["units"][0]["block"] == "repvgg_block"]
    # widths min(64, 64a), 64a, 128a, 256a, 512b with a = 0.75, b = 2.5; stride 2 at each stage's start
    assert [(r["repeats"], r["out_channels"], r["output_shape"][2]) for r in stages] == [
        (1, 48, 112), (2, 48, 56), (4, 96, 28), (14, 192, 14), (1, 1280, 7)]
    for r in stages:
        assert r["units"][0]["config"]["stride"] == 2
        assert all(u["config"]["stride"] == 1 for u in r["units"][1:])
    # training-time: 3x3 + 1x1 + (identity) BN branches; counted from the blocks, not a guess
    assert a["totals"]["params"] == 9_108_968


# --- rows: sums, shares and links ---------------------------------------------------------------

@pytest.mark.parametrize("name", list(NETWORKS))
def test_rows_sum_to_the_network_and_units_to_their_row(analyses, name):
    a = analyses[name]
    assert len(a["rows"]) == len(NETWORKS[name].rows)
    for key in COUNTS:
        assert sum(r[key] for r in a["rows"]) == a["totals"][key], key
    for key in ("params", "madds", "mac"):
        assert sum(r["share"][key] for r in a["rows"]) == pytest.approx(1)
    previous = a["input_shape"]
    for r in a["rows"]:
        assert r["input_shape"] == previous  # each row reads what the row before wrote
        previous = r["output_shape"]
        assert r["repeats"] == sum(u["count"] for u in r["units"])
        for key in COUNTS:
            assert sum(u["count"] * u[key] for u in r["units"]) == r[key], (r["index"], key)
    assert previous == a["output_shape"]


def _unit_counts(unit: dict) -> dict:
    return {key: unit[key] for key in COUNTS}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_row_link_reproduces_its_counts_through_the_blocks_api(client, analyses, name):
    checked = 0
    for row in analyses[name]["rows"]:
        for unit in row["units"]:
            link = unit["link"]
            if link is None:
                assert unit["block"] in ("max_pool", "global_avg_pool", "linear")
                continue
            r = client.get(f"/api/blocks/{link['kind']}", params=link["config"])
            assert r.status_code == 200, r.text
            block = r.json()
            assert block["input_shape"] == unit["input_shape"]
            assert block["output_shape"] == unit["output_shape"]
            totals = {key: block["totals"][key] for key in COUNTS}
            checked += 1
            if link["same_counts"]:
                assert totals == _unit_counts(unit), (row["index"], link)
                continue
            # only ShuffleNet V1's first Stage2 unit, whose first 1x1 the paper leaves ungrouped
            config = unit["config"]
            assert name.startswith("shufflenet_v1") and config["group_first_conv"] is False, link
            assert link["note"]
            c_in, mid, g = config["in_channels"], config["out_channels"] // 4, config["groups"]
            _, _, h, w = unit["input_shape"]
            assert unit["params"] - totals["params"] == c_in * mid - c_in * mid // g
            assert unit["madds"] - totals["madds"] == h * w * (c_in * mid - c_in * mid // g)
    assert checked > 0


def test_conv_rows_with_another_activation_say_so(analyses):
    stem = analyses["mobilenet_v3_large"]["rows"][0]["units"][0]
    assert stem["block"] == "conv_bn_act" and stem["config"]["act"] == "hardswish"
    assert stem["link"]["kind"] == "conv" and stem["link"]["same_counts"]
    assert "hard-swish" in stem["link"]["note"]
    resnext_stem = analyses["resnext50_32x4d"]["rows"][0]["units"][0]
    assert resnext_stem["link"] == {"kind": "conv", "same_counts": True, "note": None, "config": {
        "in_channels": 3, "out_channels": 64, "kernel_size": 7, "stride": 2, "batch": 1, "height": 224,
        "width": 224}}


# --- sizes, limits, caching ----------------------------------------------------------------------

def test_another_input_size_and_batch(client):
    a = client.get("/api/networks/mobilenet_v2?height=160&width=128&batch=2").json()
    assert a["input_shape"] == [2, 3, 160, 128] and a["output_shape"] == [2, 1000]
    assert a["totals"]["params"] == PUBLISHED["mobilenet_v2"].params
    last_bottleneck = a["rows"][7]
    assert last_bottleneck["input_shape"] == [2, 160, 5, 4]
    link = last_bottleneck["units"][0]["link"]["config"]
    assert (link["batch"], link["height"], link["width"]) == (2, 5, 4)


def test_answers_match_their_documented_models(client):
    body = client.get("/api/networks/shufflenet_v2_x1_0").json()
    assert NetworkAnalysis.model_validate(body).model_dump(mode="json") == body
    body = client.get("/api/networks/repvgg_a0/reparam").json()
    assert NetworkReparam.model_validate(body).model_dump(mode="json") == body
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"NetworkAnalysis", "NetworkRow", "NetworkUnit", "BlockLink", "NetworkSummary",
            "NetworkReparam"} <= set(schemas)


def test_analyses_are_cacheable_with_an_etag(client):
    r = client.get("/api/networks/mobilenet_v3_small")
    assert r.headers["cache-control"].startswith("public")
    again = client.get("/api/networks/mobilenet_v3_small", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("url,param", [
    ("/api/networks/mobilenet_v2?height=0", "height"),
    ("/api/networks/mobilenet_v2?height=100000", "height"),
    ("/api/networks/mobilenet_v2?width=513", "width"),
    ("/api/networks/mobilenet_v2?batch=65", "batch"),
    ("/api/networks/mobilenet_v2?batch=abc", "batch"),
    ("/api/networks/resnext50_32x4d?batch=64&height=512&width=512", "batch"),
    ("/api/networks/resnext50_32x4d/reparam?batch=64&height=512&width=512", "batch"),
])
def test_bad_or_oversized_requests_are_422_naming_the_parameter(client, url, param):
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", param]


def test_unknown_networks_are_404_naming_the_known_ones(client):
    for url in ("/api/networks/vgg16", "/api/networks/vgg16/reparam", "/api/networks/vgg16/onnx"):
        r = client.get(url)
        assert r.status_code == 404
        assert "mobilenet_v2" in r.json()["detail"]


def test_the_memory_limit_is_checked_before_anything_is_built(configure, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a job was sent: a network would have been built with real weights")

    monkeypatch.setattr(measuring, "submit", refuse)  # only the measuring queue builds real networks
    c = configure(max_memory_mb=64)
    r = c.get("/api/networks/resnext50_32x4d?height=64&width=64")  # 100 MB of weights alone
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "height"]
    assert "MiB" in r.json()["detail"][0]["msg"]
    c = configure(max_memory_mb=300)  # it runs, but not beside its deployed copy and fused kernels
    assert c.get("/api/networks/resnext50_32x4d").status_code == 200
    r = c.get("/api/networks/resnext50_32x4d/reparam?equivalence=true")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "equivalence"]
    r = c.get("/api/networks/resnext50_32x4d/onnx")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "height"]


# --- training-time against deployed --------------------------------------------------------------

def test_deployed_repvgg_a0_matches_the_paper_and_the_training_time_network(client):
    r = client.get("/api/networks/repvgg_a0/reparam?equivalence=true").json()
    assert r["before"]["params"] == 9_108_968
    assert r["after"]["params"] == 8_309_384
    paper = PUBLISHED["repvgg_a0"]  # the paper's 8.30M and 1.4 G FLOPs, for the deployed form
    assert paper.form == "deploy" and not paper.params_exact
    assert abs(r["after"]["params"] / paper.params - 1) < 0.005
    assert abs(r["after"]["madds"] / paper.madds - 1) < 0.05
    assert r["after"]["madds"] < r["before"]["madds"] and r["after"]["mac"] < r["before"]["mac"]
    assert r["fused"] == 22  # one merge per RepVGG block (their BNs go with it)
    eq = r["equivalence"]
    assert eq["input_shape"] == [1, 3, 32, 32]
    assert eq["max_rel_diff"] < 1e-3
    for row in r["rows"]:
        assert row["after"]["params"] <= row["before"]["params"]
    assert sum(row["after"]["params"] for row in r["rows"]) == r["after"]["params"]
    # the equivalence is computed once and kept
    assert len(named("network equivalence")) >= 1


def test_deploying_folds_every_batchnorm_without_changing_the_multiply_adds(client):
    r = client.get("/api/networks/mobilenet_v2/reparam").json()
    assert r["equivalence"] is None  # real tensors only when asked for
    assert r["after"]["madds"] == r["before"]["madds"]
    assert r["after"]["params"] < r["before"]["params"]
    # every BN: the stem's, 2 in the t = 1 bottleneck, 3 in each of the 16 others, the last 1x1's
    assert r["fused"] == 52


# --- measured latency ----------------------------------------------------------------------------

SMALL = {"height": 64, "width": 64, "warmup": 1, "repeats": 5}


def test_measured_latency_per_row_adds_up_to_the_ops_timed_alone(client, monkeypatch):
    runs = []
    real = latency_service.run

    def spy(job, **kwargs):
        reports, speedup = real(job, **kwargs)
        runs.append((job, reports))
        return reports, speedup

    monkeypatch.setattr(latency_service, "run", spy)
    r = client.get("/api/networks/shufflenet_v2_x0_5", params={**SMALL, "measure": "true", "fresh": "true"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert NetworkAnalysis.model_validate(body).model_dump(mode="json") == body
    [(job, reports)] = runs
    assert isinstance(job, Timing) and job.per_node and job.forms == (("network", NetworkForm(body["name"])),)
    assert job.input_shape == (1, 3, 64, 64) and job.work and job.memory_bytes > 0
    ops = reports["network"].nodes
    # the counts are the unmeasured analysis's, every row gets its ops' medians
    plain = client.get("/api/networks/shufflenet_v2_x0_5?height=64&width=64").json()
    assert [{k: v for k, v in row.items() if k != "measured"} for row in body["rows"]] == \
        [{k: v for k, v in row.items() if k != "measured"} for row in plain["rows"]]
    rows = [row["measured"] for row in body["rows"]]
    assert sum(row["share"] for row in rows) == pytest.approx(1)
    assert sum(row["measured_us"] for row in rows) == pytest.approx(sum(n.median_us for n in ops), abs=0.01)
    # an op belongs to the row its module path starts with: "<row>.<unit>..."
    with torch.device("meta"):
        module = build_network(NETWORKS[body["name"]])
    modules = {n.id: n.module for n in analyse_graph(module, [1, 3, 64, 64]).nodes if n.op != "input"}
    assert {n.id for n in ops} == set(modules)
    by_row = [0.0] * len(rows)
    for op in ops:
        by_row[int(modules[op.id].split(".")[0])] += op.median_us
    assert [row["measured_us"] for row in rows] == pytest.approx(by_row, abs=1e-3)
    measured = body["measured"]
    assert measured["sum_of_nodes_us"] == pytest.approx(sum(n.median_us for n in ops), abs=0.01)
    assert measured["total"]["median_us"] > 0 and measured["repeats"] == 5 and measured["warmup"] == 1
    assert measured["device"] == "cpu" and measured["device_label"] and not measured["cached"]
    quality = measured["quality"]
    assert set(quality) == {"disturbed", "other_cpu_share", "spread", "ci95_us", "attempts"}
    assert quality["ci95_us"][0] <= quality["ci95_us"][1] and quality["attempts"] >= 1
    # the same request again: the measurement from a moment ago
    again = client.get("/api/networks/shufflenet_v2_x0_5", params={**SMALL, "measure": "true"}).json()
    assert again["measured"]["cached"] and again["measured"]["total"] == measured["total"]


def test_the_sum_of_ops_against_the_whole_is_judged_only_from_clean_data(client, monkeypatch):
    """A disturbed measurement (forced here, whatever its figures) gives no sum-against-whole verdict;
    the figures are still answered."""
    real = latency_service.run

    def disturbed(job, **kwargs):
        reports, speedup = real(job, **kwargs)
        busy = {name: r.model_copy(update={"quality": r.quality.model_copy(update={"disturbed": True})})
                for name, r in reports.items()}
        return busy, speedup

    monkeypatch.setattr(latency_service, "run", disturbed)
    answer = client.get("/api/networks/shufflenet_v2_x0_5", params={**SMALL, "measure": "true"})
    measured = answer.json()["measured"]
    judged = measured["sum_versus_whole"]
    assert measured["quality"]["disturbed"] and judged["verdict"] == "too_noisy"
    assert judged["ratio"] == pytest.approx(measured["sum_of_nodes_us"] / measured["total"]["median_us"])
    lo, hi = judged["sum_band_us"]
    assert lo <= measured["sum_of_nodes_us"] <= hi


def test_a_measurement_that_cannot_fit_the_time_budget_is_refused_naming_the_size(configure):
    c = configure(measure_budget_s=0.001)
    r = c.get("/api/networks/shufflenet_v2_x0_5?height=64&width=64&measure=true")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "height"], r.text
    r = c.get("/api/networks/shufflenet_v2_x0_5?height=64&width=64&batch=2&measure=true")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "batch"], r.text


def test_measuring_is_bounded_before_anything_is_built(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("sent a job it should have refused")

    monkeypatch.setattr(measuring, "submit", refuse)
    # every activation is kept for the op-by-op timing: far over the memory limit
    r = client.get("/api/networks/resnext50_32x4d?batch=64&measure=true")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "batch"]
    for query in ("device=tpu", "threads=0", "repeats=0"):
        r = client.get(f"/api/networks/mobilenet_v2?measure=true&{query}")
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", query.split("=")[0]]
    # without measure=true nothing is measured
    assert client.get("/api/networks/mobilenet_v2?device=cpu&repeats=5").json()["measured"] is None


def test_both_forms_are_timed_in_rounds_with_an_interval_of_their_ratio(client):
    r = client.get("/api/networks/repvgg_a0/reparam", params={**SMALL, "height": 32, "width": 32,
                                                              "measure": "true"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert NetworkReparam.model_validate(body).model_dump(mode="json") == body
    latency = body["latency"]
    assert latency["before"]["repeats"] == latency["after"]["repeats"] == 5
    assert latency["before"]["nodes"] is None  # end to end only: the two forms alternate, round by round
    c = latency["comparison"]
    assert c["of"] == ["before", "after"] and len(c["ci95"]) == 2 and isinstance(c["measurable"], bool)
    medians = latency["before"]["total"]["median_us"], latency["after"]["total"]["median_us"]
    assert c["value"] == pytest.approx(medians[0] / medians[1], rel=1e-3)
    assert c["measurable"] == (not c["ci95"][0] <= 1 <= c["ci95"][1])
    assert client.get("/api/networks/repvgg_a0/reparam").json()["latency"] is None


# --- pages ---------------------------------------------------------------------------------------

def test_the_index_lists_every_network_and_the_menu_and_gallery_link_to_it(client):
    r = client.get("/networks")
    assert r.status_code == 200
    assert re.findall(r'<li class="net-card" data-network="([a-z0-9_]+)"', r.text) == list(NETWORKS)
    for name in NETWORKS:
        assert f'href="/networks/{name}"' in r.text
    gallery = client.get("/").text
    assert 'href="/networks"' in gallery.split("</nav>", 1)[0]  # the site menu
    assert 'href="/networks"' in gallery.split("</nav>", 1)[1]  # the gallery's own section


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_network_has_a_page_and_an_embed_view(client, name):
    page = client.get(f"/networks/{name}?height=160")
    assert page.status_code == 200
    data = page_data(page.text)
    assert data["name"] == name and data["query"] == {"height": "160"} and data["embed"] is False
    assert f'<script type="module" src="{ASSETS}/js/networks.js"></script>' in page.text
    assert "site-header" in page.text and "netron.app" in page.text
    embed = client.get(f"/embed/networks/{name}")
    assert embed.status_code == 200 and "site-header" not in embed.text
    assert page_data(embed.text)["embed"] is True
    assert "script-src 'self'" in embed.headers["content-security-policy"]


def test_an_unknown_network_page_is_404_listing_the_networks(client):
    r = client.get("/networks/%3Cscript%3E")
    assert r.status_code == 404
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text
    assert 'href="/networks/mobilenet_v2"' in r.text
