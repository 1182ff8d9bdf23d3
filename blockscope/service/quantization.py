"""MobileNet V3's claim for hard-swish and hard-sigmoid, checked on this server: activations and
blocks quantized to 8-bit integers and run by ONNX Runtime in the measuring process.

Requests are checked here (bit width, scale, zero point or range, size, block config, the engine on
the device) and become `QuantizedActivations` and `QuantizedBlock` jobs; speedups and verdicts are
computed here from the measured samples, never written down in advance.
"""

import math
import threading
from collections.abc import Mapping

from .. import measuring
from ..analysis import quantization as quant
from ..analysis.memory import bytes_needed
from ..config import get_settings
from ..errors import InvalidParameter
from ..measuring import quality
from ..measuring.jobs import Job, QuantizedActivations, QuantizedBlock
from ..measuring.results import QuantizedResult
from ..schemas import (
    ActivationQuant,
    ActivationQuantReport,
    BlockQuantReport,
    ConfigValue,
    PaperClaim,
    QuantBlockProfile,
    QuantBlockVariant,
    QuantEngine,
    QuantParams,
    QuantProfile,
    QuantTiming,
    QuantVerdict,
    Speedup,
)
from ..wording import TOO_NOISY, micros, ratio_separates, speed_than, speed_words
from . import latency
from .admission import WaitingLine
from .blocks import analyse_resolved, resolve
from .limits import check_memory

KINDS = ("mobilenet_v3_bneck", "squeeze_excitation")
ACTIVATIONS, BITS = tuple(quant.ACTIVATIONS), quant.BITS  # for the routes, which know no tensors
DEFAULT_SCALE, DEFAULT_ZERO_POINT = 1 / 16, 128  # codes 0..255 span [-8, 7.94]: every curve's bend
DEFAULT_SIZE = 1 << 16
MIN_SCALE, MAX_SCALE = 1e-6, 1e4  # one integer step: finer is below float32's resolution near 1
# ONNX Runtime's calibrator keeps every intermediate output of every calibration input, beside the
# float32 and int8 models: what a block's quantization holds, in copies of its activations
CALIBRATION_COPIES = 2
PAPER = PaperClaim(
    source="Howard et al. 2019, Searching for MobileNetV3, Sec. 5.2 (Nonlinearities)",
    claim="Swish's sigmoid is costly on mobile hardware, so MobileNet V3 uses hard-swish, "
          "x · ReLU6(x + 3) / 6, and hard-sigmoid in its place. The paper finds no discernible loss of "
          "accuracy and gives three deployment reasons: ReLU6 has optimized implementations in nearly every "
          "framework; in quantized mode the piecewise-linear form avoids the precision lost to the different "
          "ways runtimes approximate a sigmoid; and it can be fused into few memory accesses, which lowers "
          "latency.")

_waiting = WaitingLine("quantization jobs", "quant_max_waiting", typical_s=3.0)


# --- checks ----------------------------------------------------------------------------------------

def check_qparams(bits: int, scale: float | None, zero_point: int | None, range_min: float | None,
                  range_max: float | None) -> quant.QParams:
    """The input's scale and zero point: given, or calibrated from [range_min, range_max]."""
    if bits not in quant.BITS:
        widths = ", ".join(map(str, quant.BITS))
        raise InvalidParameter("bits", f"bits={bits} is not available: ONNX Runtime's integer kernels on "
                                       f"this server take {widths}-bit tensors only", bits)
    if range_min is not None or range_max is not None:
        if scale is not None or zero_point is not None:
            raise InvalidParameter("scale", "give either scale and zero_point, or range_min and range_max "
                                            "to calibrate them, not both", scale)
        if range_min is None or range_max is None:
            missing = "range_min" if range_min is None else "range_max"
            raise InvalidParameter(missing, "calibrating needs both range_min and range_max", None)
        for name, value in (("range_min", range_min), ("range_max", range_max)):
            if not math.isfinite(value) or abs(value) > 1e6:
                raise InvalidParameter(name, "must be a finite number within ±1e6", value)
        if range_min >= range_max:
            raise InvalidParameter("range_min", f"range_min={range_min:g} must be below range_max="
                                                f"{range_max:g}", range_min)
        # the range (widened to hold 0) over the 255 steps: the same limits as a scale given directly
        step = (max(range_max, 0.0) - min(range_min, 0.0)) / (quant.QMAX - quant.QMIN)
        if step < MIN_SCALE:
            raise InvalidParameter("range_max", f"the range is too narrow: one integer step would be "
                                                f"{step:.3g}, below the {MIN_SCALE:g} this server allows",
                                   range_max)
        return quant.qparams_from_range(range_min, range_max)
    scale = DEFAULT_SCALE if scale is None else scale
    zero_point = DEFAULT_ZERO_POINT if zero_point is None else zero_point
    if not math.isfinite(scale) or scale <= 0:
        raise InvalidParameter("scale", "must be a number above 0 (the real value of one integer step)",
                               scale)
    if scale < MIN_SCALE or scale > MAX_SCALE:
        raise InvalidParameter("scale", f"must lie between {MIN_SCALE:g} and {MAX_SCALE:g}", scale)
    if not quant.QMIN <= zero_point <= quant.QMAX:
        raise InvalidParameter("zero_point", f"must be a {quant.DTYPE} code, {quant.QMIN} to {quant.QMAX}",
                               zero_point)
    return quant.QParams(scale, zero_point)


def check_size(size: int) -> int:
    limit = get_settings().max_quant_size
    if not 1 <= size <= limit:
        raise InvalidParameter("size", f"must be between 1 and {limit:,} elements on this server", size)
    return size


def engine(device: str) -> QuantEngine:
    provider, reason = quant.providers(device)
    return QuantEngine(device=device, available=provider is not None,
                       engine=f"{quant.ENGINE} {quant.engine_version()}", provider=provider, reason=reason)


def engines() -> list[QuantEngine]:
    return [engine(d.name) for d in latency.devices()]


def _params(q: quant.QParams) -> QuantParams:
    lo, hi = q.range
    return QuantParams(scale=q.scale, zero_point=q.zero_point, dtype=quant.DTYPE, range=[lo, hi])


def _submit(job: Job, fresh: bool, cancel: threading.Event | None, measure: bool) -> QuantizedResult:
    """The job's result. Only measurements (seconds each) count against the waiting line: the
    curves and errors take a moment, and the same ones are shared and kept."""
    if not measure:
        return measuring.submit(job, fresh=fresh, cancel=cancel)
    with _waiting.admit():
        return measuring.submit(job, fresh=fresh, cancel=cancel)


def _speedup(samples: dict[str, list[float]], slow: str, fast: str) -> Speedup:
    """median(slow) / median(fast) with its 95% interval over rounds: above 1, `fast` is faster."""
    return Speedup(**quality.comparison(slow, samples[slow], fast, samples[fast]))


def _agreement(speedup: Speedup | None, *timings: QuantTiming | None) -> str | None:
    """The paper's speed claim (the hard form faster) against a measured `speedup` (slow over hard):
    `agrees` or `disagrees` only from clean data, when none of the `timings` compared was disturbed
    and the ratio's 95% interval excludes 1; else `too_noisy`. None when not measured."""
    if speedup is None:
        return None
    if speedup.value is None or any(t is None or t.quality.disturbed for t in timings) \
            or not ratio_separates(speedup.ci95):
        return "too_noisy"
    return "agrees" if speedup.ci95[0] > 1 else "disagrees"


def _interval(speedup: Speedup) -> str:
    """The speedup's 95% interval: "1.02–1.10", or "at least 1.02" without an upper bound."""
    lo, hi = speedup.ci95
    return f"{lo:.2f}–{hi:.2f}" if hi is not None else f"at least {lo:.2f}"


def _compared(hard: float, smooth: float, smooth_title: str) -> str:
    """"0.31 output steps, lower than swish's 0.35", with enough decimals to tell different figures apart."""
    digits = next((d for d in (2, 3, 4) if f"{hard:.{d}f}" != f"{smooth:.{d}f}"), 2)
    word = "lower than" if hard < smooth else "higher than" if hard > smooth else "the same as"
    return f"{hard:.{digits}f} output steps, {word} {smooth_title}'s {smooth:.{digits}f}"


def _error(hard: ActivationQuant, smooth: ActivationQuant) -> tuple[str, dict[str, bool], str]:
    """The error claim judged by both statistics, mean and maximum: `agrees` only when the hard
    function's error is at most the smooth one's by both, `disagrees` when by neither, `mixed` when by
    one; with the sentence that names both."""
    by = {"mean": hard.mean_error_steps <= smooth.mean_error_steps,
          "max": hard.max_error_steps <= smooth.max_error_steps}
    error = "agrees" if all(by.values()) else "disagrees" if not any(by.values()) else "mixed"
    mean = f"its mean error is {_compared(hard.mean_error_steps, smooth.mean_error_steps, smooth.title)}"
    most = f"its maximum error is {_compared(hard.max_error_steps, smooth.max_error_steps, smooth.title)}"
    return error, by, mean + (" and " if by["mean"] == by["max"] else ", but ") + most


# --- activations -----------------------------------------------------------------------------------

def _verdict(hard: ActivationQuant, smooth: ActivationQuant, speedup: Speedup | None,
             device: str) -> QuantVerdict:
    timings = [a.latency.get("int8") if a.latency else None for a in (hard, smooth)]
    speed = _agreement(speedup, *timings)
    error, by, error_text = _error(hard, smooth)
    if speed is None:
        said = f"int8 {hard.title} has not been timed yet on {device}"
    elif speed == "too_noisy":
        h, s = (t.total.median_us if t else None for t in timings)
        figures = (f"int8 {hard.title} took {micros(h)} and int8 {smooth.title} {micros(s)}"
                   if h is not None and s is not None else f"int8 {hard.title} was timed")
        why = ("the server was busy while measuring" if any(t is None or t.quality.disturbed for t in timings)
               else f"the 95% interval of their ratio, {_interval(speedup)}, holds 1")
        said = f"on this server ({device}) {figures}: {why}, so the speed is {TOO_NOISY}"
    else:
        said = (f"on this server ({device}), int8 {hard.title} is "
                f"{speed_than(speedup.value, f'int8 {smooth.title}')} "
                f"(95% interval of the speedup {_interval(speedup)})")
    kernels = {True: "integer kernels only", False: "a float fallback between dequantize and quantize"}
    text = (f"{said[0].upper()}{said[1:]}. Error: {error_text}. Here {hard.title} runs on "
            f"{kernels[hard.native]} and {smooth.title} on {kernels[smooth.native]}.")
    return QuantVerdict(hard=hard.name, smooth=smooth.name, speedup=speedup, speed=speed,
                        hard_error_steps=[hard.max_error_steps, hard.mean_error_steps],
                        smooth_error_steps=[smooth.max_error_steps, smooth.mean_error_steps], error=error,
                        error_statistics=by, hard_native=hard.native, smooth_native=smooth.native,
                        text=text)


def activations(*, bits: int = 8, scale: float | None = None, zero_point: int | None = None,
                range_min: float | None = None, range_max: float | None = None, size: int = DEFAULT_SIZE,
                seed: int = 0, device: str = "cpu", threads: int | None = None, measure: bool = False,
                fresh: bool = False, cancel: threading.Event | None = None) -> ActivationQuantReport:
    """Every activation as an 8-bit function at this input quantization; with `measure`, float32 and
    int8 timed on a tensor of `size` elements on `device` (when its engine is there)."""
    inp = check_qparams(bits, scale, zero_point, range_min, range_max)
    size = check_size(size)
    device = latency.check_device(device)
    threads = latency.check_counts(threads, None, None, device)
    here = engine(device)
    measure = measure and here.available  # said in `engine.reason`, not failed
    run_on = device if here.available else "cpu"
    # float32 and int8 inputs and outputs of the six functions, a few copies each (the curves alone
    # run the 256 codes)
    need = (size if measure else 256) * (4 + 1) * 2 * len(quant.ACTIVATIONS) * 2
    job = QuantizedActivations(scale=inp.scale, zero_point=inp.zero_point, size=size if measure else 0,
                               seed=seed, device=run_on, threads=threads, measure=measure, memory_bytes=need)
    result = _submit(job, fresh, cancel, measure)
    forms, samples = result.forms, result.samples
    found = []
    for item in result.report["activations"]:
        name = item["name"]
        timed = None
        speedup = None
        if measure:
            timed = {kind: forms[f"{name}/{kind}"] for kind in ("float32", "int8")}
            speedup = _speedup(samples, f"{name}/float32", f"{name}/int8")
        found.append(ActivationQuant(**{**item, "output": _params(quant.QParams(item["output"]["scale"],
                                                                                item["output"]["zero_point"]))},
                                     latency=timed, int8_speedup=speedup))
    by_name = {a.name: a for a in found}
    verdicts = [_verdict(by_name[hard], by_name[smooth],
                         _speedup(samples, f"{smooth}/int8", f"{hard}/int8") if measure else None, device)
                for smooth, hard in quant.SMOOTH_TO_HARD.items()]
    return ActivationQuantReport(device=device, engine=here, engines=engines(), bits=bits, input=_params(inp),
                                 size=size, measured=measure, activations=found, verdicts=verdicts,
                                 paper=PAPER)


# --- blocks ----------------------------------------------------------------------------------------

CONVERT_OPS = "QuantizeLinear/DequantizeLinear"


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _nodes(count: int, of: int, verb: str) -> str:
    """"3 of 24 nodes fall back", "1 of 24 nodes falls back", "no node falls back"."""
    if count == 0:
        return f"no node {verb}s"
    return f"{count} of {of} node{'s' if of != 1 else ''} {verb if count != 1 else verb + 's'}"


def _overheads(q: QuantProfile) -> str:
    """What the int8 graph spends around its integer kernels, from its profile."""
    n, share = q.count_by_class, q.share_by_class
    said = (f"{CONVERT_OPS} take {_percent(share['convert'])} of its time, "
            f"{_nodes(n['float'], len(q.nodes), 'fall')} back to float")
    if n["float"]:
        said += f" ({_percent(share['float'])})"
    if n["layout"]:
        said += f" and layout changes take {_percent(share['layout'])}"
    return said


def _why(speedup: float, profile: QuantBlockProfile) -> str:
    """Why int8 is faster or slower, from the profiles: what its time goes to, and its integer kernels
    alone against the whole float32 graph. The conclusion ("so ...") is drawn only when the profiled
    runs show the difference in the same direction as the timing."""
    f, q = profile.float32, profile.int8
    kernels_us = q.us_by_class["integer"]
    kernels = (f"its integer kernels alone take {micros(kernels_us)}, against {micros(f.sum_us)} for the "
               "whole float32 graph")
    agrees = q.sum_us > f.sum_us if speedup < 1 else q.sum_us < f.sum_us
    if speedup < 1:
        said = f"in ONNX Runtime's profile {_overheads(q)}; {kernels}"
        if agrees:
            around = q.sum_us - kernels_us
            said += (f", so the time around them ({micros(around)}) makes int8 slower"
                     if kernels_us < f.sum_us else
                     ", so the integer kernels themselves are slower than float32 on this CPU")
    else:
        said = (f"in ONNX Runtime's profile its integer kernels take {_percent(q.share_by_class['integer'])} "
                f"of its time; {_overheads(q)}; {kernels}")
        if agrees:
            said += f", so they save more than the time around them ({micros(q.sum_us - kernels_us)}) costs"
    if not agrees:
        said += (f" (the profiled runs alone do not show the difference: {micros(q.sum_us)} of int8 nodes "
                 f"against {micros(f.sum_us)} of float32 nodes)")
    return said


def int8_text(speedup: Speedup | None, latency: Mapping[str, QuantTiming] | None,
              profile: QuantBlockProfile | None) -> str | None:
    """Whether a variant's int8 form is faster than its float32 form here and why, every figure and
    direction from the timings (`speedup`: float32 median over int8 median) and the node profile. A
    direction only from clean data: neither timing disturbed, the speedup's 95% interval excluding 1;
    else the figures and TOO_NOISY. None when not measured."""
    if speedup is None or not latency:
        return None
    f, q = latency["float32"], latency["int8"]
    figures = f"{micros(q.total.median_us)} against {micros(f.total.median_us)}"
    if speedup.value is None or f.quality.disturbed or q.quality.disturbed \
            or not ratio_separates(speedup.ci95):
        why = ("the server was busy while measuring" if f.quality.disturbed or q.quality.disturbed
               else f"the 95% interval of their ratio, {_interval(speedup)}, holds 1")
        return f"int8 took {figures} for float32: {why}, so whether int8 is faster is {TOO_NOISY}."
    said = (f"int8 is {speed_than(speedup.value, 'float32')} here ({figures}; 95% interval of the speedup "
            f"{_interval(speedup)})")
    if profile is not None and speed_words(speedup.value) != "as fast":  # a why only for a difference
        said += f": {_why(speedup.value, profile)}"
    return said + "."


def _block_profile(profiles: Mapping[str, QuantProfile], variant: str) -> QuantBlockProfile | None:
    forms = {form: profiles.get(f"{variant}/{form}") for form in ("float32", "int8")}
    return QuantBlockProfile(**forms) if all(forms.values()) else None


def block(kind: str, values: Mapping[str, ConfigValue | None], *, calibration: int = 8, device: str = "cpu",
          threads: int | None = None, measure: bool = False, fresh: bool = False,
          cancel: threading.Event | None = None) -> BlockQuantReport:
    """Both variants of a block (hard and smooth activations), quantized statically on `calibration`
    seeded inputs: errors against their own float32 form and, with `measure`, float32 and int8 timed."""
    if kind not in KINDS:
        raise InvalidParameter("kind", f"kind={kind!r} cannot be quantized here; choose one of "
                                       f"{', '.join(KINDS)}", kind)
    limit = get_settings().max_quant_calibration
    if not 1 <= calibration <= limit:
        raise InvalidParameter("calibration", f"must be between 1 and {limit} inputs on this server",
                               calibration)
    config = resolve(kind, values)
    analysis = analyse_resolved(config).data  # 422s for bad configs and sizes, nothing real built
    param, _ = config.size_param
    # the block, both variants' ONNX models (float32 and int8) and the calibration set
    check_memory(analysis, "quantizing this block (both variants, their float32 and int8 models and the "
                           "calibration inputs)", param, config[param], every_activation=True,
                 extra_weight_copies=6)
    one = bytes_needed(analysis, every_activation=True, extra_weight_copies=6)
    need = one * (1 + CALIBRATION_COPIES * calibration)
    budget = get_settings().max_memory_mb * 2**20
    if need > budget:
        fewer = (budget // one - 1) // CALIBRATION_COPIES
        name, value = ("calibration", calibration) if fewer >= 1 else (param, config[param])
        raise InvalidParameter(name, f"quantizing this block on {calibration} calibration inputs holds about "
                                     f"{need / 2**20:.0f} MiB (the calibrator keeps every intermediate "
                                     f"output of every input), more than the {budget // 2**20} MiB this "
                                     "server gives a job; " +
                               (f"use at most {fewer} calibration inputs" if fewer >= 1 else
                                "make the input or the channels smaller"), value)
    madds, most = analysis.totals.madds, get_settings().max_reparam_madds
    if madds * (calibration + 4) > most:
        raise InvalidParameter(param, f"quantizing runs this block {calibration + 4} times, and its "
                                      f"{madds:,} multiply-adds each time are more than this server allows "
                                      f"({most:,} in all); make the input, the channels or the calibration "
                                      "set smaller",
                               config[param])
    device = latency.check_device(device)
    threads = latency.check_counts(threads, None, None, device)
    here = engine(device)
    measure = measure and here.available
    job = QuantizedBlock(config=config, calibration=calibration, device=device if here.available else "cpu",
                         threads=threads, measure=measure, memory_bytes=need)
    result = _submit(job, fresh, cancel, measure)
    forms, samples = result.forms, result.samples
    variants: list[QuantBlockVariant] = []
    for item in result.report["variants"]:
        name = item["name"]
        timed = speedup = profile = None
        if measure:
            timed = {k: forms[f"{name}/{k}"] for k in ("float32", "int8")}
            speedup = _speedup(samples, f"{name}/float32", f"{name}/int8")
            profile = _block_profile(result.profiles, name)
        variants.append(QuantBlockVariant(**item, latency=timed, int8_speedup=speedup, profile=profile,
                                          int8_text=int8_text(speedup, timed, profile)))
    hard_over_smooth = _speedup(samples, "smooth/int8", "hard/int8") if measure else None
    by_name = {v.name: v for v in variants}
    int8 = [by_name[n].latency["int8"] if by_name[n].latency else None for n in ("hard", "smooth")]
    return BlockQuantReport(kind=kind, config=analysis.config, device=device, engine=here, engines=engines(),
                            scheme=result.report["scheme"], calibration=calibration,
                            input_shape=result.report["input_shape"], measured=measure, variants=variants,
                            hard_over_smooth=hard_over_smooth, speed=_agreement(hard_over_smooth, *int8),
                            paper=PAPER)
