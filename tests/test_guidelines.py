"""The ShuffleNet V2 guideline lab (Sec. 2, Tables 1-4): structures, counts, paper figures, API, verdict.

Expected counts are written from the paper's closed forms here, independently of the analysis code.
"""

import dataclasses
import itertools
import math
import random
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from blockscope.analysis.graph import analyse_graph
from blockscope.analysis.memory import peak_activation_elements
from blockscope.api.web import ASSETS, PLOTLY_URL
from blockscope.blocks.guidelines import GroupConv1x1, stack
from blockscope.guideline_catalogue import GUIDELINES
from blockscope.schemas import Measurement, Quality, Timing
from blockscope.service import guidelines as service
from blockscope.service import latency


def analysed_rows(name: str, width: int, batch: int) -> list[dict]:
    """Each row's config, whole-network totals and peak activations, through the service's analysis."""
    guideline = GUIDELINES[name]
    return [{"config": guideline.row_config(row, width), "input_shape": graph.input_shape,
             "totals": graph.totals.model_dump(), "peak_activation_elements": peak_activation_elements(graph)}
            for row, (graph, _) in zip(guideline.rows, service.analyse(guideline, width, batch), strict=True)]


def describe(module, shape) -> dict:
    return analyse_graph(module, shape).model_dump()


def report(name: str, **kwargs) -> dict:
    return service.report(name, **kwargs).model_dump()

HW = 56 * 56
DEPTH = 10
WIDTHS = (1, 2, 4)

# The papers' Tables 1-4 (docs/blocks.md, "The guideline lab's structures"), transcribed:
# (label, x1 config, GPU batches/s, ARM images/s)
BLOCKS_MD = {
    "g1": [("1:1", (128, 128), 1480, 76.2), ("1:2", (90, 180), 1296, 72.9),
           ("1:6", (52, 312), 876, 69.1), ("1:12", (36, 432), 748, 57.6)],
    "g2": [("g=1", (1, 128), 2451, None), ("g=2", (2, 180), 1725, None),
           ("g=4", (4, 256), 1026, None), ("g=8", (8, 360), 634, None)],
    "g3": [("1-fragment", None, 2446, None), ("2-fragment-series", None, 1790, None),
           ("4-fragment-series", None, 752, None), ("2-fragment-parallel", None, 1537, None),
           ("4-fragment-parallel", None, 691, None)],
    "g4": [("ReLU + shortcut", (True, True), 2427, None), ("ReLU, no shortcut", (True, False), 2647, None),
           ("shortcut, no ReLU", (False, True), 2672, None), ("neither", (False, False), 2842, None)],
}
ARM_PAIRS = [(32, 32), (22, 44), (13, 78), (9, 108)]


def conv1x1_mac(c1, c2, g=1, n=1):
    """Sec. 2: hw(c1 + c2) + c1 c2 / g, feature maps scaled by the batch n."""
    return n * HW * (c1 + c2) + c1 * c2 // g


def expected_mac(name: str, config: dict, n: int) -> int:
    """MAC of the whole ten-unit network, from the closed forms (reads + writes + weights)."""
    if name == "g1":
        c1, c2 = config["c1"], config["c2"]
        unit = conv1x1_mac(c1, c2, 1, n) + conv1x1_mac(c2, c1, 1, n)
    elif name == "g2":
        c, g = config["channels"], config["groups"]
        unit = conv1x1_mac(c, c, g, n)
    elif name == "g3":
        c, k = config["channels"], config["fragments"]
        unit = k * conv1x1_mac(c, c, 1, n)
        if config["arrangement"] == "parallel":
            unit += (k - 1) * 3 * n * HW * c  # each merge add reads two maps and writes one
    else:
        c = config["bottleneck_channels"]
        o = 4 * c
        unit = conv1x1_mac(o, c, 1, n) + (n * HW * 2 * c + 9 * c * c) + conv1x1_mac(c, o, 1, n)
        if config["relu"]:
            unit += 2 * (2 * n * HW * c) + 2 * n * HW * o
        if config["shortcut"]:
            unit += 3 * n * HW * o
    return DEPTH * unit


def expected_madds(name: str, config: dict, n: int) -> int:
    if name == "g1":
        return DEPTH * 2 * n * HW * config["c1"] * config["c2"]
    if name == "g2":
        return DEPTH * n * HW * config["channels"] ** 2 // config["groups"]
    if name == "g3":
        return DEPTH * config["fragments"] * n * HW * config["channels"] ** 2
    c = config["bottleneck_channels"]
    return DEPTH * n * HW * (4 * c * c + 9 * c * c + 4 * c * c)


@pytest.fixture(params=[(w, n) for w in WIDTHS for n in (1, 3)], ids=lambda p: f"x{p[0]}-batch{p[1]}")
def width_batch(request):
    return request.param


# --- counts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GUIDELINES))
def test_counts_equal_the_closed_forms(name, width_batch):
    width, n = width_batch
    for row in analysed_rows(name, width, n):
        assert row["totals"]["mac"] == expected_mac(name, row["config"], n), row["label"]
        assert row["totals"]["madds"] == expected_madds(name, row["config"], n), row["label"]
        if name != "g4":  # only 1x1 convs: each weight is used once per pixel of each image
            assert row["totals"]["params"] * n * HW == row["totals"]["madds"], row["label"]


def test_counts_on_random_widths_and_batches():
    rng = random.Random(2018)
    for _ in range(8):
        name, width, n = rng.choice(list(GUIDELINES)), rng.choice(WIDTHS), rng.randint(1, 64)
        for row in analysed_rows(name, width, n):
            assert row["input_shape"] == [n, row["input_shape"][1], 56, 56]
            assert row["totals"]["mac"] == expected_mac(name, row["config"], n), (name, width, n)
            assert row["totals"]["madds"] == expected_madds(name, row["config"], n), (name, width, n)


def test_g4_params_and_counts_at_x1_by_hand():
    # 128 -> 32 (1x1), 32 -> 32 (3x3), 32 -> 128 (1x1): 4096 + 9216 + 4096 weights per unit
    rows = analysed_rows("g4", 1, 1)
    assert [r["totals"]["params"] for r in rows] == [10 * 17408] * 4
    assert rows[0]["totals"]["madds"] == 10 * HW * 17408
    # ReLU + shortcut: convs 10*(HW*160 + 4096 + HW*64 + 9216 + HW*160 + 4096), relus 10*HW*(64+64+256),
    # add 10*HW*384
    assert rows[0]["totals"]["mac"] == 10 * (HW * 384 + 17408) + 10 * HW * 384 + 10 * HW * 384


@pytest.mark.parametrize("name", list(GUIDELINES))
def test_madds_match_flop_counter(name):
    guideline = GUIDELINES[name]
    for spec, row in zip(guideline.rows, analysed_rows(name, 2, 2), strict=True):
        with torch.device("meta"):
            network = guideline.build(row["config"])
            x = torch.empty(row["input_shape"])
        with FlopCounterMode(display=False) as counter:
            network(x)
        assert counter.get_total_flops() == 2 * row["totals"]["madds"], spec.label


@pytest.mark.parametrize("name,tolerance", [("g1", 0.06), ("g2", 0.02), ("g3", 0.02)])
def test_madds_equal_across_rows(name, tolerance, width_batch):
    # G1's own channel pairs differ by up to 5.1% (36 x 432 = 15552 vs 128^2 = 16384)
    width, n = width_batch
    madds = [r["totals"]["madds"] for r in analysed_rows(name, width, n)]
    assert max(madds) / min(madds) - 1 <= tolerance
    assert report(name, width_multiplier=width, batch=n, measure=False)["madds_spread"] == \
        pytest.approx(max(madds) / min(madds) - 1)


@pytest.mark.parametrize("name", ["g1", "g2"])
def test_mac_strictly_rises_down_the_table(name, width_batch):
    width, n = width_batch
    mac = [r["totals"]["mac"] for r in analysed_rows(name, width, n)]
    assert all(a < b for a, b in itertools.pairwise(mac)), mac


def test_g1_rows_respect_the_lower_bound_with_equality_at_one_to_one(width_batch):
    width, n = width_batch
    rows = report("g1", width_multiplier=width, batch=n, measure=False)["rows"]
    for row in rows:
        c1, c2 = row["config"]["c1"], row["config"]["c2"]
        b = n * HW * c1 * c2
        bound = 20 * (2 * math.sqrt(n * HW * b) + b / (n * HW))
        assert row["mac_lower_bound"] == pytest.approx(bound, rel=1e-12)
        assert row["mac"] >= bound * (1 - 1e-12)
    assert rows[0]["mac"] == pytest.approx(rows[0]["mac_lower_bound"], rel=1e-12)
    assert all(r["mac"] > r["mac_lower_bound"] * 1.001 for r in rows[1:])


def test_g3_widths_follow_the_derivation():
    for width in WIDTHS:
        rows = analysed_rows("g3", width, 1)
        c1 = 128 * width
        for row in rows:
            k = row["config"]["fragments"]
            c = row["config"]["channels"]
            # the nearest integer to c1 / sqrt(k): k c^2 closest to c1^2 among integers
            assert abs(c - c1 / math.sqrt(k)) <= 0.5
    assert [r["config"]["channels"] for r in analysed_rows("g3", 1, 1)] == [128, 91, 64, 91, 64]
    text = report("g3", measure=False)["derivation"]
    assert "sqrt(n)" in text and "91" in text and "64" in text


def test_peak_activation_by_hand():
    rows = analysed_rows("g4", 1, 1)
    # shortcut: x (128) stays alive to the add; conv3 out (128) and add out (128) coexist with it
    assert rows[0]["peak_activation_elements"] == 384 * HW
    # no shortcut, no ReLU: a conv's input and output at most, 128 + 32
    assert rows[3]["peak_activation_elements"] == 160 * HW
    assert analysed_rows("g1", 1, 2)[0]["peak_activation_elements"] == 2 * 256 * HW


# --- rows and paper figures against the paper's tables ----------------------------------------------------

@pytest.mark.parametrize("name", list(BLOCKS_MD))
def test_rows_and_paper_figures_match_the_paper(name, client):
    data = client.get(f"/api/guidelines/{name}?measure=false").json()
    expected = BLOCKS_MD[name]
    assert [r["label"] for r in data["rows"]] == [e[0] for e in expected]
    for row, (label, config, gpu, arm) in zip(data["rows"], expected, strict=True):
        assert row["paper"]["gpu"] == gpu and row["paper"]["arm"] == arm, label
        assert row["paper"]["gpu_unit"] == "batches/s" and row["paper"]["arm_unit"] == "images/s"
        if name == "g1":
            assert (row["config"]["c1"], row["config"]["c2"]) == config
        elif name == "g2":
            assert (row["config"]["groups"], row["config"]["channels"]) == config
        elif name == "g4":
            assert (row["config"]["relu"], row["config"]["shortcut"]) == config
            assert row["config"]["bottleneck_channels"] == 32 and row["input_shape"][1] == 128
    if name == "g1":
        assert [tuple(r["paper"]["arm_config"].values()) for r in data["rows"]] == ARM_PAIRS
        assert any("(32,32), (22,44), (13,78) and (9,108)" in note for note in data["paper_notes"])
    else:
        assert all(r["paper"]["arm_config"] is None for r in data["rows"])


@pytest.mark.parametrize("width", [2, 4])
def test_no_paper_figures_outside_x1(width, client):
    for name in BLOCKS_MD:
        data = client.get(f"/api/guidelines/{name}?measure=false&width_multiplier={width}").json()
        for row in data["rows"]:
            assert row["paper"]["gpu"] is None and row["paper"]["arm"] is None
            assert row["relative_speed"]["paper_gpu"] is None


def test_width_multiplier_scales_channels(client):
    x1 = client.get("/api/guidelines/g1?measure=false").json()["rows"]
    x4 = client.get("/api/guidelines/g1?measure=false&width_multiplier=4").json()["rows"]
    assert [(r["config"]["c1"] * 4, r["config"]["c2"] * 4) for r in x1] == \
        [(r["config"]["c1"], r["config"]["c2"]) for r in x4]
    g4 = client.get("/api/guidelines/g4?measure=false&width_multiplier=2").json()["rows"]
    assert {r["config"]["bottleneck_channels"] for r in g4} == {64}
    assert {r["input_shape"][1] for r in g4} == {256}


def test_relative_paper_speeds(client):
    data = client.get("/api/guidelines/g1?measure=false").json()
    gpu = [r["relative_speed"]["paper_gpu"] for r in data["rows"]]
    arm = [r["relative_speed"]["paper_arm"] for r in data["rows"]]
    assert gpu == pytest.approx([1, 1296 / 1480, 876 / 1480, 748 / 1480])
    assert arm == pytest.approx([1, 72.9 / 76.2, 69.1 / 76.2, 57.6 / 76.2])
    assert all(r["relative_speed"]["measured"] is None and r["measured"] is None for r in data["rows"])
    assert data["ordering"]["reproduces"] is None


# --- the verdict ---------------------------------------------------------------------------------

def _rows(paper, medians, spread=0.01, disturbed=()):
    """Rows with the paper's GPU figures and measured medians: the IQR and the median's 95% interval
    both `spread` either side; the rows numbered in `disturbed` measured while the server was busy."""
    return [SimpleNamespace(label=f"r{i}", paper=SimpleNamespace(gpu=p), measured=SimpleNamespace(
                median_us=m, p25_us=m * (1 - spread), p75_us=m * (1 + spread),
                quality=SimpleNamespace(disturbed=i in disturbed,
                                        ci95_us=[m * (1 - spread), m * (1 + spread)])))
            for i, (p, m) in enumerate(zip(paper, medians, strict=True))]


def ordering(rows) -> dict:
    return service.ordering(rows).model_dump()


def test_ordering_reproduced_and_not():
    same = ordering(_rows([300, 200, 100], [1.0, 2.0, 3.0]))
    assert same["reproduces"] is True and same["agreeing_pairs"] == same["pairs"] == 3
    assert same["verdict"] == "reproduced" and same["close"] == same["disturbed"] == []
    assert same["paper"] == same["measured"] == ["r0", "r1", "r2"] and same["reversed"] == []
    flipped = ordering(_rows([300, 200, 100], [1.0, 3.0, 2.0]))
    assert flipped["reproduces"] is False and flipped["agreeing_pairs"] == 2
    assert flipped["verdict"] == "not_reproduced"
    assert flipped["measured"] == ["r0", "r2", "r1"]
    assert flipped["reversed"] == [{"paper_faster": "r1", "measured_faster": "r2", "by": pytest.approx(0.5),
                                    "within_noise": False}]
    close = ordering(_rows([300, 200], [2.02, 2.0], spread=0.05))
    assert close["reversed"][0]["within_noise"] is True
    assert close["verdict"] == "too_noisy" and close["reproduces"] is None
    assert close["close"] == [{"paper_faster": "r0", "paper_slower": "r1"}]
    unmeasured = ordering([SimpleNamespace(label="a", paper=SimpleNamespace(gpu=2), measured=None),
                           SimpleNamespace(label="b", paper=SimpleNamespace(gpu=3), measured=None)])
    assert unmeasured["paper"] == ["b", "a"] and unmeasured["measured"] is None
    assert unmeasured["reproduces"] is None and unmeasured["pairs"] == 0 and unmeasured["verdict"] is None


@hsettings(max_examples=60, deadline=None)
@given(st.permutations(range(5)), st.lists(st.floats(1, 1e6), min_size=5, max_size=5, unique=True))
def test_ordering_counts_inversions(perm, medians):
    paper = [1000 - 10 * i for i in range(5)]  # the paper ranks r0 > r1 > ... > r4
    medians = [sorted(medians)[p] for p in perm]
    result = ordering(_rows(paper, medians))
    inversions = sum(1 for i, j in itertools.combinations(range(5), 2) if medians[i] > medians[j])
    assert result["pairs"] == 10 and result["agreeing_pairs"] == 10 - inversions
    # a verdict only from pairs whose 95% intervals (1% either side here) are apart
    apart = {(f"r{i}", f"r{j}"): max(medians[i], medians[j]) * 0.99 > min(medians[i], medians[j]) * 1.01
             for i, j in itertools.combinations(range(5), 2)}
    clear_flip = any(apart[(f"r{i}", f"r{j}")] and medians[i] > medians[j]
                     for i, j in itertools.combinations(range(5), 2))
    expected = "not_reproduced" if clear_flip else "reproduced" if all(apart.values()) else "too_noisy"
    assert result["verdict"] == expected
    assert result["reproduces"] is {"reproduced": True, "not_reproduced": False}.get(expected)
    assert len(result["close"]) == sum(not a for a in apart.values())
    assert result["measured"] == [f"r{i}" for i in sorted(range(5), key=lambda i: medians[i])]


# --- G2 sweep ------------------------------------------------------------------------------------

def test_sweep_holds_madds_while_mac_rises(client):
    data = client.get("/api/guidelines/g2/sweep?channels=128&groups=8").json()
    points = data["points"]
    assert [p["groups"] for p in points] == list(range(1, 17))
    assert data["selected"] == points[7] and points[7]["channels"] == 360
    assert all(p["channels"] % p["groups"] == 0 for p in points)
    assert all(abs(p["madds"] / data["target_madds"] - 1) <= 0.035 for p in points)
    assert all(a["mac"] < b["mac"] for a, b in itertools.pairwise(points))


def test_sweep_points_equal_the_traced_network():
    rng = random.Random(6)
    for _ in range(6):
        channels, batch = rng.randint(16, 512), rng.randint(1, 4)
        for point in rng.sample(service.sweep(channels, batch=batch).model_dump()["points"], 3):
            with torch.device("meta"):
                network = stack(GroupConv1x1, channels=point["channels"], groups=point["groups"])
            totals = describe(network, [batch, point["channels"], 56, 56])["totals"]
            assert (totals["madds"], totals["mac"]) == (point["madds"], point["mac"])


@pytest.mark.parametrize("query,param", [("channels=0", "channels"), ("groups=17", "groups"),
                                         ("batch=0", "batch"), ("channels=x", "channels")])
def test_sweep_rejects_bad_input(client, query, param):
    response = client.get(f"/api/guidelines/g2/sweep?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", param]


# --- API -----------------------------------------------------------------------------------------

def test_unknown_guideline_is_404_naming_the_four(client):
    response = client.get("/api/guidelines/g5")
    assert response.status_code == 404
    assert all(name in response.json()["detail"] for name in ("g1", "g2", "g3", "g4"))


@pytest.mark.parametrize("query,param", [
    ("width_multiplier=3", "width_multiplier"), ("width_multiplier=0", "width_multiplier"),
    ("width_multiplier=two", "width_multiplier"), ("device=tpu", "device"), ("device=cuda:7", "device"),
    ("batch=0", "batch"), ("batch=100000", "batch"), ("threads=0", "threads"), ("threads=100000", "threads"),
])
def test_bad_parameters_are_422_naming_them(client, query, param):
    response = client.get(f"/api/guidelines/g1?measure=false&{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", param]


def test_memory_budget_is_422(configure, monkeypatch):
    client = configure(max_memory_mb=20)
    calls = []
    monkeypatch.setattr(latency, "run", lambda *a, **k: calls.append(a))
    big = client.get("/api/guidelines/g1?width_multiplier=4&batch=2")
    assert big.status_code == 422 and big.json()["detail"][0]["loc"] == ["query", "batch"]
    assert "MiB" in big.json()["detail"][0]["msg"]
    wide = client.get("/api/guidelines/g1?width_multiplier=4")
    assert wide.status_code == 422 and wide.json()["detail"][0]["loc"] == ["query", "width_multiplier"]
    assert calls == []  # refused before anything is built or timed
    assert client.get("/api/guidelines/g1?width_multiplier=4&measure=false").status_code == 200


def fake_run(calls, medians, disturbed=(), spread=0.05):
    """Stands in for the measuring process: records each job, answers with the given medians (their
    95% interval `spread` either side), the rows labelled in `disturbed` flagged as measured while
    the server was busy."""
    def run(job, *, fresh=False, cancel=None):
        calls.append(job)
        [(_, form)] = job.forms
        config = dict(form.config)
        label = next(r.label for r in GUIDELINES[form.guideline].rows
                     if GUIDELINES[form.guideline].row_config(r, 1) == config)
        m = medians[label]
        quality = Quality(disturbed=label in disturbed, other_cpu_share=0.4 if label in disturbed else 0.0,
                          spread=0.1, ci95_us=[m * (1 - spread), m * (1 + spread)], attempts=1)
        total = Timing(median_us=m, p25_us=m * 0.9, p75_us=m * 1.1)
        return {"row": Measurement(total=total, machine="test server", device=job.device,
                                   device_label="fake cpu", torch=torch.__version__,
                                   threads=job.threads or 2, dtype="float32",
                                   warmup=2, repeats=10, samples=10, cached=False, load_average=None,
                                   quality=quality, measured_at="2026-01-01T00:00:00Z",
                                   duration_s=0.01)}, None
    return run


def test_each_row_measured_once_with_its_own_network(client, monkeypatch):
    calls = []
    medians = {"g=1": 100.0, "g=2": 150.0, "g=4": 140.0, "g=8": 400.0}
    monkeypatch.setattr(latency, "run", fake_run(calls, medians))
    response = client.get("/api/guidelines/g2?batch=2&threads=1")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    data = response.json()
    assert len(calls) == 4
    assert all(c.per_node is True and c.threads == 1 and c.device == "cpu" for c in calls)
    for job, row in zip(calls, data["rows"], strict=True):
        [(_, form)] = job.forms
        assert form.guideline == "g2" and dict(form.config) == row["config"]
        assert list(job.input_shape) == [2, row["config"]["channels"], 56, 56]
        module = form.build()  # what the measuring process builds from the job
        convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 10 and {c.groups for c in convs} == {row["config"]["groups"]}
        # the estimate comes from the row's own analysis
        assert sum(w.madds for w in job.work[0]) == row["madds"]
    rows = data["rows"]
    assert rows[1]["measured"]["batches_per_s"] == pytest.approx(1e6 / 150)
    assert rows[1]["measured"]["images_per_s"] == pytest.approx(2e6 / 150)
    assert [r["relative_speed"]["measured"] for r in rows] == \
        pytest.approx([1, 100 / 150, 100 / 140, 100 / 400])
    # g=4 beat g=2, but their 95% intervals (5% either side) overlap: no verdict
    assert data["ordering"]["reproduces"] is None and data["ordering"]["verdict"] == "too_noisy"
    assert data["ordering"]["measured"] == ["g=1", "g=4", "g=2", "g=8"]
    assert data["ordering"]["reversed"] == [{"paper_faster": "g=2", "measured_faster": "g=4",
                                             "by": pytest.approx(150 / 140 - 1), "within_noise": True}]
    assert data["ordering"]["close"] == [{"paper_faster": "g=2", "paper_slower": "g=4"}]


def test_response_shape(client, monkeypatch):
    monkeypatch.setattr(latency, "run", fake_run([], {s.label: 100.0 * (1 + i) for i, s in
                                                      enumerate(GUIDELINES["g3"].rows)}))
    data = client.get("/api/guidelines/g3").json()
    for key in ("guideline", "title", "rule", "paper", "width_multiplier", "batch", "device", "device_label",
                "decisions", "paper_notes", "derivation", "rows", "ordering", "units", "madds_spread"):
        assert key in data
    for row in data["rows"]:
        for key in ("label", "config", "madds", "mac", "measured", "paper", "relative_speed", "unit"):
            assert key in row
        assert set(row["measured"]) >= {"median_us", "p25_us", "p75_us", "batches_per_s", "images_per_s"}
        assert set(row["paper"]) >= {"gpu", "arm"}
        assert set(row["relative_speed"]) == {"measured", "paper_gpu", "paper_arm"}
    assert data["ordering"]["measured"] == [r["label"] for r in data["rows"]]
    # the paper ranks 2-fragment-parallel above 4-fragment-series; measured here in table order
    assert data["ordering"]["reproduces"] is False


# --- verdicts only from clean data; a noisy run never replaces a clean stored result -----------------

G4_PAPER_ORDER = {"neither": 100.0, "shortcut, no ReLU": 200.0, "ReLU, no shortcut": 300.0,
                  "ReLU + shortcut": 400.0}
G4_REVERSED = {"neither": 400.0, "shortcut, no ReLU": 300.0, "ReLU, no shortcut": 200.0,
               "ReLU + shortcut": 100.0}


@pytest.fixture
def lab(configure, tmp_path):
    """A client with its own folder for the stored measurements (nothing left from other tests)."""
    return configure(runtime_dir=str(tmp_path / "runtime"))


def test_every_row_disturbed_gives_no_verdict(lab, monkeypatch):
    """The issue's G4: every row flagged busy, the medians in the reverse of the paper's order, far apart:
    still no "Not reproduced"."""
    monkeypatch.setattr(latency, "run", fake_run([], G4_REVERSED, disturbed=tuple(G4_REVERSED)))
    o = lab.get("/api/guidelines/g4").json()["ordering"]
    assert o["verdict"] == "too_noisy" and o["reproduces"] is None
    assert sorted(o["disturbed"]) == sorted(G4_REVERSED)
    assert o["measured"] == ["ReLU + shortcut", "ReLU, no shortcut", "shortcut, no ReLU", "neither"]


@pytest.mark.parametrize("medians", [G4_PAPER_ORDER, G4_REVERSED])
def test_one_disturbed_row_gives_no_verdict(lab, monkeypatch, medians):
    monkeypatch.setattr(latency, "run", fake_run([], medians, disturbed=("neither",)))
    o = lab.get("/api/guidelines/g4").json()["ordering"]
    assert (o["verdict"], o["reproduces"], o["disturbed"]) == ("too_noisy", None, ["neither"])


def test_overlapping_intervals_give_no_verdict(lab, monkeypatch):
    """In the paper's order, but every median's 95% interval (40% either side) overlaps the next."""
    monkeypatch.setattr(latency, "run", fake_run([], G4_PAPER_ORDER, spread=0.4))
    o = lab.get("/api/guidelines/g4").json()["ordering"]
    assert (o["verdict"], o["reproduces"], o["disturbed"]) == ("too_noisy", None, [])
    assert len(o["close"]) >= 3 and o["reversed"] == []


def test_clean_separate_figures_give_a_verdict(lab, monkeypatch):
    monkeypatch.setattr(latency, "run", fake_run([], G4_PAPER_ORDER))
    assert lab.get("/api/guidelines/g4").json()["ordering"]["verdict"] == "reproduced"
    monkeypatch.setattr(latency, "run", fake_run([], G4_REVERSED))
    o = lab.get("/api/guidelines/g4?fresh=true").json()["ordering"]
    assert o["verdict"] == "not_reproduced" and o["reproduces"] is False
    assert all(not r["within_noise"] for r in o["reversed"]) and len(o["reversed"]) == 6


def _last(client, name="g4"):
    return client.get(f"/api/guidelines/{name}/last").json()["report"]


G4_CLOSE = {"neither": 130.0, "shortcut, no ReLU": 120.0, "ReLU, no shortcut": 110.0,
            "ReLU + shortcut": 100.0}


@pytest.mark.parametrize("medians, noisy", [(G4_REVERSED, {"disturbed": tuple(G4_REVERSED)}),
                                            (G4_CLOSE, {"spread": 0.4})], ids=["disturbed", "overlapping"])
def test_a_noisy_run_never_replaces_a_clean_stored_result(lab, monkeypatch, medians, noisy):
    monkeypatch.setattr(latency, "run", fake_run([], G4_PAPER_ORDER))
    clean = lab.get("/api/guidelines/g4").json()
    assert clean["stored"]["replaced"] is True and clean["stored"]["verdict"] == "reproduced"
    assert _last(lab)["ordering"]["verdict"] == "reproduced"
    monkeypatch.setattr(latency, "run", fake_run([], medians, **noisy))
    busy = lab.get("/api/guidelines/g4?fresh=true").json()
    assert busy["ordering"]["verdict"] == "too_noisy"  # the figures are still answered, not judged
    assert [r["measured"]["median_us"] for r in busy["rows"]] == [medians[r["label"]] for r in busy["rows"]]
    assert busy["stored"] == {"replaced": False, "measured_at": clean["stored"]["measured_at"],
                              "verdict": "reproduced"}
    kept = _last(lab)
    assert kept["ordering"]["verdict"] == "reproduced"
    assert [r["measured"]["median_us"] for r in kept["rows"]] == [400.0, 300.0, 200.0, 100.0]
    # a clean run replaces it, whatever its verdict
    monkeypatch.setattr(latency, "run", fake_run([], G4_REVERSED))
    again = lab.get("/api/guidelines/g4?fresh=true").json()
    assert again["stored"]["replaced"] is True and _last(lab)["ordering"]["verdict"] == "not_reproduced"


def test_a_noisy_run_is_stored_when_nothing_clean_is(lab, monkeypatch):
    monkeypatch.setattr(latency, "run", fake_run([], G4_REVERSED, disturbed=("neither",)))
    first = lab.get("/api/guidelines/g4").json()
    assert first["stored"]["replaced"] is True and _last(lab)["ordering"]["verdict"] == "too_noisy"
    monkeypatch.setattr(latency, "run", fake_run([], G4_PAPER_ORDER, spread=0.4))
    assert lab.get("/api/guidelines/g4?fresh=true").json()["stored"]["replaced"] is True
    assert _last(lab)["ordering"]["close"]  # the later noisy run, as nothing clean was stored


@pytest.fixture
def narrow_g4(monkeypatch, configure):
    """G4 at bottleneck width 2, so that a real measurement of all four rows takes a blink."""
    g4 = GUIDELINES["g4"]
    rows = tuple(dataclasses.replace(r, config={**r.config, "bottleneck_channels": 2}) for r in g4.rows)
    monkeypatch.setitem(GUIDELINES, "g4", dataclasses.replace(g4, rows=rows))
    return configure(min_repeats=5, measure_target_s=0.001, measure_warmup_s=1e-6)


def test_real_measurement_on_cpu(narrow_g4):
    client = narrow_g4
    data = client.get("/api/guidelines/g4?threads=1").json()
    assert [r["input_shape"] for r in data["rows"]] == [[1, 8, 56, 56]] * 4
    for row in data["rows"]:
        m = row["measured"]
        assert 0 < m["p25_us"] <= m["median_us"] <= m["p75_us"]
        assert m["batches_per_s"] == pytest.approx(1e6 / m["median_us"])
        assert m["device"] == "cpu" and m["threads"] == 1 and m["repeats"] >= 5 and m["cached"] is False
    assert data["rows"][0]["relative_speed"]["measured"] == 1
    medians = [r["measured"]["median_us"] for r in data["rows"]]
    fastest_first = [data["rows"][i]["label"] for i in sorted(range(4), key=lambda i: medians[i])]
    assert data["ordering"]["measured"] == fastest_first
    paper_order = fastest_first == ["neither", "shortcut, no ReLU", "ReLU, no shortcut", "ReLU + shortcut"]
    verdict = data["ordering"]["verdict"]
    assert verdict in ("reproduced", "not_reproduced", "too_noisy")
    if verdict == "reproduced":
        assert paper_order
    if verdict == "not_reproduced":
        assert not paper_order
    again = client.get("/api/guidelines/g4?threads=1").json()
    assert all(r["measured"]["cached"] for r in again["rows"])  # the latency cache serves a repeat


# --- page ----------------------------------------------------------------------------------------

def test_page_hands_its_data_as_json(client):
    response = client.get("/guidelines")
    assert response.status_code == 200
    html = response.text
    assert '<script type="application/json" id="page-data">' in html
    assert f'<script type="module" src="{ASSETS}/js/guidelines.js"></script>' in html
    # Plotly is never loaded with the page: plot.js fetches it (named here) when a chart is drawn
    assert f'<meta name="plotly-src" content="{PLOTLY_URL}">' in html and '<script src="/vendor/' not in html
    # every script is either external or the JSON data block (CSP script-src 'self')
    for chunk in html.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # the choices the numbers rest on are on the page, not only in the API
    assert "round(c1 / sqrt(n))" in html and "expands 4x" in html and "without BatchNorm" in html
    assert "(32,32), (22,44), (13,78) and (9,108)" in html


def test_concurrent_analyses_and_forward_passes():
    """The page asks for four analyses at once while a measurement may run: fx tracing patches
    nn.Module.__call__ process-wide, so traces must not disturb each other or other threads' modules."""
    import threading

    from blockscope.analysis.graph import trace

    errors, traces = [], []

    def analyse(name):
        try:
            g = GUIDELINES[name]
            for spec in g.rows:
                config = g.row_config(spec, 2)
                with torch.device("meta"):
                    network = g.build(config)
                for _ in range(3):  # always a real trace: analyse_graph() re-uses graphs it has seen
                    traces.append(len(trace(network).graph.nodes))
                totals = describe(network, g.input_shape(config, 1))["totals"]
                assert totals["mac"] == expected_mac(name, config, 1)
        except Exception as exc:
            errors.append(f"{name}: {exc!r}")

    def forward():
        try:
            net = torch.nn.Sequential(*(torch.nn.Conv2d(4, 4, 1) for _ in range(8))).eval()
            x = torch.randn(1, 4, 4, 4)
            with torch.inference_mode():
                for _ in range(300):
                    assert net(x).shape == (1, 4, 4, 4)
        except Exception as exc:
            errors.append(f"forward: {exc!r}")

    threads = [threading.Thread(target=analyse, args=(n,)) for n in GUIDELINES for _ in range(2)]
    threads.append(threading.Thread(target=forward))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(traces) == 3 * 2 * sum(len(g.rows) for g in GUIDELINES.values())


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_measures_on_cuda(narrow_g4):
    client = narrow_g4
    data = client.get("/api/guidelines/g4?device=cuda:0&batch=8").json()
    assert data["device"] == "cuda:0" and data["threads"] is None
    for row in data["rows"]:
        m = row["measured"]
        assert m["device"] == "cuda:0" and 0 < m["p25_us"] <= m["median_us"] <= m["p75_us"]
        assert m["images_per_s"] == pytest.approx(8 * m["batches_per_s"])
    assert data["ordering"]["verdict"] in ("reproduced", "not_reproduced", "too_noisy")


def test_measure_again_measures_every_row_afresh(narrow_g4):
    client = narrow_g4
    client.get("/api/guidelines/g4?threads=1")
    cached = client.get("/api/guidelines/g4?threads=1").json()
    again = client.get("/api/guidelines/g4?threads=1&fresh=true").json()
    assert all(r["measured"]["cached"] for r in cached["rows"])
    assert not any(r["measured"]["cached"] for r in again["rows"])
    assert all(set(r["measured"]["quality"]) >= {"disturbed", "ci95_us"} for r in again["rows"])


def test_a_result_kept_by_an_older_version_is_judged_by_todays_rule(lab, monkeypatch):
    """A stored report from before verdicts existed (no `verdict`, another `within_noise`) is read back
    with its ordering computed again from its rows: a clean kept result is not shown as too noisy."""
    import json

    from blockscope.config import get_settings

    monkeypatch.setattr(latency, "run", fake_run([], G4_PAPER_ORDER))
    lab.get("/api/guidelines/g4")
    [path] = (get_settings().runtime_path() / "last-guidelines").glob("g4-*.json")
    old = json.loads(path.read_text())
    old["ordering"] = {**old["ordering"], "verdict": None, "reproduces": True, "close": []}
    path.write_text(json.dumps(old))
    assert _last(lab)["ordering"]["verdict"] == "reproduced"
    # and a noisy run still does not replace it
    monkeypatch.setattr(latency, "run", fake_run([], G4_REVERSED, disturbed=("neither",)))
    assert lab.get("/api/guidelines/g4?fresh=true").json()["stored"]["replaced"] is False
