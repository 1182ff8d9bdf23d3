"""The int8 lab node by node (docs/quantization.md, "Node by node"): ONNX Runtime's profile parsed,
each node classed by what it computes in, the shares, and the sentence that says why int8 is or is
not faster here, every figure in it read back from the data."""

import json
import random
from pathlib import Path

import pytest

from blockscope.analysis import quantization as quant
from blockscope.schemas import Quality, QuantBlockProfile, QuantProfile, QuantTiming, Speedup, Timing
from blockscope.service.quantization import int8_text
from blockscope.wording import TOO_NOISY, micros

# A real profile, captured from ONNX Runtime 1.32 on this project's int8 squeeze-excitation block
# (in_channels=16, 8x8, reduction 4): three runs, every node once per run.
CAPTURED = Path(__file__).parent / "data" / "ort_profile_se_int8.json"


def test_a_captured_profile_by_hand():
    """Read off the file by hand: each node's durations in its three runs, the first left out (warm),
    the median of the other two."""
    nodes = quant.profile_nodes(json.loads(CAPTURED.read_text()))
    table = [(n["name"], n["op_type"], n["class"], n["median_us"]) for n in nodes]
    assert table == [
        ("input_QuantizeLinear", "QuantizeLinear", "convert", 23.0),  # 51 | 6, 40
        ("input_DequantizeLinear", "DequantizeLinear", "convert", 3.0),  # 7 | 3, 3
        ("node_mean", "ReduceMean", "float", 4.5),  # the global average pool stayed in float: 10 | 4, 5
        ("mean_QuantizeLinear", "QuantizeLinear", "convert", 3.0),
        ("Transpose", "Transpose", "layout", 3.0),  # uint8 NCHW -> NHWC for QLinearConv
        ("node_conv2d_token_1", "QLinearConv", "integer", 13.0),  # 85 | 6, 20
        ("node_conv2d_1_token_4", "QLinearConv", "integer", 10.0),  # 8 | 4, 16
        ("Transpose_token_3", "Transpose", "layout", 4.5),  # 4 | 3, 6
        ("node_sigmoid", "QLinearSigmoid", "integer", 5.0),  # 5 | 6, 4
        ("node_mul", "QLinearMul", "integer", 5.0),
        ("output_DequantizeLinear", "DequantizeLinear", "convert", 4.0),
    ]
    assert {n["provider"] for n in nodes} == {"CPUExecutionProvider"}
    summary = quant.profile_summary(nodes, "int8", 2)
    assert summary["sum_us"] == 78.0
    assert summary["us_by_class"] == {"integer": 33.0, "convert": 33.0, "layout": 7.5, "float": 4.5}
    assert summary["count_by_class"] == {"integer": 4, "convert": 4, "layout": 2, "float": 1}
    assert summary["share_by_class"]["float"] == pytest.approx(4.5 / 78)
    assert summary["nodes"][0]["share"] == pytest.approx(23 / 78)
    QuantProfile(**summary)  # the typed record takes it as it is


def test_with_no_warm_run_to_spare_every_run_counts():
    events = [{"cat": "Node", "name": "a_kernel_time", "dur": 7, "args": {"op_name": "Relu"}},
              {"cat": "Node", "name": "a_fence_before", "dur": 99, "args": {"op_name": "Relu"}},
              {"cat": "Session", "name": "model_run", "dur": 50}]
    assert quant.profile_nodes(events) == [
        {"name": "a", "op_type": "Relu", "provider": None, "class": "float", "median_us": 7.0}]


@pytest.mark.parametrize(("op_type", "cls"), [
    ("QLinearConv", "integer"), ("QLinearMatMul", "integer"), ("QLinearAdd", "integer"),
    ("QLinearMul", "integer"), ("QLinearSigmoid", "integer"), ("QLinearGlobalAveragePool", "integer"),
    ("ConvInteger", "integer"), ("MatMulInteger", "integer"),
    ("QuantizeLinear", "convert"), ("DequantizeLinear", "convert"), ("DynamicQuantizeLinear", "convert"),
    ("Transpose", "layout"), ("ReorderInput", "layout"), ("ReorderOutput", "layout"), ("Reshape", "layout"),
    ("Conv", "float"), ("HardSigmoid", "float"), ("ReduceMean", "float"), ("Mul", "float"), ("Add", "float"),
])
def test_op_types_are_classed_by_what_they_compute_in(op_type, cls):
    assert quant.node_class(op_type) == cls


def test_an_op_on_integer_codes_only_is_not_a_float_fallback():
    assert quant.node_class("MaxPool", reads_float=False) == "integer"
    assert quant.node_class("MaxPool", reads_float=True) == "float"
    assert quant.node_class("Transpose", reads_float=False) == "layout"


def test_profiled_runs_fill_half_the_time_target_within_bounds():
    from blockscope.config import use_settings
    from blockscope.measuring import run

    with use_settings(measure_target_s=0.3):
        assert run.profile_runs(0.015) == 10  # 0.15 s of 15 ms passes
        assert run.profile_runs(1e-6) == run.MAX_PROFILE_RUNS
        assert run.profile_runs(2.0) == run.MIN_PROFILE_RUNS  # a slow block: the fewest, never none


# --- shares, on random profiles --------------------------------------------------------------------

OPS = ["QLinearConv", "QLinearMul", "QuantizeLinear", "DequantizeLinear", "HardSigmoid", "ReduceMean",
       "Transpose", "QLinearAdd", "Conv", "ReorderInput"]


def random_nodes(rng: random.Random, ops=OPS) -> list[dict]:
    count = rng.randint(1, 20)
    return [{"name": f"n{i}", "op_type": (op := rng.choice(ops)), "provider": "CPUExecutionProvider",
             "class": quant.node_class(op), "median_us": round(rng.uniform(0.5, 900), 1)}
            for i in range(count)]


@pytest.mark.parametrize("seed", range(50))
def test_shares_sum_to_one_and_split_the_sum_by_class(seed):
    rng = random.Random(seed)
    nodes = random_nodes(rng)
    p = quant.profile_summary(nodes, "int8", 5)
    assert sum(n["share"] for n in p["nodes"]) == pytest.approx(1)
    assert sum(p["share_by_class"].values()) == pytest.approx(1)
    assert sum(p["count_by_class"].values()) == len(nodes)
    for cls in quant.NODE_CLASSES:
        mine = [n["median_us"] for n in nodes if n["class"] == cls]
        assert p["us_by_class"][cls] == pytest.approx(sum(mine))
        assert p["share_by_class"][cls] == pytest.approx(sum(mine) / sum(n["median_us"] for n in nodes))


# --- the sentence ------------------------------------------------------------------------------------

def timing(median_us: float, disturbed: bool = False) -> QuantTiming:
    return QuantTiming(machine="test", device="cpu", threads=1, warmup=1, repeats=20, samples=20,
                       total=Timing(median_us=median_us, p25_us=median_us * 0.98, p75_us=median_us * 1.02),
                       quality=Quality(disturbed=disturbed, other_cpu_share=0.4 if disturbed else 0.0,
                                       spread=0.04, ci95_us=[median_us * 0.99, median_us * 1.01], attempts=1),
                       cached=False, load_average=None, measured_at="2026-01-01T00:00:00Z", duration_s=0.1)


def speedup(value: float, lo: float, hi: float) -> Speedup:
    return Speedup(of=["hard/float32", "hard/int8"], value=value, ci95=[lo, hi], measurable=not lo <= 1 <= hi)


def profile(float_nodes: list[tuple[str, float]], int8_nodes: list[tuple[str, float]]) -> QuantBlockProfile:
    def form(name, nodes):
        listed = [{"name": f"{op}_{i}", "op_type": op, "provider": "CPUExecutionProvider",
                   "class": quant.node_class(op), "median_us": us} for i, (op, us) in enumerate(nodes)]
        return QuantProfile(**quant.profile_summary(listed, name, 5))
    return QuantBlockProfile(float32=form("float32", float_nodes), int8=form("int8", int8_nodes))


# float32: 1000 µs. int8: 1400 µs, of it integer kernels 700, conversions 532 (38%), float 140 over
# 3 of 9 nodes, layout 28.
SLOWER = profile([("ReorderInput", 50.0), ("Conv", 900.0), ("ReorderOutput", 50.0)],
                 [("QuantizeLinear", 266.0), ("QLinearConv", 400.0), ("DequantizeLinear", 266.0),
                  ("HardSigmoid", 50.0), ("QLinearMul", 300.0), ("ReduceMean", 50.0), ("Transpose", 28.0),
                  ("HardSigmoid", 40.0), ("QLinearAdd", 0.0)])


def test_the_sentence_on_a_constructed_slower_int8():
    timed = {"float32": timing(1000), "int8": timing(1400)}
    text = int8_text(speedup(1000 / 1400, 0.69, 0.74), timed, SLOWER)
    assert text == (
        "int8 is 40% slower than float32 here (1.40 ms against 1.00 ms; 95% interval of the speedup "
        "0.69–0.74): in ONNX Runtime's profile QuantizeLinear/DequantizeLinear take 38% of its time, 3 of 9 "
        "nodes fall back to float (10%) and layout changes take 2%; its integer kernels alone take 700.0 µs, "
        "against 1.00 ms for the whole float32 graph, so the time around them (700.0 µs) makes int8 slower.")


def test_the_sentence_when_the_integer_kernels_themselves_are_slower():
    slow_kernels = profile([("Conv", 500.0)], [("QuantizeLinear", 100.0), ("QLinearConv", 600.0)])
    text = int8_text(speedup(0.71, 0.69, 0.74), {"float32": timing(500), "int8": timing(700)}, slow_kernels)
    assert "no node falls back to float" in text
    assert text.endswith("its integer kernels alone take 600.0 µs, against 500.0 µs for the whole float32 "
                         "graph, so the integer kernels themselves are slower than float32 on this CPU.")


def test_the_sentence_on_a_constructed_faster_int8():
    faster = profile([("Conv", 1400.0)], [("QuantizeLinear", 100.0), ("QLinearConv", 800.0),
                                           ("DequantizeLinear", 100.0)])
    text = int8_text(speedup(1.4, 1.35, 1.46), {"float32": timing(1400), "int8": timing(1000)}, faster)
    assert text == (
        "int8 is 40% faster than float32 here (1.00 ms against 1.40 ms; 95% interval of the speedup "
        "1.35–1.46): in ONNX Runtime's profile its integer kernels take 80% of its time; "
        "QuantizeLinear/DequantizeLinear take 20% of its time, no node falls back to float; its integer "
        "kernels alone take 800.0 µs, against 1.40 ms for the whole float32 graph, so they save more than "
        "the time around them (200.0 µs) costs.")


def test_a_profile_that_does_not_show_the_timed_difference_draws_no_conclusion():
    text = int8_text(speedup(0.8, 0.75, 0.85), {"float32": timing(1000), "int8": timing(1250)},
                     profile([("Conv", 1000.0)], [("QLinearConv", 900.0)]))
    assert " so " not in text
    assert ("the profiled runs alone do not show the difference: 900.0 µs of int8 nodes against 1.00 ms"
            in text)


@pytest.mark.parametrize(("flags", "ci", "why"), [
    ((True, False), (0.6, 0.7), "the server was busy while measuring"),
    ((False, True), (1.3, 1.5), "the server was busy while measuring"),
    ((False, False), (0.9, 1.1), "the 95% interval of their ratio, 0.90–1.10, holds 1"),
])
def test_disturbed_or_overlapping_timings_give_no_verdict(flags, ci, why):
    timed = {"float32": timing(1000, flags[0]), "int8": timing(1400, flags[1])}
    text = int8_text(speedup(sum(ci) / 2, *ci), timed, SLOWER)
    assert text == (f"int8 took 1.40 ms against 1.00 ms for float32: {why}, so whether int8 is faster is "
                    f"{TOO_NOISY}.")
    assert "faster than" not in text and "slower" not in text


def test_not_measured_says_nothing():
    assert int8_text(None, None, None) is None


def _percent(x: float) -> str:
    return f"{round(x * 100)}%"


@pytest.mark.parametrize("seed", range(200))
def test_every_figure_in_the_sentence_is_the_data(seed):
    """Random profiles and timings: the direction is the speedup's only from clean, separate figures,
    and every number the sentence says is recomputed here from the nodes themselves."""
    rng = random.Random(seed)
    nodes = {form: [(rng.choice(OPS if form == "int8" else ["Conv", "Add", "ReorderInput"]),
                     round(rng.uniform(1, 900), 1)) for _ in range(rng.randint(1, 15))]
             for form in ("float32", "int8")}
    prof = profile(nodes["float32"], nodes["int8"])
    f_us, q_us = rng.uniform(100, 5000), rng.uniform(100, 5000)
    value = f_us / q_us
    width = rng.choice([0.01, 0.05, 0.4])
    ci = (value * (1 - width), value * (1 + width))
    disturbed = (rng.random() < 0.2, rng.random() < 0.2)
    text = int8_text(speedup(value, *ci), {"float32": timing(f_us, disturbed[0]),
                                           "int8": timing(q_us, disturbed[1])}, prof)
    assert f"{micros(q_us)} against {micros(f_us)}" in text
    if any(disturbed) or ci[0] <= 1 <= ci[1]:
        assert TOO_NOISY in text and "faster than" not in text and "slower than" not in text
        return
    assert TOO_NOISY not in text
    assert ("faster than float32" in text) is (value > 1) or "as fast as" in text
    assert ("slower than float32" in text) is (value < 1) or "as fast as" in text
    int8 = nodes["int8"]
    total = sum(us for _, us in int8)
    by = {cls: [us for op, us in int8 if quant.node_class(op) == cls] for cls in quant.NODE_CLASSES}
    assert f"QuantizeLinear/DequantizeLinear take {_percent(sum(by['convert']) / total)} of its time" in text
    falls = len(by["float"])
    if falls:
        verb = "falls" if falls == 1 else "fall"
        assert f"{falls} of {len(int8)} node{'s' if len(int8) != 1 else ''} {verb} back to float " \
               f"({_percent(sum(by['float']) / total)})" in text
    else:
        assert "no node falls back to float" in text
    if by["layout"]:
        assert f"layout changes take {_percent(sum(by['layout']) / total)}" in text
    else:
        assert "layout changes" not in text
    float_total = sum(us for _, us in nodes["float32"])
    assert (f"its integer kernels alone take {micros(sum(by['integer']))}, against {micros(float_total)} "
            "for the whole float32 graph") in text
    if value > 1:
        assert f"its integer kernels take {_percent(sum(by['integer']) / total)} of its time" in text
    shows = total > float_total if value < 1 else total < float_total
    assert (", so " in text) is shows


# --- through the API, for real --------------------------------------------------------------------------

@pytest.mark.process
@pytest.mark.slow
def test_a_measured_block_is_profiled_node_by_node(configure):
    """The default block: its int8 graph runs integer kernels and conversions, its float32 graph
    neither (float, and the layout reorders of ONNX Runtime's blocked convolutions)."""
    client = configure(measure_target_s=0.02, measure_warmup_s=0.005)
    answer = client.get("/api/quantization/block", params={"kind": "mobilenet_v3_bneck", "measure": "true",
                                                            "calibration": 2})
    assert answer.status_code == 200, answer.text
    for v in answer.json()["variants"]:
        profiles = v["profile"]
        int8, f32 = profiles["int8"], profiles["float32"]
        classes = {n["class"] for n in int8["nodes"]}
        assert {"integer", "convert"} <= classes, v["name"]
        assert {n["class"] for n in f32["nodes"]} <= {"float", "layout"}
        assert f32["count_by_class"]["float"] > 0
        assert "QLinearConv" in {n["op_type"] for n in int8["nodes"] if n["class"] == "integer"}
        for p in (int8, f32):
            assert sum(p["share_by_class"].values()) == pytest.approx(1)
            assert sum(n["share"] for n in p["nodes"]) == pytest.approx(1)
            assert p["runs"] >= 3
        # what the profile says runs in float is what the optimized graph's kernels list says
        floats = sorted(n["op_type"] for n in int8["nodes"] if n["class"] == "float")
        assert floats == sorted(op for op, n in v["float_ops"].items() for _ in range(n))
        assert v["int8_text"].startswith("int8 ")
        if "too noisy" not in v["int8_text"]:
            assert "QuantizeLinear/DequantizeLinear take" in v["int8_text"]


def test_an_unmeasured_block_has_no_profile(client):
    answer = client.get("/api/quantization/block", params={"kind": "squeeze_excitation", "calibration": 2,
                                                            "height": 8, "width": 8})
    assert answer.status_code == 200, answer.text
    assert all(v["profile"] is None and v["int8_text"] is None for v in answer.json()["variants"])
