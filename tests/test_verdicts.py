"""Verdicts only from clean data (docs/design.md, "Measuring latency"): the int8 lab's agreements and a
network's sum of ops against its whole are drawn only when no figure they compare is flagged
`disturbed` and their intervals separate; otherwise "too noisy to judge here; measure again", with the
figures still given. The wording of speed ratios, checked on many random ratios. (The guideline lab's
verdict and its stored result: tests/test_guidelines.py.)

Measurements are forced: the measuring queue's `submit` runs the real job unmeasured (curves, errors,
kernels) and the test supplies the timings, flagged and spread as it wants.
"""

import dataclasses
import random
import re

import pytest

from blockscope import measuring
from blockscope.schemas import Measurement, NodeTiming, Quality, QuantTiming, Timing
from blockscope.service import networks, quantization
from blockscope.wording import (
    TOO_NOISY,
    intervals_separate,
    ratio_separates,
    speed_than,
    speed_words,
)

# --- the wording of ratios ------------------------------------------------------------------------

RATIO_WORDS = re.compile(r"(?:(\d+\.\d)× (faster|slower)|(\d+)% (faster|slower)|as fast)")


def random_ratios(count: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    edges = [1.0, 1.004, 1.005, 1 / 1.005, 1.4999, 1.5, 1 / 1.5, 2.0, 0.5, 1.0049, 0.9951]
    return edges + [10 ** rng.uniform(-1.5, 1.5) for _ in range(count)]


def test_speed_words_name_the_direction_the_ratio_has():
    for ratio in random_ratios(2000):
        words = speed_words(ratio)
        match = RATIO_WORDS.fullmatch(words)
        assert match, (ratio, words)
        factor = ratio if ratio >= 1 else 1 / ratio
        if factor < 1.005:
            assert words == "as fast", (ratio, words)
            continue
        assert (match.group(2) or match.group(4)) == ("faster" if ratio > 1 else "slower"), (ratio, words)
        if factor >= 1.5:
            assert abs(float(match.group(1)) - factor) <= 0.05 + 1e-9, (ratio, words)
        else:
            assert abs(int(match.group(3)) - (factor - 1) * 100) <= 0.5 + 1e-9, (ratio, words)


@pytest.mark.parametrize(("ratio", "words"), [
    (1.5, "1.5× faster"), (1 / 1.5, "1.5× slower"), (1.08, "8% faster"), (1 / 1.08, "8% slower"),
    (0.95, "5% slower"), (1.004, "as fast"), (3.94, "3.9× faster"), (None, "–"), (0, "–"),
])
def test_speed_words_by_hand(ratio, words):
    assert speed_words(ratio) == words


def test_speed_than_reads_as_a_sentence():
    assert speed_than(1.5, "swish") == "1.5× faster than swish"
    assert speed_than(0.92, "swish") == "9% slower than swish"
    assert speed_than(1.001, "swish") == "as fast as swish"


def test_intervals():
    assert intervals_separate([1, 2], [3, 4]) and intervals_separate([3, 4], [1, 2])
    assert not intervals_separate([1, 3], [2, 4]) and not intervals_separate([1, 2], [2, 3])
    assert ratio_separates([1.02, 1.1]) and ratio_separates([0.8, 0.95]) and ratio_separates([1.2, None])
    assert not ratio_separates([0.97, 1.12]) and not ratio_separates([0.9, None])


# --- forced int8 measurements ----------------------------------------------------------------------

ROUNDS = 40


def rounds(median: float, noise: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [median * (1 + noise * rng.uniform(-1, 1)) for _ in range(ROUNDS)]


def timing(samples: list[float], disturbed: bool) -> QuantTiming:
    s = sorted(samples)
    q = lambda f: s[int(f * (len(s) - 1))]  # noqa: E731
    return QuantTiming(machine="test server", device="cpu", threads=1, warmup=1, repeats=ROUNDS,
                       samples=ROUNDS,
                       total=Timing(median_us=q(0.5), p25_us=q(0.25), p75_us=q(0.75)),
                       quality=Quality(disturbed=disturbed, other_cpu_share=0.4 if disturbed else 0.0,
                                       spread=0.1, ci95_us=[q(0.3), q(0.7)], attempts=1),
                       cached=False, load_average=None, measured_at="2026-01-01T00:00:00Z", duration_s=0.1)


def force_quantization(monkeypatch):
    """Every later quantization measurement answered by `force(medians, noise=0.01, disturbed=())`'s
    plan: these int8 medians (float32 twice as slow), each form's samples `noise` either side, the forms
    named in `disturbed` (such as "hardswish/int8") flagged. The job itself runs unmeasured, for real.
    Returns `force`."""
    real = measuring.submit
    plan = {"medians": {}, "noise": 0.01, "disturbed": set()}

    def submit(job, *, fresh=False, cancel=None):
        if not job.measure:
            return real(job, fresh=fresh, cancel=cancel)
        unmeasured = {"measure": False, **({"size": 0} if hasattr(job, "size") else {})}
        result = real(dataclasses.replace(job, **unmeasured), fresh=fresh, cancel=cancel)
        names = [a["name"] for a in result.report.get("activations", [])] or ["hard", "smooth"]
        samples, forms = {}, {}
        for i, name in enumerate(names):
            int8 = plan["medians"].get(name, 100.0)
            for k, median in (("int8", int8), ("float32", 2 * int8)):
                key = f"{name}/{k}"
                samples[key] = rounds(median, plan["noise"], seed=2 * i + (k == "int8"))
                forms[key] = timing(samples[key], key in plan["disturbed"])
        return result.model_copy(update={"forms": forms, "samples": samples})

    monkeypatch.setattr(measuring, "submit", submit)

    def force(medians, noise=0.01, disturbed=()):
        plan.update(medians=medians, noise=noise, disturbed=set(disturbed))
    return force


@pytest.fixture
def forced(configure, monkeypatch):
    configure(measurer="inline")
    return force_quantization(monkeypatch)


def swish_verdict(**kwargs):
    report = quantization.activations(measure=True, size=256, **kwargs)
    return next(v for v in report.verdicts if v.hard == "hardswish")


def test_a_clean_separate_int8_speedup_gives_a_speed_verdict(forced):
    forced({"hardswish": 50.0, "swish": 100.0})
    v = swish_verdict()
    assert v.speed == "agrees" and v.speedup.measurable
    assert "int8 hard-swish is 2.0× faster than int8 swish" in v.text
    assert TOO_NOISY not in v.text
    forced({"hardswish": 108.0, "swish": 100.0})
    v = swish_verdict()
    assert v.speed == "disagrees" and "8% slower than int8 swish" in v.text


@pytest.mark.parametrize(("medians", "noise", "disturbed", "why"), [
    ({"hardswish": 50.0, "swish": 100.0}, 0.01, ("hardswish/int8",), "busy"),
    ({"hardswish": 50.0, "swish": 100.0}, 0.01, ("swish/int8",), "busy"),
    ({"hardswish": 99.0, "swish": 100.0}, 0.3, (), "holds 1"),
], ids=["hard disturbed", "smooth disturbed", "overlapping"])
def test_flagged_or_overlapping_int8_timings_give_no_speed_verdict(forced, medians, noise, disturbed, why):
    forced(medians, noise, disturbed)
    v = swish_verdict()
    assert v.speed == "too_noisy"
    assert TOO_NOISY in v.text and why in v.text
    assert "faster" not in v.text and "slower" not in v.text  # no direction from noise
    assert re.search(r"took \d+\.\d µs and int8 swish \(SiLU\) \d+\.\d µs", v.text)  # the figures stay


def test_a_block_speed_verdict_only_from_clean_data(forced):
    config = {"in_channels": 8, "reduction": 4, "height": 4, "width": 4}
    forced({"hard": 50.0, "smooth": 100.0})
    clean = quantization.block("squeeze_excitation", config, calibration=1, measure=True)
    assert clean.speed == "agrees"
    forced({"hard": 50.0, "smooth": 100.0}, disturbed=("smooth/int8",))
    assert quantization.block("squeeze_excitation", config, calibration=1, measure=True,
                              fresh=True).speed == "too_noisy"
    forced({"hard": 100.0, "smooth": 101.0}, noise=0.3)
    assert quantization.block("squeeze_excitation", config, calibration=1, measure=True,
                              fresh=True).speed == "too_noisy"
    assert quantization.block("squeeze_excitation", config, calibration=1).speed is None


# --- the error claim names both statistics ---------------------------------------------------------

def activation(name, title, max_error, mean_error):
    return quantization.ActivationQuant.model_construct(
        name=name, title=title, max_error_steps=max_error, mean_error_steps=mean_error, native=True,
        latency=None)


@pytest.mark.parametrize(("hard", "smooth", "error", "by", "words"), [
    ((1.12, 0.30), (1.09, 0.35), "mixed", {"mean": True, "max": False},
     "its mean error is 0.30 output steps, lower than swish's 0.35, but its maximum error is 1.12 output "
     "steps, higher than swish's 1.09"),
    ((0.50, 0.25), (0.52, 0.31), "agrees", {"mean": True, "max": True}, "lower than swish's 0.52"),
    ((0.60, 0.40), (0.52, 0.31), "disagrees", {"mean": False, "max": False}, "higher than swish's 0.31"),
    ((0.50, 0.40), (0.52, 0.31), "mixed", {"mean": False, "max": True}, ", but its maximum error"),
    ((0.500, 0.3101), (0.500, 0.3104), "agrees", {"mean": True, "max": True}, "0.3101 output steps"),
])
def test_the_error_claim_agrees_only_when_mean_and_maximum_both_do(hard, smooth, error, by, words):
    """The issue's case first: hard-swish's maximum error above swish's, only its mean lower."""
    v = quantization._verdict(activation("hardswish", "hard-swish", *hard),
                              activation("swish", "swish", *smooth), None, "cpu")
    assert (v.error, v.error_statistics) == (error, by)
    assert words in v.text
    assert "mean" in v.text and "maximum" in v.text


# --- a network's ops summed against its whole -------------------------------------------------------

def network_measurement(whole_us, ci, ops, disturbed=False):
    """`ops`: (median, p25, p75) per op."""
    nodes = [NodeTiming(id=f"n{i}", op="conv", median_us=m, p25_us=lo, p75_us=hi, share=0.0)
             for i, (m, lo, hi) in enumerate(ops)]
    return Measurement.model_construct(
        total=Timing(median_us=whole_us, p25_us=whole_us * 0.9, p75_us=whole_us * 1.1),
        quality=Quality(disturbed=disturbed, other_cpu_share=0.4 if disturbed else 0.0, spread=0.1,
                        ci95_us=list(ci), attempts=1),
        nodes=nodes, sum_of_nodes_us=sum(m for m, _, _ in ops))


@pytest.mark.parametrize(("whole", "ci", "ops", "disturbed", "verdict"), [
    (1000.0, (980, 1020), [(600, 590, 610)] * 2, False, "sum_more"),
    (1000.0, (980, 1020), [(400, 390, 410)] * 2, False, "sum_less"),
    # the case: an 18.5 ms sum beside a 62.2 ms whole, measured while disturbed
    (62200.0, (60000, 64000), [(9250, 9200, 9300)] * 2, True, "too_noisy"),
    (1000.0, (950, 1050), [(520, 480, 560)] * 2, False, "too_noisy"),  # the band overlaps the interval
])
def test_the_sum_of_ops_against_the_whole_only_from_clean_data(whole, ci, ops, disturbed, verdict):
    judged = networks.sum_versus_whole(network_measurement(whole, ci, ops, disturbed))
    assert judged.verdict == verdict
    assert judged.ratio == pytest.approx(sum(m for m, _, _ in ops) / whole)
    assert judged.sum_band_us == [sum(lo for _, lo, _ in ops), sum(hi for _, _, hi in ops)]


@pytest.mark.parametrize(("whole", "ops"), [(1000.0, []), (0.0, [(1, 1, 1)])])
def test_nothing_is_judged_without_ops_timed_alone_or_a_whole_the_clock_saw(whole, ops):
    """No ops (a band of [0, 0] would look apart from any interval) or a zero median: no verdict, no 500."""
    ci = (0.0, 0.0) if not whole else (990, 1010)
    judged = networks.sum_versus_whole(network_measurement(whole, ci, ops))
    assert judged.verdict == "too_noisy"
