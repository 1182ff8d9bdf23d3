"""The sentences of a roofline (docs/numbers.md, "Roofline"): on random configurations of every kind,
every number a sentence shows is the data's, rounded as shown, and every word (the bound, more or
less) follows from the figures; no verdict from a disturbed measurement or from overlapping intervals;
the kernel's reorders and padded multiply-adds named as they are."""

import random
import re

import pytest

from blockscope.lessons import amount
from blockscope.registry import BLOCKS
from blockscope.schemas import KernelInfo, NodeTiming, Reorder, RowMeasurement
from blockscope.service import blocks
from blockscope.service import roofline as placing
from blockscope.wording import TOO_NOISY

from .configs import random_configs
from .test_roofline import ceilings, measurement, timed, timing

PCT = r"(?:under 0\.1%|[\d.]+%)"
NUM = r"[\d,.e+-]+"
DUR = r"[\d.]+ (?:µs|ms)"
OUT_OF_PROPORTION = re.compile(rf"^The .+ \([^()]+\) does {PCT} of the multiply-adds and takes ")
VERDICT = re.compile(rf"^The (?P<label>.+) \((?P<id>[^()]+)\) takes (?P<time>{PCT}) of the time, "
                     r"(?P<madds>and does none of the multiply-adds|"
                     rf"(?P<word>more than|less than|as much as) its (?P<madds_share>{PCT}) "
                     r"of the multiply-adds): (?P<why>.+)\.$")
WHY = {
    "memory": re.compile(rf"^memory-bound at (?P<intensity>{NUM}) FLOP/byte, at (?P<fraction>{PCT}) of the "
                         rf"(?P<level>\w+) bandwidth \((?P<achieved>{NUM}) of (?P<roof>{NUM}) GB/s\)$"),
    "copy": re.compile(rf"^memory-bound, a copy with no arithmetic, at (?P<fraction>{PCT}) of the "
                       rf"(?P<level>\w+) bandwidth \((?P<achieved>{NUM}) of (?P<roof>{NUM}) GB/s\)$"),
    "compute": re.compile(rf"^compute-bound at (?P<intensity>{NUM}) FLOP/byte, at (?P<fraction>{PCT}) of "
                          rf"the compute peak \((?P<achieved>{NUM}) of (?P<roof>{NUM}) GFLOP/s\)$"),
    "view": re.compile(rf"^call overhead: it moves no data, and one call costs (?P<overhead>{DUR})$"),
    "overhead": re.compile(rf"^call overhead: the roofs allow (?P<roof_time>{DUR}), one call costs "
                           rf"(?P<overhead>{DUR}), and it took (?P<median>{DUR})$"),
}


def shown_percent(text: str, value: float) -> None:
    """`text` is `value` (a share) as `percent` shows it: to the digits shown."""
    if text.startswith("under"):
        assert 0 < value < 0.0005
        return
    number = float(text.rstrip("%"))
    assert abs(number - 100 * value) <= (0.5 if number >= 1 or number == 0 else 0.05) + 1e-9, (text, value)


def shown_figure(text: str, value: float) -> None:
    number = float(text.replace(",", ""))
    assert number == pytest.approx(value, rel=0.051, abs=0.051 if value >= 1 else 0), (text, value)


def shown_duration(text: str, us: float) -> None:
    number, unit = text.split()
    number = float(number) * (1000 if unit == "ms" else 1)
    assert number == pytest.approx(us, abs=5 if unit == "ms" else 0.05 if us >= 1 else 0.005), (text, us)


def check_verdict(sentence: str, analysis, nodes: list[NodeTiming], example) -> None:
    match = VERDICT.match(sentence)
    assert match, sentence
    total = sum(t.median_us for t in nodes)
    top = max(nodes, key=lambda t: t.median_us)
    node = next(n for n in analysis.nodes if n.id == top.id)
    assert (match["id"], match["label"]) == (top.id, node.label)
    shown_percent(match["time"], top.median_us / total)
    if match["word"] is None:
        assert node.madds == 0 or analysis.totals.madds == 0
    else:
        shown_percent(match["madds_share"], node.madds / analysis.totals.madds)
        time, madds = (float(match[g].rstrip("%")) if match[g][0].isdigit() else 0.0
                       for g in ("time", "madds_share"))
        assert match["word"] == ("more than" if madds < time else
                                 "less than" if madds > time else "as much as")
    r = top.roofline
    # the bound, written out again from the rule (docs/numbers.md)
    peak = max(example.compute_gflops.value, *(i.value for i in example.family_gflops.values()))
    gbs = next((b.gbs for b in example.bandwidth_gbs if b.working_set_bytes >= r.bytes),
               example.bandwidth_gbs[-1].gbs)
    roof_time = max(r.flops / peak / 1e3, r.bytes / gbs / 1e3)
    bound = "overhead" if example.call_overhead_us.value >= roof_time else \
        "memory" if r.bytes and r.flops / r.bytes < peak / gbs else "compute"
    assert r.bound == bound
    kind = "view" if bound == "overhead" and r.bytes == 0 else \
        "copy" if bound == "memory" and r.flops == 0 else bound
    why = WHY[kind].match(match["why"])
    assert why, (kind, match["why"])
    fields = why.groupdict()
    if "intensity" in fields:
        shown_figure(fields["intensity"], r.flops / r.bytes)
    if "fraction" in fields:
        shown_percent(fields["fraction"], roof_time / top.median_us)
    if bound == "memory":
        assert fields["level"] == r.level
        shown_figure(fields["achieved"], r.bytes / top.median_us / 1e3)
        shown_figure(fields["roof"], gbs)
    if bound == "compute":
        shown_figure(fields["achieved"], r.flops / top.median_us / 1e3)
        shown_figure(fields["roof"], peak)
    if "overhead" in fields:
        shown_duration(fields["overhead"], example.call_overhead_us.value)
    if "roof_time" in fields:
        shown_duration(fields["roof_time"], roof_time)
        shown_duration(fields["median"], top.median_us)


@pytest.mark.parametrize("kind", BLOCKS)
def test_every_number_and_word_of_the_verdict_is_the_datas(kind):
    rng = random.Random(f"sentences-{kind}")
    for values in random_configs(BLOCKS[kind], 8, seed=1):
        analysis = blocks.analyse(kind, values).data
        # a call's cost drawn so that some ops fall under it and some not
        example = ceilings(overhead=rng.choice([0.0, 0.5, 2.5, 40.0]))
        nodes = timed(analysis, rng, spread=0.02)
        placed = placing.attach(measurement(nodes), analysis, example)
        ranked = sorted(placed.nodes, key=lambda t: t.median_us, reverse=True)
        [first, *_] = placed.roofline.sentences
        if len(ranked) > 1 and ranked[0].p25_us <= ranked[1].p75_us:
            assert "too close to say which dominates" in first
            continue
        check_verdict(first, analysis, placed.nodes, example)


def test_a_disturbed_measurement_gets_no_verdict():
    analysis = blocks.analyse("depthwise_separable", {}).data
    nodes = timed(analysis, random.Random(0))
    placed = placing.attach(measurement(nodes, disturbed=True), analysis, ceilings())
    [sentence] = placed.roofline.sentences
    assert TOO_NOISY in sentence and "bound" not in sentence and "dominates" in sentence
    assert placed.roofline.by_bound and all(t.roofline for t in placed.nodes)  # the dots stay


def test_disturbed_ceilings_give_no_verdict_either():
    analysis = blocks.analyse("conv", {}).data
    noisy = ceilings().quality.model_copy(update={"disturbed": True})
    placed = placing.attach(measurement(timed(analysis, random.Random(0))), analysis, ceilings(quality=noisy))
    assert placed.roofline.sentences == [
        "No op is named as the one that dominates: the ceilings ran while other work used the cores or "
        f"the samples spread widely; {TOO_NOISY}."]


def nodes_of(analysis, medians: dict[str, float], spread: float = 0.02, **kernels) -> list[NodeTiming]:
    return [NodeTiming(id=n.id, op=n.op, share=0.0, kernel=kernels.get(n.id),
                       **dict(timing(medians.get(n.id, 1.0), spread)))
            for n in analysis.nodes if n.op != "input"]


def test_overlapping_intervals_name_both_ops_and_no_verdict():
    analysis = blocks.analyse("depthwise_separable", {}).data
    nodes = nodes_of(analysis, {"depthwise_conv": 100.0, "pointwise_conv": 96.0}, spread=0.05)
    [sentence] = placing.attach(measurement(nodes), analysis, ceilings()).roofline.sentences
    assert sentence.startswith("The 3x3 DWConv (depthwise_conv) and the 1x1 Conv (pointwise_conv) take ")
    assert "too close to say which dominates" in sentence and "bound" not in sentence


def test_the_depthwise_sentence_with_its_kernel():
    """The example of docs/numbers.md: a depthwise conv that dominates, with two reorders around it and
    channels padded by its blocked layout."""
    analysis = blocks.analyse("depthwise_separable", {"in_channels": 60, "out_channels": 128}).data
    dw = next(n for n in analysis.nodes if n.id == "depthwise_conv")
    kernel = KernelInfo(aten=["aten::conv2d", "aten::mkldnn_convolution"], impl="jit:avx512_core",
                        layout="aBcd16b", reorder_us=670.0,
                        effective_channels={"in_channels": 64, "out_channels": 64},
                        effective_madds=dw.madds // 60 * 64, effective_bytes=None,
                        reorders=[Reorder(tensor="input", shape="1x60x56x56", src_layout="abcd",
                                          dst_layout="aBcd16b", time_us=410.0),
                                  Reorder(tensor="output", shape="1x60x56x56", src_layout="aBcd16b",
                                          dst_layout="abcd", time_us=260.0)])
    nodes = nodes_of(analysis, {"depthwise_conv": 1500.0, "pointwise_conv": 600.0}, depthwise_conv=kernel)
    placed = placing.attach(measurement(nodes), analysis, ceilings())
    verdict, ran, padded = placed.roofline.sentences
    check_verdict(verdict, analysis, placed.nodes, ceilings())
    assert verdict.startswith("The 3x3 DWConv (depthwise_conv) takes ") and "memory-bound" in verdict
    assert ran == ("It runs as jit:avx512_core between two layout reorders that take 410.0 µs and 260.0 µs, "
                   "of the 1.50 ms it took (input abcd → aBcd16b; output aBcd16b → abcd).")
    padded_madds = dw.madds // 60 * 64
    assert padded == (f"Its blocked layout computes as if it had 64 input channels, not 60 and 64 output "
                      f"channels, not 60: {padded_madds:,} multiply-adds for the {dw.madds:,} counted, "
                      f"{amount(dw.madds, padded_madds)} more.")
    assert amount(dw.madds, dw.madds // 60 * 64) == "6.7%"
    # the dot carries the kernel it was placed with
    assert next(t for t in placed.nodes if t.id == "depthwise_conv").roofline.kernel == kernel


def test_one_reorder_and_no_reorder():
    analysis = blocks.analyse("conv", {}).data
    one = KernelInfo(aten=["aten::conv2d"], impl="brg_conv_fwd:avx2", layout="acdb", reorder_us=12.0,
                     effective_channels=None, effective_madds=None, effective_bytes=None,
                     reorders=[Reorder(tensor="weights", shape="64x64x3x3", src_layout="abcd",
                                       dst_layout="Acdb16a", time_us=12.0)])
    none = one.model_copy(update={"reorders": [], "reorder_us": 0.0})
    for kernel, said in ((one, "It runs as brg_conv_fwd:avx2 with one layout reorder that takes 12.0 µs, "
                               "of the 2.00 ms it took (weights abcd → Acdb16a)."),
                         (none, "It runs as brg_conv_fwd:avx2 in layout acdb.")):
        nodes = nodes_of(analysis, {"conv": 2000.0}, conv=kernel)
        sentences = placing.attach(measurement(nodes), analysis, ceilings()).roofline.sentences
        assert sentences[1:] == [said]


# --- the guideline lab's explanation ---------------------------------------------------------------

def row(analysis, nodes, *, disturbed=False, example=None) -> RowMeasurement:
    placed = placing.attach(measurement(nodes, disturbed=disturbed), analysis, example or ceilings())
    t = placed.total
    return RowMeasurement(median_us=t.median_us, p25_us=t.p25_us, p75_us=t.p75_us, quality=placed.quality,
                          nodes=placed.nodes, roofline=placed.roofline, batches_per_s=1.0, images_per_s=1.0,
                          machine="test", device="cpu", device_label="example CPU", threads=2, warmup=1,
                          repeats=3, cached=False, measured_at="2026-01-01T00:00:00Z")


def test_the_explanation_names_the_dominant_ops_and_the_argued_bound_row_by_row():
    small = blocks.analyse("conv", {"kernel_size": 1, "height": 4, "width": 4}).data
    large = blocks.analyse("conv", {"kernel_size": 1, "in_channels": 16, "out_channels": 256}).data
    kernel = KernelInfo(aten=["aten::conv2d"], impl="jit:avx512_core", layout="aBcd16b", reorder_us=5.0,
                        effective_channels=None, effective_madds=None, effective_bytes=None,
                        reorders=[Reorder(tensor="input", shape="-", src_layout="abcd", dst_layout="aBcd16b",
                                          time_us=5.0)])
    rows = [("small", small, row(small, nodes_of(small, {"conv": 8.0}, conv=kernel))),
            ("large", large, row(large, nodes_of(large, {"conv": 900.0, "bn": 100.0, "act": 100.0})))]
    said = placing.explain_rows(rows, "overhead", "each call pays a fixed cost")
    shares = [r.roofline.by_bound["overhead"] for _, _, r in rows]
    assert said[0].startswith("small: the 1x1 Conv ops take ")
    assert "run as jit:avx512_core, with 1 layout reorder taking 5.0 µs in all." in said[0]
    assert said[1].startswith("large: the 1x1 Conv ops take 82% of the op time, all ")
    assert said[2] == (f"Op time in overhead-bound ops, where each call pays a fixed cost: small "
                       f"{placing.percent(shares[0])} and large {placing.percent(shares[1])}; "
                       f"{'more' if shares[1] > shares[0] else 'less'} in large than in small.")
    assert shares[0] > shares[1]


def test_no_explanation_from_disturbed_rows_nor_from_rows_timed_end_to_end():
    analysis = blocks.analyse("conv", {}).data
    rng = random.Random(0)
    noisy = [("a", analysis, row(analysis, timed(analysis, rng))),
             ("b", analysis, row(analysis, timed(analysis, rng), disturbed=True))]
    assert placing.explain_rows(noisy, "memory", "why") == [
        f"No explanation from the rows' ops: b ran while other work used the cores or the samples spread "
        f"widely; {TOO_NOISY}."]
    whole_only = row(analysis, None)
    assert whole_only.roofline is not None and whole_only.roofline.by_bound == {}
    assert placing.explain_rows([("a", analysis, whole_only), ("b", analysis, None)], "memory", "why") == []


def test_the_sentence_of_the_docs():
    """docs/numbers.md, "What the sentences say": depthwise_separable at its defaults."""
    analysis = blocks.analyse("depthwise_separable", {}).data
    nodes = nodes_of(analysis, {"depthwise_conv": 180.0, "depthwise_bn": 60.0, "depthwise_act": 45.0,
                                "pointwise_conv": 420.0, "pointwise_bn": 150.0, "pointwise_act": 130.0},
                     spread=0.05)
    placed = placing.attach(measurement(nodes, median=1050.0), analysis, ceilings()).roofline
    assert placed.sentences == [
        "The 1x1 Conv (pointwise_conv) takes 43% of the time, less than its 93% of the multiply-adds: "
        "compute-bound at 21.0 FLOP/byte, at 82% of the compute peak (122 of 150 GFLOP/s).",
        "The 3x3 DWConv (depthwise_conv) does 7% of the multiply-adds and takes 18% of the time: "
        "memory-bound at 2.2 FLOP/byte, at 15% of the L2 bandwidth (8.9 of 60.0 GB/s); neither roof "
        "explains that time: its kernel leaves 85% of what the roofs allow unused."]
    assert {b: round(v, 2) for b, v in placed.by_bound.items()} == \
        {"compute": 0.43, "memory": 0.57, "overhead": 0.0}


def test_an_op_out_of_proportion_to_its_multiply_adds_is_named_beside_the_dominant_one():
    """The depthwise conv of a depthwise-separable block: a few percent of the multiply-adds, far more
    of the time, far under its roofs. Named with both shares, its bound, and what the roofs leave
    unused; not named when its fast quartile does not show it out of proportion."""
    analysis = blocks.analyse("depthwise_separable", {}).data
    dw = next(n for n in analysis.nodes if n.id == "depthwise_conv")
    kernel = KernelInfo(aten=["aten::conv2d"], impl="jit_dw:avx512_core", layout="aBcd16b", reorders=[],
                        reorder_us=0.0, effective_channels=None, effective_madds=None, effective_bytes=None)
    medians = {"depthwise_conv": 400.0, "depthwise_bn": 60.0, "depthwise_act": 45.0,
               "pointwise_conv": 900.0, "pointwise_bn": 150.0, "pointwise_act": 130.0}
    nodes = nodes_of(analysis, medians, spread=0.02, depthwise_conv=kernel)
    placed = placing.attach(measurement(nodes), analysis, ceilings())
    said = placed.roofline.sentences[-1]
    t = next(x for x in placed.nodes if x.id == "depthwise_conv")
    total = sum(medians.values())
    madds_share = dw.madds / analysis.totals.madds
    assert t.median_us / total >= 2 * madds_share  # the case this test is about
    assert said.startswith(f"The 3x3 DWConv (depthwise_conv) does {placing.percent(madds_share)} of the "
                           f"multiply-adds and takes {placing.percent(t.median_us / total)} of the time: ")
    assert placing.why(t, ceilings()) in said
    if t.roofline.fraction_of_roof < placing.FAR_UNDER_ROOF:
        assert said.endswith(f"its kernel (jit_dw:avx512_core) leaves "
                             f"{placing.percent(1 - t.roofline.fraction_of_roof)} of what the roofs allow "
                             "unused.")
    # in proportion: not named
    medians["depthwise_conv"] = madds_share * (total - 400.0) / (1 - madds_share)
    nodes = nodes_of(analysis, medians, spread=0.02, depthwise_conv=kernel)
    sentences = placing.attach(measurement(nodes), analysis, ceilings()).roofline.sentences
    assert not any(OUT_OF_PROPORTION.match(x) for x in sentences), sentences


@pytest.mark.parametrize("kind", BLOCKS)
def test_the_out_of_proportion_sentence_on_random_configurations(kind):
    """On random configurations and timings, the sentence appears exactly when an op other than the
    named ones does at least 10% of the time at its fast quartile and twice its share of the
    multiply-adds, and names the most out of proportion one, with its shares as shown."""
    rng = random.Random(f"proportion-{kind}")
    for values in random_configs(BLOCKS[kind], 6, seed=3):
        analysis = blocks.analyse(kind, values).data
        nodes = timed(analysis, rng, spread=0.02)
        placed = placing.attach(measurement(nodes), analysis, ceilings())
        if not placed.roofline.sentences or placed.roofline.sentences[0].startswith("No op"):
            continue
        by_id = {n.id: n for n in analysis.nodes}
        ranked = sorted(placed.nodes, key=lambda t: t.median_us, reverse=True)
        close = len(ranked) > 1 and ranked[0].p25_us <= ranked[1].p75_us
        named = {ranked[0].id, ranked[1].id} if close else {ranked[0].id}
        total = sum(t.median_us for t in placed.nodes)
        expected = [t for t in placed.nodes if t.id not in named and by_id[t.id].madds > 0
                    and (share := t.p25_us / (total - t.median_us + t.p25_us)) >= 0.10
                    and share >= 2 * by_id[t.id].madds / analysis.totals.madds]
        last = placed.roofline.sentences[-1]
        if not expected:
            assert not any(OUT_OF_PROPORTION.match(x) for x in placed.roofline.sentences), last
            continue
        best = max(expected, key=lambda t: t.median_us / total / (by_id[t.id].madds / analysis.totals.madds))
        node = by_id[best.id]
        assert last.startswith(f"The {node.label} ({node.id}) does "
                               f"{placing.percent(node.madds / analysis.totals.madds)} of the multiply-adds "
                               f"and takes {placing.percent(best.median_us / total)} of the time: "), last
