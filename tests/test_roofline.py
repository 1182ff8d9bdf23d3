"""Every measured op on the roofline (docs/numbers.md, "Roofline"): the work, bytes and intensity
cross-checked against the analysis's own counts on random configurations of every kind, the bound
rule on constructed cases, the worked examples of the docs, and the roofline attached to every
measured answer (a cached one too), or null when the ceilings cannot be had."""

import math
import random

import pytest

from blockscope.analysis import roofline as roof
from blockscope.analysis.ops import ELEMENT_SIZE, VIEWS, numel
from blockscope.cache import clear_all
from blockscope.errors import InvalidParameter
from blockscope.guideline_catalogue import GUIDELINES
from blockscope.registry import BLOCKS
from blockscope.schemas import (
    Bandwidth,
    DeviceCeilings,
    Interval,
    Measurement,
    NodeTiming,
    Quality,
    Timing,
)
from blockscope.service import blocks, guidelines, machine
from blockscope.service import latency as latency_service
from blockscope.service import roofline as placing

from .configs import random_configs

CLEAN = Quality(disturbed=False, other_cpu_share=0.0, spread=0.05, ci95_us=[1.0, 2.0], attempts=1)
KiB, MiB = 2**10, 2**20


def ceilings(*, overhead: float = 2.5, quality: Quality = CLEAN) -> DeviceCeilings:
    """The example ceilings of docs/numbers.md ("Roofline"): a two-core CPU, peak 150 GFLOP/s."""
    def bw(size, gbs, level):
        return Bandwidth(working_set_bytes=size, gbs=gbs, ci95=[gbs * 0.95, gbs * 1.05], level=level)
    return DeviceCeilings(
        device="cpu", device_label="example CPU", threads=2,
        compute_gflops=Interval(value=150.0, ci95=[147.0, 153.0]),
        family_gflops={"conv2d": Interval(value=120.0, ci95=[117.0, 123.0])},
        bandwidth_gbs=[bw(48 * KiB, 200.0, "L1"), bw(2 * MiB, 60.0, "L2"), bw(32 * MiB, 30.0, "L3"),
                       bw(1024 * MiB, 10.0, "DRAM")],
        call_overhead_us=Interval(value=overhead, ci95=[overhead * 0.9, overhead * 1.1]),
        ridge_flop_per_byte=15.0, theoretical=None, measured_at="2026-01-01T00:00:00Z", torch="2",
        method="by hand", quality=quality, age_s=0.0, stale=False)


def timing(median: float, spread: float = 0.05) -> Timing:
    return Timing(median_us=median, p25_us=median * (1 - spread), p75_us=median * (1 + spread))


def measurement(nodes: list[NodeTiming], *, disturbed: bool = False, median: float = 100.0) -> Measurement:
    quality = CLEAN.model_copy(update={"disturbed": disturbed})
    return Measurement(machine="test", device="cpu", device_label="example CPU", torch="2", threads=2,
                       dtype="float32", warmup=1, repeats=3, samples=3, total=timing(median),
                       quality=quality, cached=False, load_average=None, measured_at="2026-01-01T00:00:00Z",
                       duration_s=0.1, nodes=nodes)


def timed(analysis, rng: random.Random, spread: float = 0.05) -> list[NodeTiming]:
    """Hand-made medians for every op of `analysis` (no measurement: the test stays fast)."""
    ops = [n for n in analysis.nodes if n.op != "input"]
    medians = [rng.lognormvariate(2, 1.5) for _ in ops]
    return [NodeTiming(id=n.id, op=n.op, share=m / sum(medians), **dict(timing(m, spread)))
            for n, m in zip(ops, medians, strict=True)]


# --- the counts: cross-checked against the analysis -----------------------------------------------

@pytest.mark.parametrize("kind", BLOCKS)
def test_work_bytes_and_intensity_are_the_analysis_counts(kind):
    rng = random.Random(kind)
    example = ceilings()
    for values in random_configs(BLOCKS[kind], 6):
        analysis = blocks.analyse(kind, values).data
        placed = placing.attach(measurement(timed(analysis, rng)), analysis, example)
        by_id = {n.id: n for n in analysis.nodes}
        for t in placed.nodes:
            node, r = by_id[t.id], t.roofline
            # independently of the count rules' code: from the node's shapes and parameters
            reads_writes = 0 if node.op in VIEWS else \
                sum(numel(s) for s in node.input_shapes) + numel(node.output_shape) + node.params
            assert r.bytes == reads_writes * ELEMENT_SIZE == node.mac * 4
            assert r.flops == 2 * node.madds + node.elementwise
            assert r.intensity == (r.flops / r.bytes if r.bytes else 0.0)
            assert r.achieved_gflops == pytest.approx(r.flops / (t.median_us * 1e3))
            assert r.achieved_gbs == pytest.approx(r.bytes / (t.median_us * 1e3))
            assert r.achieved_gflops_ci == pytest.approx([r.flops / (t.p75_us * 1e3),
                                                          r.flops / (t.p25_us * 1e3)])
        whole = placed.roofline.whole
        totals = analysis.totals
        assert whole.flops == 2 * totals.madds + totals.elementwise == \
            sum(t.roofline.flops for t in placed.nodes)
        assert whole.bytes == totals.mac_bytes == sum(t.roofline.bytes for t in placed.nodes)
        assert sum(placed.roofline.by_bound.values()) == pytest.approx(1)
        assert set(placed.roofline.by_bound) == {"compute", "memory", "overhead"}


# --- the bound rule --------------------------------------------------------------------------------

def bound_by_hand(flops: int, nbytes: int, example: DeviceCeilings, calls: int = 1) -> str:
    """The rule of docs/numbers.md, written out again here."""
    peak = max(150.0, 120.0)
    gbs = next((b.gbs for b in example.bandwidth_gbs if b.working_set_bytes >= nbytes), 10.0)
    if calls * example.call_overhead_us.value >= max(flops / peak / 1e3, nbytes / gbs / 1e3):
        return "overhead"
    return "memory" if nbytes and flops / nbytes < peak / gbs else "compute"


def test_exactly_at_the_ridge_is_compute_bound():
    # 4 MiB lives in L3 (30 GB/s): the ridge there is 150 / 30 = 5 FLOP/byte
    r = roof.place(5 * 4 * MiB, 4 * MiB, timing(1000.0), ceilings())
    assert r.level == "L3" and r.intensity == 5.0 and r.bound == "compute"
    below = roof.place(5 * 4 * MiB - 1, 4 * MiB, timing(1000.0), ceilings())
    assert below.bound == "memory"


def test_a_tiny_op_is_overhead_bound():
    r = roof.place(100, 800, timing(3.0), ceilings())
    assert r.roof_time_us < 2.5 and r.bound == "overhead"
    # the same op where a call costs nothing is held against its roofs
    assert roof.place(100, 800, timing(3.0), ceilings(overhead=0.0)).bound == "memory"


def test_a_view_moves_nothing_and_is_overhead():
    r = roof.place(0, 0, timing(0.4), ceilings())
    assert (r.intensity, r.attainable_gflops, r.fraction_of_roof, r.roof_time_us) == (0.0, 0.0, 0.0, 0.0)
    assert r.bound == "overhead" and r.level == "L1"


def test_a_large_depthwise_conv_is_memory_bound_and_a_large_dense_conv_compute_bound():
    example = ceilings()
    dw = next(n for n in blocks.analyse("depthwise_separable", {"in_channels": 512, "out_channels": 512,
                                                                "height": 112, "width": 112}).data.nodes
              if n.id == "depthwise_conv")
    dense = next(n for n in blocks.analyse("conv", {"in_channels": 256, "out_channels": 256, "height": 56,
                                                    "width": 56}).data.nodes if n.op == "conv2d")
    placed_dw = roof.place_node(dw, timing(5000.0), example)
    placed_dense = roof.place_node(dense, timing(50000.0), example)
    assert placed_dw.level == "DRAM" and placed_dw.intensity < 10 and placed_dw.bound == "memory"
    assert placed_dense.intensity > 100 and placed_dense.bound == "compute"


@pytest.mark.parametrize(("nbytes", "level"), [(0, "L1"), (48 * KiB, "L1"), (48 * KiB + 1, "L2"),
                                               (2 * MiB, "L2"), (32 * MiB, "L3"), (32 * MiB + 4, "DRAM"),
                                               (8 * 1024 * MiB, "DRAM")])
def test_the_working_set_picks_the_level_just_above_it(nbytes, level):
    assert roof.place(nbytes, nbytes, timing(10.0), ceilings()).level == level


def test_the_bandwidths_need_not_come_sorted():
    example = ceilings()
    shuffled = example.model_copy(update={"bandwidth_gbs": example.bandwidth_gbs[::-1]})
    assert roof.place(MiB, MiB, timing(10.0), shuffled) == roof.place(MiB, MiB, timing(10.0), example)


def test_random_ops_follow_the_rule_and_the_roofs():
    rng = random.Random(0)
    example = ceilings()
    for _ in range(2000):
        nbytes = int(10 ** rng.uniform(0, 10))
        flops = int(nbytes * 10 ** rng.uniform(-3, 3)) if rng.random() < 0.9 else 0
        median = 10 ** rng.uniform(-1, 5)
        r = roof.place(flops, nbytes, timing(median), example)
        gbs = next(b.gbs for b in example.bandwidth_gbs if b.level == r.level)
        assert r.bound == bound_by_hand(flops, nbytes, example)
        assert r.attainable_gflops == pytest.approx(min(150.0, r.intensity * gbs), rel=1e-9)
        assert r.roof_time_us == pytest.approx(max(flops / 150e3, nbytes / (gbs * 1e3)), rel=1e-12)
        if flops:
            assert r.fraction_of_roof == pytest.approx(r.achieved_gflops / r.attainable_gflops, rel=1e-9)
        else:  # a pure copy: its share of the bandwidth roof
            assert r.fraction_of_roof == pytest.approx(r.achieved_gbs / gbs, rel=1e-9)


def test_a_whole_pass_pays_one_call_per_op():
    tiny = blocks.analyse("activation", {"height": 2, "width": 2}).data
    assert roof.place_whole(tiny.nodes, timing(9.0), ceilings()).bound == "overhead"
    big = blocks.analyse("conv", {}).data
    assert roof.place_whole(big.nodes, timing(2000.0), ceilings()).bound == "compute"
    slow_calls = ceilings(overhead=1e6)
    assert roof.place_whole(big.nodes, timing(2000.0), slow_calls).bound == "overhead"


@pytest.mark.parametrize("kind", BLOCKS)
def test_a_pass_is_held_against_each_ops_own_roofs(kind):
    """A whole pass's roof time is the sum of its ops' (each against its own working set's roof), so
    a pass of ops that each fit a cache is not held against DRAM for their summed bytes; its totals
    are the analysis's."""
    example = ceilings()
    for values in [BLOCKS[kind].defaults(), *random_configs(BLOCKS[kind], 3, seed=5)]:
        analysis = blocks.analyse(kind, values).data
        whole = roof.place_whole(analysis.nodes, timing(1000.0), example)
        ops = [n for n in analysis.nodes if n.op != "input"]
        assert whole.flops == 2 * analysis.totals.madds + analysis.totals.elementwise
        assert whole.bytes == analysis.totals.mac_bytes
        allowed = sum(roof.roof_time_us(roof.flops_of(n), roof.bytes_of(n), example) for n in ops)
        assert whole.roof_time_us == pytest.approx(allowed, rel=1e-12)
        if whole.flops:
            assert whole.attainable_gflops == pytest.approx(whole.flops / (allowed * 1e3), rel=1e-12)
        moving = sum(roof.bytes_of(n) / roof.roof_for(example, roof.bytes_of(n)).gbs for n in ops)
        assert whole.roof_gbs == pytest.approx(whole.bytes / moving, rel=1e-12)
        assert whole.roof_gbs >= min(b.gbs for b in example.bandwidth_gbs)


def test_a_larger_working_sets_bandwidth_is_a_floor_for_a_smaller_ones():
    """A dip measured at a small working set (a copy that size runs on one thread) is not the roof:
    the roof at a size is the best bandwidth measured at that size or larger."""
    example = ceilings()
    sizes = sorted(example.bandwidth_gbs, key=lambda b: b.working_set_bytes)
    dipped = [b.model_copy(update={"gbs": b.gbs / 10}) if i == 0 else b for i, b in enumerate(sizes)]
    dip = example.model_copy(update={"bandwidth_gbs": dipped})
    first = roof.roof_for(dip, 1)
    assert first.level == sizes[0].level and first.working_set_bytes == sizes[0].working_set_bytes
    assert first.gbs == max(b.gbs for b in dipped)
    for b in sizes:  # an ordinary, falling profile is read as measured
        larger = [x.gbs for x in sizes if x.working_set_bytes >= b.working_set_bytes]
        assert roof.roof_for(example, b.working_set_bytes).gbs == max(larger)


# --- the worked examples of docs/numbers.md ("Roofline") --------------------------------------------

EXAMPLES = [  # kind, node, its median in µs, then what the docs state
    ("conv", "conv", 2100.0, dict(flops=231_211_008, bytes=1_753_088, intensity=131.89, level="L2",
                                  achieved_gflops=110.10, attainable_gflops=150.0, fraction_of_roof=0.734,
                                  roof_time_us=1541.41, bound="compute")),
    ("depthwise_separable", "depthwise_conv", 180.0,
     dict(flops=3_612_672, bytes=1_607_936, intensity=2.25, level="L2", achieved_gflops=20.07,
          achieved_gbs=8.93, attainable_gflops=134.81, fraction_of_roof=0.149, roof_time_us=26.80,
          bound="memory")),
    ("channel_shuffle", "shuffle", 9.0, dict(flops=0, bytes=401_408, intensity=0.0, level="L2",
                                              achieved_gbs=44.60, attainable_gflops=0.0,
                                              fraction_of_roof=0.743, roof_time_us=6.69, bound="memory")),
    ("squeeze_excitation", "act", 3.0, dict(flops=4, bytes=32, intensity=0.125, level="L1",
                                             roof_time_us=0.00016, bound="overhead")),
]


@pytest.mark.parametrize(("kind", "node_id", "median", "stated"), EXAMPLES)
def test_the_worked_examples_of_the_docs(kind, node_id, median, stated):
    node = next(n for n in blocks.analyse(kind, {}).data.nodes if n.id == node_id)
    r = roof.place_node(node, timing(median), ceilings())
    for field, value in stated.items():
        got = getattr(r, field)
        # the docs round: to the digits they show
        assert got == (pytest.approx(value, rel=2e-3, abs=1e-6) if isinstance(value, float) else value), field


# --- attached to measured answers --------------------------------------------------------------------

SMALL = "height=8&width=8&warmup=1&repeats=3"


@pytest.fixture
def fresh_cache():
    clear_all()
    yield
    clear_all()


def test_a_latency_answer_has_every_op_on_the_roofline_and_so_does_its_cached_copy(fresh_cache, client,
                                                                                   monkeypatch):
    monkeypatch.setattr(machine, "ceilings", lambda device="cpu", threads=None, **_: ceilings())
    first = client.get(f"/api/blocks/depthwise_separable/latency?{SMALL}&fresh=true")
    again = client.get(f"/api/blocks/depthwise_separable/latency?{SMALL}")
    assert first.status_code == again.status_code == 200, first.text
    assert not first.json()["cached"] and again.json()["cached"]
    for body in (first.json(), again.json()):
        assert body["roofline"]["ceilings"]["device_label"] == "example CPU"
        assert body["roofline"]["sentences"]
        assert all(n["roofline"] is not None for n in body["nodes"])
        assert body["roofline"]["whole"]["flops"] == sum(n["roofline"]["flops"] for n in body["nodes"])


def test_without_ceilings_the_latency_answer_has_no_roofline_but_is_answered(fresh_cache, client,
                                                                             monkeypatch):
    def refused(device="cpu", threads=None, **_):
        raise RuntimeError("the ceilings could not be measured")
    monkeypatch.setattr(machine, "ceilings", refused)
    answer = client.get(f"/api/blocks/activation/latency?{SMALL}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["roofline"] is None and all(n["roofline"] is None for n in body["nodes"])


def test_the_ceilings_asked_for_are_the_measurements_device_and_threads(fresh_cache, client, monkeypatch):
    asked = []

    def record(device="cpu", threads=None, **_):
        asked.append((device, threads))
        return ceilings()
    monkeypatch.setattr(machine, "ceilings", record)
    body = client.get(f"/api/blocks/activation/latency?{SMALL}&threads=1").json()
    assert asked == [("cpu", 1)] and body["threads"] == 1 and body["roofline"] is not None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_at_every_kinds_defaults_no_op_sits_above_its_roof(fresh_cache, client):
    """Measured for real against this server's measured ceilings: every op has a dot, and none sits
    above its roof by more than its own interval: the slow end of the dot's interval (flops over its
    p75 time) is within the roof and the width of the roof's interval. Skipped when the ceilings
    were measured while disturbed (a roof measured low, as other work makes it, would put honest ops
    above it)."""
    for kind in BLOCKS:
        answer = client.get(f"/api/blocks/{kind}/latency")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["roofline"] is not None, f"{kind}: no roofline (the ceilings could not be had)"
        c = body["roofline"]["ceilings"]
        if c["quality"]["disturbed"]:  # other work makes a roof measure low: nothing to hold ops against
            pytest.skip("the ceilings were measured while other work used the cores; run again when idle")
        peaks = [c["compute_gflops"], *c["family_gflops"].values()]
        peak = max(peaks, key=lambda i: i["value"])
        for n in body["nodes"]:
            r = n["roofline"]
            assert r is not None, f"{kind}: {n['id']} has no dot"
            # the set whose bandwidth the roof is (its own level's, or a larger set's: roof_for)
            band = next(b for b in c["bandwidth_gbs"] if b["gbs"] == r["roof_gbs"])
            width = max((peak["ci95"][1] - peak["ci95"][0]) / peak["value"],
                        (band["ci95"][1] - band["ci95"][0]) / band["gbs"])
            assert r["achieved_gflops_ci"][0] <= r["attainable_gflops"] * (1 + width) + 1e-9, \
                f"{kind}: {n['id']} above its roof: {r}"
            if r["flops"] == 0:  # a copy: its bytes against the bandwidth roof
                slow_end = r["achieved_gbs"] * n["median_us"] / n["p75_us"]  # bytes over the p75 time
                assert slow_end <= r["roof_gbs"] * (1 + width) + 1e-9, \
                    f"{kind}: {n['id']} above its bandwidth roof: {r}"
            assert math.isfinite(r["intensity"])
        # the whole pass too: each op against its own roofs, the pass under their sum
        whole = body["roofline"]["whole"]
        widest = max((b["ci95"][1] - b["ci95"][0]) / b["gbs"] for b in c["bandwidth_gbs"])
        width = max((peak["ci95"][1] - peak["ci95"][0]) / peak["value"], widest)
        assert whole["achieved_gflops_ci"][0] <= whole["attainable_gflops"] * (1 + width) + 1e-9, \
            f"{kind}: the whole pass above its roof: {whole}"


# --- the guideline lab ---------------------------------------------------------------------------------

def fake_rows(guideline, *, refuse_per_node: bool = False):
    """Stands in for the measuring process on a guideline's rows: every op at twice its roof time plus
    one call (so the dots sit below their roofs), or, with `refuse_per_node`, a refusal of timing op by
    op (the time budget) and the row end to end only."""
    graphs = {r.label: graph for r, (graph, _) in zip(guideline.rows, guidelines.analyse(guideline, 1, 1),
                                                       strict=True)}
    jobs = []

    def run(job, *, fresh=False, cancel=None):
        jobs.append(job)
        if job.per_node and refuse_per_node:
            raise InvalidParameter("width_multiplier", "too slow op by op", 1)
        [(_, form)] = job.forms
        label = next(r.label for r in guideline.rows if guideline.row_config(r, 1) == dict(form.config))
        graph = graphs[label]
        nodes = [NodeTiming(id=n.id, op=n.op, share=0.0, **dict(timing(
                    2 * roof.place_node(n, timing(1.0), ceilings()).roof_time_us + 2.5)))
                 for n in graph.nodes if n.op != "input"] if job.per_node else None
        whole = sum(n.median_us for n in nodes) if nodes else 1000.0
        return {"row": measurement(nodes, median=whole)}, None
    return run, jobs


def test_every_measured_guideline_row_has_its_dots_and_the_report_explains_them(fresh_cache, monkeypatch):
    monkeypatch.setattr(machine, "ceilings", lambda device="cpu", threads=None, **_: ceilings())
    run, jobs = fake_rows(GUIDELINES["g3"])
    monkeypatch.setattr(latency_service, "run", run)
    report = guidelines.report("g3")
    assert all(job.per_node for job in jobs) and len(jobs) == len(report.rows)
    for row in report.rows:
        assert row.measured.roofline is not None and row.measured.nodes
        assert all(t.roofline is not None for t in row.measured.nodes)
    *per_row, argued = report.explanation
    assert [s.split(":")[0] for s in per_row] == [r.label for r in report.rows]
    assert per_row[0].startswith("1-fragment: the 1x1 Conv ops take 100% of the op time, ")
    assert argued.startswith(f"Op time in overhead-bound ops, where {GUIDELINES['g3'].argued_because}: "
                             "1-fragment 0%, ")


def test_a_row_too_slow_to_time_op_by_op_is_timed_end_to_end(fresh_cache, monkeypatch):
    monkeypatch.setattr(machine, "ceilings", lambda device="cpu", threads=None, **_: ceilings())
    run, jobs = fake_rows(GUIDELINES["g1"], refuse_per_node=True)
    monkeypatch.setattr(latency_service, "run", run)
    report = guidelines.report("g1")
    assert [job.per_node for job in jobs] == [True, False] * len(report.rows)
    for row in report.rows:
        assert row.measured.nodes is None and row.measured.roofline.by_bound == {}
        assert row.measured.roofline.whole.flops == 2 * row.madds + row.elementwise
    assert report.explanation == []
