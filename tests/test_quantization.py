"""8-bit quantization (docs/quantization.md): the arithmetic against closed forms written here, the
engine's kernels, blocks quantized statically, the measurement's quality, and the API's refusals."""

import math
import random

import numpy as np
import pytest
import torch

from blockscope.analysis import quantization as quant

EXACT = ("relu", "relu6", "hardsigmoid", "hardswish")


def round_and_clamp(y: np.ndarray, out: quant.QParams) -> np.ndarray:
    """Written out here: y / scale rounded half to even, plus the zero point, clamped to 0..255."""
    return np.clip(np.rint(y.astype(np.float64) / out.scale) + out.zero_point, 0, 255)


def float_function(name: str, x: np.ndarray) -> np.ndarray:
    """The float functions, from their definitions (MobileNet V3, Sec. 5.2), in float64."""
    x = x.astype(np.float64)
    relu6 = np.clip(x, 0, 6)
    return {"relu": np.maximum(x, 0), "relu6": relu6, "hardsigmoid": np.clip(x + 3, 0, 6) / 6,
            "hardswish": x * np.clip(x + 3, 0, 6) / 6}[name]


def configurations(count: int, seed: int = 7) -> list[quant.QParams]:
    """The defaults and many random valid (scale, zero point) pairs, scales from 1e-3 to 1."""
    rng = random.Random(seed)
    found = [quant.QParams(1 / 16, 128)]
    while len(found) < count:
        found.append(quant.QParams(10 ** rng.uniform(-3, 0), rng.randrange(0, 256)))
    return found


def test_qparams_from_a_range_hold_zero_exactly():
    q = quant.qparams_from_range(-8, 8)
    assert q.scale == pytest.approx(16 / 255) and q.zero_point == 128  # -8 / (16/255) = -127.5 -> 128
    assert q.dequantize(np.array([q.zero_point]))[0] == 0.0
    q = quant.qparams_from_range(1, 5)  # widened to [0, 5]: zero must be a code
    assert q.zero_point == 0 and q.range[1] == pytest.approx(5)


@pytest.mark.parametrize("inp", configurations(24))
def test_integer_outputs_are_round_and_clamp_of_the_float_function(inp):
    """For every input code, the engine's output is round-and-clamp of the float function at the
    dequantized input, except where float32 arithmetic lands within a hair of a rounding tie."""
    for name in EXACT:
        out = quant.output_qparams(name, inp)
        report = quant.activation_report(name, inp)
        x = inp.dequantize(quant.codes())
        y = float_function(name, x)
        expected = round_and_clamp(y, out)
        got = np.array(report["table"])
        ties = np.abs(np.abs(y / out.scale - np.floor(y / out.scale)) - 0.5) < 1e-4
        assert np.all((got == expected) | ties), name
        assert np.mean(got == expected) > 0.98
        assert report["closed_form_share"] == 1.0  # the engine's own float32 order, written out


@pytest.mark.parametrize("inp", configurations(12, seed=11))
def test_error_never_exceeds_the_stated_bound(inp):
    for name in quant.ACTIVATIONS:
        report = quant.activation_report(name, inp)
        assert report["max_error_steps"] <= report["bound_steps"], name
        assert 0 <= report["mean_error_steps"] <= report["max_error_steps"]


def test_the_bound_by_hand():
    """relu at scale 1/16, zero point 128: half an output step, plus slope 1 times half an input step."""
    inp = quant.QParams(1 / 16, 128)
    assert quant.error_bound_steps("relu", inp, inp) == pytest.approx(1.0 + quant.FLOAT32_SLACK)
    gate = quant.output_qparams("sigmoid", inp)  # 1/255 per step on [0, 1]
    assert quant.error_bound_steps("sigmoid", inp, gate) == pytest.approx(0.5 + quant.FLOAT32_SLACK
                                                                          + 0.25 * (1 / 32) * 255)


def test_which_functions_run_on_integer_kernels():
    """Read off the optimized graph: sigmoid and swish run as QLinearSigmoid (and QLinearMul); the
    hard functions run in float between dequantize and quantize on ONNX Runtime's CPU provider."""
    inp = quant.QParams(1 / 16, 128)
    kernels = {name: quant.activation_report(name, inp) for name in quant.ACTIVATIONS}
    assert kernels["sigmoid"]["ops"] == ["QLinearSigmoid"] and kernels["sigmoid"]["native"]
    assert kernels["swish"]["integer_kernels"] == ["QLinearSigmoid", "QLinearMul"]
    for name in ("hardswish", "hardsigmoid", "relu6"):
        assert not kernels[name]["native"] and "DequantizeLinear" in kernels[name]["ops"]


@pytest.fixture(scope="module")
def bneck_report(client):
    answer = client.get("/api/quantization/block", params={"kind": "mobilenet_v3_bneck", "height": 14,
                                                            "width": 14, "calibration": 4})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_quantized_block_is_close_to_its_float32_form(bneck_report):
    variants = {v["name"]: v for v in bneck_report["variants"]}
    assert variants["hard"]["configured"] and not variants["smooth"]["configured"]
    assert set(variants["hard"]["activations"]) == {"hardswish", "hardsigmoid", "relu"}
    assert set(variants["smooth"]["activations"]) == {"swish", "sigmoid", "relu"}
    for v in variants.values():
        # on an input not calibrated on: within 8% of the largest output at worst, 5% in RMS
        assert v["rel_error"] < 0.08, v
        assert v["rms_rel_error"] < 0.05, v
        assert v["float_engine_vs_pytorch"] < 1e-4  # the exported float32 model is the block


def test_quantized_block_runs_integer_kernels(bneck_report):
    """Every convolution of both variants is a QLinearConv; the smooth variant's gates are
    QLinearSigmoid; what stays in float is named."""
    variants = {v["name"]: v for v in bneck_report["variants"]}
    for v in variants.values():
        assert v["integer_kernels"]["QLinearConv"] == 5  # expand, depthwise, SE fc1 and fc2, project
        assert "Conv" not in v["float_ops"]
    assert variants["smooth"]["integer_kernels"]["QLinearSigmoid"] == 3
    assert "HardSigmoid" in variants["hard"]["float_ops"]


def test_measurements_carry_their_quality_and_a_verdict(configure):
    client = configure(measure_target_s=0.02, measure_warmup_s=0.005)
    answer = client.get("/api/quantization/activations", params={"measure": "true", "size": 4096})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    report = answer.json()
    assert report["measured"] and report["engine"]["available"]
    for a in report["activations"]:
        for form in ("float32", "int8"):
            timing = a["latency"][form]
            assert set(timing["quality"]) >= {"disturbed", "other_cpu_share", "spread", "ci95_us"}
            lo, hi = timing["quality"]["ci95_us"]
            assert lo <= timing["total"]["median_us"] <= hi
        s = a["int8_speedup"]
        assert s["ci95"][0] <= s["value"] <= s["ci95"][1]
    verdict = next(v for v in report["verdicts"] if v["hard"] == "hardswish")
    hard = next(a for a in report["activations"] if a["name"] == "hardswish")
    assert verdict["speed"] in ("agrees", "disagrees", "too_noisy")
    noisy = "too noisy to judge here; measure again" in verdict["text"]
    assert noisy is (verdict["speed"] == "too_noisy")  # a direction only from clean, separate figures
    assert verdict["error"] in ("agrees", "disagrees", "mixed") and set(verdict["error_statistics"]) == {
        "mean", "max"}
    assert verdict["hard_error_steps"] == [hard["max_error_steps"], hard["mean_error_steps"]]
    assert "MobileNet" in report["paper"]["claim"] or "Howard" in report["paper"]["source"]


def test_a_block_measurement_times_both_variants_without_overlap(configure):
    from blockscope.measuring.core import inline_core

    client = configure(measurer="inline", measure_target_s=0.02, measure_warmup_s=0.005)
    params = {"kind": "squeeze_excitation", "gate": "hardsigmoid", "measure": "true", "calibration": 2}
    answer = client.get("/api/quantization/block", params=params)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    for v in report["variants"]:
        assert v["latency"]["int8"]["quality"]["ci95_us"]
        assert math.isfinite(v["int8_speedup"]["value"])
    assert report["hard_over_smooth"]["of"] == ["smooth/int8", "hard/int8"]
    assert inline_core().state()["devices"]["cpu"]["jobs"] == 0  # one job, finished: nothing overlapped


@pytest.mark.parametrize(("query", "param"), [
    ({"bits": 4}, "bits"), ({"bits": 16}, "bits"), ({"scale": 0}, "scale"), ({"scale": -0.5}, "scale"),
    ({"zero_point": 256}, "zero_point"), ({"range_min": 1, "range_max": 1}, "range_min"),
    ({"range_min": 3, "range_max": -3}, "range_min"), ({"range_min": 0}, "range_max"),
    ({"scale": 0.1, "range_min": 0, "range_max": 1}, "scale"), ({"size": 0}, "size"),
    ({"size": 10**9}, "size"),
])
def test_bad_activation_parameters_are_422_naming_them(client, query, param):
    answer = client.get("/api/quantization/activations", params=query)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == param


@pytest.mark.parametrize(("query", "param"), [
    ({"kind": "conv"}, "kind"), ({"calibration": 0}, "calibration"), ({"calibration": 10**4}, "calibration"),
    ({"in_channels": "many"}, "in_channels"), ({"height": 100000}, "height"),
])
def test_bad_block_parameters_are_422_naming_them(client, query, param):
    answer = client.get("/api/quantization/block", params=query)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == param


def test_a_device_without_the_engine_is_said_not_failed(monkeypatch, client):
    from blockscope.service import quantization as service

    monkeypatch.setattr(service, "engine", lambda device: service.QuantEngine(
        device=device, available=False, engine="onnxruntime", provider=None, reason="no CUDA provider"))
    answer = client.get("/api/quantization/activations", params={"measure": "true", "size": 4096})
    assert answer.status_code == 200
    report = answer.json()
    assert not report["measured"] and report["engine"]["reason"] == "no CUDA provider"
    assert all(a["latency"] is None for a in report["activations"])


def test_the_page_and_its_embed(client):
    page = client.get("/quantization")
    assert page.status_code == 200 and "js/quantization.js" in page.text
    embed = client.get("/embed/quantization?view=verdict,curves")
    assert embed.status_code == 200 and 'class="site-header"' not in embed.text
    for kind in ("activation", "mobilenet_v3_bneck"):
        assert 'href="/quantization' in client.get(f"/blocks/{kind}").text


def test_swapping_activations_keeps_the_weights():
    from blockscope.registry import BLOCKS

    module = BLOCKS["mobilenet_v3_bneck"].seeded(BLOCKS["mobilenet_v3_bneck"].defaults()).eval()
    smooth = quant.with_activations(module, "smooth")
    assert quant.activations_in(smooth) == ["relu", "sigmoid", "swish"]
    assert quant.activations_in(module) == ["hardsigmoid", "hardswish", "relu"]  # the original is untouched
    for a, b in zip(module.parameters(), smooth.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("url, param", [
    ("/api/quantization/activations?range_min=0&range_max=5e-324", "range_max"),
    ("/api/quantization/activations?range_min=-1e-40&range_max=1e-40", "range_max"),
    ("/api/quantization/block?kind=mobilenet_v3_bneck&use_se=maybe", "use_se"),
    ("/api/quantization/block?kind=mobilenet_v3_bneck&in_channels=1&height=128&width=128"
     "&calibration=32", "calibration"),
])
def test_more_refusals_name_the_parameter(client, url, param):
    r = client.get(url)
    assert r.status_code == 422, r.text[:300]
    assert r.json()["detail"][0]["loc"] == ["query", param]
