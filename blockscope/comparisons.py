"""The course's comparisons: two sides each, the claim they test and its source; and the sentences
that state a comparison's totals and its measurement, computed from the numbers they show.

A preset names its sides as /api/compare's query does (`a`, `a.in_channels`, ...). Where its claim is
about counts, `checks` states it as a range of a / b for one total, and tests/test_compare.py holds
every preset to it. Where its claim is about speed (`expect`), the server's measurement is set
beside it, and a verdict is drawn only from clean data: neither side disturbed, and a ratio whose
95% interval excludes 1 (docs/design.md, "Measuring latency").
"""

from dataclasses import dataclass, field
from typing import Literal

from .lessons import Move, against, amount, n
from .schemas import ConfigValue, Speedup, TotalDiff
from .wording import TOO_NOISY, speed_words

# Which totals a diff holds, and how the sentences name them.
TOTAL_LABELS = {"params": "parameters", "madds": "multiply-adds", "mac": "MAC (memory access cost)",
                "mac_bytes": "MAC in bytes", "elementwise": "elementwise work",
                "weights": "weight MAC", "activations": "activation MAC"}

Expect = Literal["a_faster", "b_faster", "same"]


@dataclass(frozen=True)
class Check:
    """A claim about counts: `low` <= a / b of `metric` <= `high` (`low` < a / b with `above`: "fewer"
    is not "as many")."""
    metric: str
    low: float
    high: float
    says: str  # the claim in words ("8 to 9 times fewer multiply-adds")
    above: bool = False

    def holds(self, ratio: float | None) -> bool:
        if ratio is None:
            return False
        low_ok = ratio > self.low if self.above else ratio >= self.low - 1e-9
        return low_ok and ratio <= self.high + 1e-9


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    source: str
    claim: str
    query: dict[str, ConfigValue]
    checks: tuple[Check, ...] = ()
    expect: Expect | None = None
    # the speed claim in words, for the sentence that holds the measurement against it
    speed_claim: str = ""
    sides: tuple[str, str] = field(default=("A", "B"))  # short names of the sides in sentences


PRESETS: tuple[Preset, ...] = (
    Preset(
        "depthwise_separable",
        "Standard convolution against depthwise-separable",
        "MobileNet V1 (Howard et al. 2017), Sec. 3.1",
        "A 3x3 depthwise-separable convolution costs 1/N + 1/9 of a standard one: 8 to 9 times fewer "
        "multiply-adds, at only a small loss of accuracy.",
        {"a": "conv", "a.in_channels": 256, "a.out_channels": 256, "a.height": 28, "a.width": 28,
         "b": "depthwise_separable", "b.in_channels": 256, "b.out_channels": 256, "b.height": 28,
         "b.width": 28},
        (Check("madds", 8.0, 9.0, "8 to 9 times fewer multiply-adds"),),
        expect="b_faster", speed_claim="the depthwise-separable convolution is faster",
        sides=("the standard convolution", "the depthwise-separable convolution")),
    Preset(
        "shufflenet_v1_v2",
        "ShuffleNet V1 unit against V2 unit, equal multiply-adds",
        "ShuffleNet V2 (Ma et al. 2018), Sec. 2–4 and Table 8",
        "At equal multiply-adds the V2 unit is faster than the V1 unit: V1's group convolutions (G2) and "
        "its add (G4) cost memory access that the multiply-adds do not count.",
        # stage 2 of ShuffleNet V1 1x (g = 3, 240 channels); the V2 unit widened to 138 channels for
        # the same multiply-adds (about 0.03% apart at 28 x 28)
        {"a": "shufflenet_v1_unit", "a.in_channels": 240, "a.out_channels": 240, "a.groups": 3,
         "a.height": 28, "a.width": 28,
         "b": "shufflenet_v2_unit", "b.in_channels": 138, "b.out_channels": 138, "b.height": 28,
         "b.width": 28},
        (Check("madds", 0.99, 1.01, "equal multiply-adds (within 1%)"),),
        expect="b_faster", speed_claim="the V2 unit is faster",
        sides=("the V1 unit", "the V2 unit")),
    Preset(
        "resnext_cardinality",
        "ResNeXt bottleneck: 1 path of width 64 against 32 paths of width 4",
        "ResNeXt (Xie et al. 2017), Sec. 3.3, 5.1 and Table 2",
        "At about the same complexity (1x64d against 32x4d) the 32 paths are as cheap in multiply-adds "
        "and more accurate, the paths' saving spent on width; yet they run slower (ResNeXt-50 takes 0.95 s "
        "a mini-batch where ResNet-50 takes 0.70 s on the paper's GPUs).",
        {"a": "resnext_bottleneck", "a.cardinality": 1, "a.bottleneck_width": 64,
         "b": "resnext_bottleneck", "b.cardinality": 32, "b.bottleneck_width": 128},
        (Check("madds", 0.98, 1.02, "about the same multiply-adds (within 2%)"),
         Check("params", 0.98, 1.02, "about the same parameters (within 2%)")),
        expect="a_faster", speed_claim="the 32 paths are slower at equal multiply-adds",
        sides=("the 1x64d bottleneck", "the 32x4d bottleneck")),
    Preset(
        "v3_activation",
        "MobileNet V3 bneck: ReLU against hard-swish",
        "MobileNet V3 (Howard et al. 2019), Sec. 5.2",
        "Hard-swish replaces swish at a cost close to ReLU's: the same multiply-adds and parameters, a "
        "little more elementwise arithmetic per element.",
        {"a": "mobilenet_v3_bneck", "a.activation": "relu", "a.use_se": False,
         "b": "mobilenet_v3_bneck", "b.activation": "hardswish", "b.use_se": False},
        (Check("madds", 1.0, 1.0, "the same multiply-adds"),
         Check("params", 1.0, 1.0, "the same parameters")),
        expect="same", speed_claim="hard-swish costs about what ReLU does",
        sides=("the ReLU bneck", "the hard-swish bneck")),
    Preset(
        "v3_se",
        "MobileNet V3 bneck: without against with squeeze-and-excitation",
        "MobileNet V3 (Howard et al. 2019), Sec. 5.3; SENet (Hu et al. 2018), Sec. 3",
        "Squeeze-and-excitation adds almost no multiply-adds (under 5% here) but more parameters, and "
        "reads the expanded tensor again: cheap by the count, not necessarily in time.",
        {"a": "mobilenet_v3_bneck", "a.use_se": False, "b": "mobilenet_v3_bneck", "b.use_se": True},
        (Check("madds", 0.95, 1.0, "almost the same multiply-adds (within 5%)"),
         Check("params", 0.0, 0.99, "fewer parameters without it")),
        expect="a_faster", speed_claim="the bneck without squeeze-and-excitation is faster",
        sides=("the bneck without SE", "the bneck with SE")),
    Preset(
        "repvgg_deploy",
        "RepVGG block: training-time against deployed",
        "RepVGG (Ding et al. 2021), Sec. 3.3 and 4.2",
        "The deployed form merges the 3x3, 1x1 and identity branches and their BatchNorms into one 3x3 "
        "convolution: the same output, fewer ops, fewer parameters, faster.",
        {"a": "repvgg_block", "b": "repvgg_block", "b.form": "deployed"},
        (Check("params", 1.0, 1.5, "fewer parameters once deployed", above=True),
         Check("mac", 1.0, 10.0, "less memory access once deployed", above=True)),
        expect="b_faster", speed_claim="the deployed form is faster",
        sides=("the training-time block", "the deployed block")),
    Preset(
        "shufflenet_v2_mobilenet_v2",
        "ShuffleNet V2 1.0x against MobileNet V2, whole networks",
        "ShuffleNet V2 (Ma et al. 2018), Table 8",
        "ShuffleNet V2 1.0x does about half of MobileNet V2's multiply-adds (146 against 300 MFLOPs) and "
        "runs faster on GPU and ARM.",
        {"a": "network:shufflenet_v2_x1_0", "b": "network:mobilenet_v2"},
        (Check("madds", 0.4, 0.6, "about half the multiply-adds"),),
        expect="a_faster", speed_claim="ShuffleNet V2 1.0x is faster",
        sides=("ShuffleNet V2 1.0x", "MobileNet V2")),
)

BY_NAME: dict[str, Preset] = {p.name: p for p in PRESETS}


# --- sentences ---------------------------------------------------------------------------------------

def ratio_text(ratio: float | None) -> str:
    """1.234 -> "1.23", 12.34 -> "12.3", and below 0.01 three significant figures ("0.00123"), so no
    ratio reads 0.00."""
    if ratio is None:
        return "–"
    if ratio >= 10:
        return f"{ratio:.1f}"
    return f"{ratio:.2f}" if ratio >= 0.01 or ratio == 0 else f"{ratio:.3g}"


def totals_sentences(diff: dict[str, TotalDiff], a: str = "A", b: str = "B") -> list[str]:
    """From a to b, each total's change in words: "multiply-adds fell 8.7× (…), but MAC fell only …"."""
    moves = {key: Move(TOTAL_LABELS[key], d.a, d.b) for key, d in diff.items()}
    out = [f"From {a} to {b}: {moves['params'].text()} and {against(moves['madds'], moves['mac'])}."]
    out.append(f"Of MAC, the weights: {moves['weights'].text()}; the feature maps each op reads and writes: "
               f"{moves['activations'].text()}; {moves['elementwise'].text()}.")
    return out


def interval_text(ci95: list[float | None]) -> str:
    lo, hi = ci95
    return f"{'–' if lo is None else ratio_text(lo)} to {'–' if hi is None else ratio_text(hi)}"


def latency_sentence(comparison: Speedup, disturbed: bool, a: str = "A", b: str = "B") -> str:
    """The measured ratio in words: a verdict only from clean data, "no measurable difference" when the
    interval holds 1."""
    ratio = comparison.value
    figures = f"time of {a} over {b} {ratio_text(ratio)}, 95% interval {interval_text(comparison.ci95)}"
    if disturbed:
        return f"Measured while other work used the machine ({figures}): {TOO_NOISY}."
    if not comparison.measurable or ratio is None:
        return f"No measurable difference ({figures}): the interval holds 1."
    # speed_words takes the reference's time over this one's: b against a
    return f"{b[0].upper() + b[1:]} is {speed_words(ratio)} than {a} ({figures})."


def check_sentence(check: Check, ratio: float | None, holds: bool, a: str, b: str) -> str:
    label = TOTAL_LABELS[check.metric]
    if ratio is None:
        return f"The claim says {check.says}; {b} has no {label} to divide by."
    span = (f"exactly {ratio_text(check.low)}" if check.low == check.high else
            f"above {ratio_text(check.low)}, at most {ratio_text(check.high)}" if check.above else
            f"between {ratio_text(check.low)} and {ratio_text(check.high)}")
    verdict = "as the claim says" if holds else "not what the claim says"
    return (f"The claim says {check.says}. Counted here: {a} has {ratio_text(ratio)} times the {label} of "
            f"{b} (the claim: {span}), {verdict}.")


def counted_sentence(checks: list[tuple[Check, float | None, bool]], diff: dict[str, TotalDiff],
                     a: str, b: str) -> str:
    if not checks:
        madds = diff["madds"]
        return f"{a} and {b}: multiply-adds {n(madds.a)} and {n(madds.b)} ({amount(madds.a, madds.b)} apart)."
    return " ".join(check_sentence(c, r, h, a, b) for c, r, h in checks)


def measured_sentence(preset: Preset, comparison: Speedup, disturbed: bool) -> str:
    """The measurement held against the claim's word on speed, worded from the data."""
    a, b = preset.sides
    said = latency_sentence(comparison, disturbed, a, b)
    if preset.expect is None:
        return said
    if disturbed:
        return f"The claim: {preset.speed_claim}. Here: {said}"
    if comparison.value is None:  # nothing measured to hold against the claim
        return f"The claim: {preset.speed_claim}. Here: {said}"
    found: Expect = ("same" if not comparison.measurable else
                     "b_faster" if comparison.value > 1 else "a_faster")
    if preset.expect == "same":
        agrees = found == "same"
    else:
        agrees = found == preset.expect
    how = "agrees with the claim" if agrees else (
        "does not show the difference the claim expects" if found == "same" else
        "differs from the claim")
    # "…agrees with the claim: the V2 unit is 19% faster…" (a side's own name keeps its capital)
    said = said[0].lower() + said[1:] if said.startswith(("The ", "No ")) else said
    return f"The claim: {preset.speed_claim}. This server {how}: {said}"
