"""Int8 quantization of activation functions and blocks, run by ONNX Runtime (docs/quantization.md).

Pure work on real tensors, no queue and no cache of requests: the measuring process calls it.

- **Arithmetic.** Uniform affine quantization, `x ≈ scale · (q − zero_point)` with `q` an integer of
  `bits` bits, rounded half to even and clamped as ONNX's QuantizeLinear does. The closed forms here
  are what the tests hold the engine to.
- **Activations.** Each function is an ONNX graph laid out the way ONNX Runtime's static quantizer
  lays out a quantized model (QDQ): int8 in, DequantizeLinear, the float op, QuantizeLinear, int8 out.
  ONNX Runtime's graph optimizer then replaces each DequantizeLinear -> op -> QuantizeLinear group it
  has an integer kernel for (QLinearSigmoid, QLinearMul, ...) and leaves the others running in float
  between the two conversions. Which one happened is read off the optimized graph, never assumed.
- **Blocks.** A block is deployed (Conv+BN folded), exported to ONNX, and quantized statically by
  `onnxruntime.quantization.quantize_static` on a calibration set of seeded random inputs.
"""

import copy
import json
import math
import os
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cache import BoundedCache
from .export import INPUT_NAME, OPSET, _quiet, to_onnx
from .reparam import deploy

BITS = (8,)  # ONNX Runtime's integer kernels take 8-bit tensors (its 4- and 16-bit types only convert)
# 8-bit activations are unsigned in ONNX Runtime's x86 integer kernels: with int8 ones its CPU provider
# runs swish's multiply, and a block's depthwise convolutions, in float (docs/quantization.md)
DTYPE = "uint8"
QMIN, QMAX = 0, 255
# Sigmoid-shaped outputs lie in [0, 1]: quantized on their own grid, 1/255 apart from 0 to 1
GATE_SCALE, GATE_ZERO_POINT = 1 / 255, 0
DENSE = 8  # points per input step where the error against float32 is evaluated
ENGINE = "onnxruntime"


@dataclass(frozen=True)
class Activation:
    name: str
    title: str
    fn: Callable[[torch.Tensor], torch.Tensor]  # the float32 function, as PyTorch computes it
    slope: float  # the largest |f'|: how far an input's rounding error can move the output
    gate: bool  # output in [0, 1]: quantized on the gate grid


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", "ReLU", F.relu, 1.0, False),
    Activation("relu6", "ReLU6", F.relu6, 1.0, False),
    Activation("sigmoid", "sigmoid", torch.sigmoid, 0.25, True),
    Activation("hardsigmoid", "hard-sigmoid", F.hardsigmoid, 1 / 6, True),
    # swish's slope peaks at 1.0998 (x ≈ 2.4); hard-swish's at 1.5 (x = 3, where (2x + 3)/6 ends)
    Activation("swish", "swish (SiLU)", F.silu, 1.0998, False),
    Activation("hardswish", "hard-swish", F.hardswish, 1.5, False),
)}
SMOOTH_TO_HARD = {"swish": "hardswish", "sigmoid": "hardsigmoid"}


# ---------------------------------------------------------------------------------------------------
# the arithmetic


@dataclass(frozen=True)
class QParams:
    """Scale and zero point of an 8-bit tensor: it represents scale · (q − zero_point), q in [0, 255]."""
    scale: float
    zero_point: int

    @property
    def range(self) -> tuple[float, float]:
        return self.scale * (QMIN - self.zero_point), self.scale * (QMAX - self.zero_point)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """As ONNX QuantizeLinear: x / scale in float32, rounded half to even, plus the zero point,
        clamped."""
        q = np.rint(np.asarray(x, np.float32) / np.float32(self.scale)) + self.zero_point
        return np.clip(q, QMIN, QMAX).astype(np.uint8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (np.asarray(q, np.float32) - np.float32(self.zero_point)) * np.float32(self.scale)


def qparams_from_range(lo: float, hi: float) -> QParams:
    """The scale and zero point that cover [lo, hi], widened to hold 0 exactly (ONNX Runtime's rule:
    zero padding and ReLU need an exact zero)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = int(np.clip(round(QMIN - lo / scale), QMIN, QMAX))
    return QParams(scale, zero_point)


GATE = QParams(GATE_SCALE, GATE_ZERO_POINT)


def output_qparams(name: str, inp: QParams) -> QParams:
    """A gate's output on [0, 1]'s own grid; every other function keeps its input's scale and zero
    point (its output lies within its input's range, up to swish's dip below zero)."""
    return GATE if ACTIVATIONS[name].gate else inp


def codes() -> np.ndarray:
    return np.arange(QMIN, QMAX + 1, dtype=np.uint8)


def closed_form(name: str, inp: QParams, out: QParams, q: np.ndarray) -> np.ndarray:
    """The int8 output for int8 inputs `q`, written out: dequantize, the float32 function, quantize.
    Swish multiplies by a sigmoid that was itself quantized on the gate grid, as the engine runs it."""
    x = inp.dequantize(q)
    if name == "swish":
        y = x * GATE.dequantize(GATE.quantize(torch.sigmoid(torch.from_numpy(x)).numpy()))
    elif name == "hardsigmoid":
        y = _hardsigmoid(x)
    elif name == "hardswish":
        y = x * _hardsigmoid(x)
    else:
        y = ACTIVATIONS[name].fn(torch.from_numpy(x)).numpy()
    return out.quantize(y)


def _hardsigmoid(x: np.ndarray) -> np.ndarray:
    """clamp(x / 6 + 1/2, 0, 1) in float32, in the order ONNX's HardSigmoid computes it (x · alpha +
    beta); PyTorch's (x + 3) / 6 can differ by one float32 rounding, which moves a value lying on a
    rounding tie to the other side."""
    return np.clip(x * np.float32(1 / 6) + np.float32(0.5), 0, 1).astype(np.float32)


FLOAT32_SLACK = 1e-4  # output steps: the engine computes in float32 (seen: up to 7.5e-6 over the rest)


def error_bound_steps(name: str, inp: QParams, out: QParams) -> float:
    """The largest error of the int8 function against float32 on the input's range, in output steps.

    Half a step for rounding the output; the input's rounding (at most half an input step) moved
    through the function's steepest slope; anything the output range clips off at a representable
    input; for swish, its quantized sigmoid's half step times the largest |x|; and float32's own
    rounding of the engine's arithmetic (FLOAT32_SLACK steps).
    """
    x = inp.dequantize(codes())
    y = ACTIVATIONS[name].fn(torch.from_numpy(x)).numpy().astype(np.float64)
    lo, hi = out.range
    clipped = float(np.max(np.maximum(lo - y, 0) + np.maximum(y - hi, 0)))
    extra = float(np.max(np.abs(x))) * GATE.scale / 2 if name == "swish" else 0.0
    slope = ACTIVATIONS[name].slope
    return 0.5 + FLOAT32_SLACK + (slope * inp.scale / 2 + clipped + extra) / out.scale


def dense_inputs(inp: QParams) -> np.ndarray:
    """Float inputs covering the input's representable range, DENSE per step (float32)."""
    lo, hi = inp.range
    return np.linspace(lo, hi, (QMAX - QMIN) * DENSE + 1, dtype=np.float32)


def error_steps(name: str, inp: QParams, out: QParams, table: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                    np.ndarray]:
    """(x, float32 f(x), the int8 function's dequantized output) on the dense grid, from `table`, the
    engine's int8 output for every int8 input code in order."""
    x = dense_inputs(inp)
    exact = ACTIVATIONS[name].fn(torch.from_numpy(x)).numpy()
    q = inp.quantize(x).astype(np.int32) - QMIN
    return x, exact, out.dequantize(table[q])


# ---------------------------------------------------------------------------------------------------
# the engine


def providers(device: str) -> tuple[str | None, str | None]:
    """(ONNX Runtime execution provider for `device`, None) or (None, why it cannot run there)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return "CPUExecutionProvider", None
    if "CUDAExecutionProvider" in available:
        return "CUDAExecutionProvider", None
    return None, (f"the installed onnxruntime {ort.__version__} has no CUDA execution provider (it offers "
                  f"{', '.join(available)}); int8 on {device} would need the onnxruntime-gpu package")


def engine_version() -> str:
    import onnxruntime as ort
    return ort.__version__


Profiler = Callable[[int], dict]  # profiled runs -> a form's node profile (`profile_session`)


@dataclass
class Session:
    """An ONNX Runtime session, and the graph it really runs (after its optimizer's rewrites)."""
    run: Callable[[dict], list]
    ops: list[str]  # op types of the optimized graph, in order


def _options(threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # no busy-waiting between calls: the cores stay free for the rest of the server
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _inference_session(model: bytes, device: str, options):
    import onnxruntime as ort

    provider, why = providers(device)
    if provider is None:
        raise RuntimeError(why)
    opts = [{"device_id": int(device.split(":")[1])}] if provider == "CUDAExecutionProvider" else None
    return ort.InferenceSession(model, options, providers=[provider], provider_options=opts)


def session(model: bytes, device: str, threads: int | None) -> Session:
    import onnx

    options = _options(threads)
    with tempfile.TemporaryDirectory() as folder:
        options.optimized_model_filepath = os.path.join(folder, "optimized.onnx")
        sess = _inference_session(model, device, options)
        ops = [node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node]
    return Session(lambda feed: sess.run(None, feed), ops)


def _model(nodes, inputs, outputs, initializers) -> bytes:
    from onnx import helper
    graph = helper.make_graph(nodes, "activation", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return model.SerializeToString()


def _op(name: str, x: str, y: str, make, consts) -> list:
    """ONNX nodes computing activation `name` from float tensor `x` into `y`."""
    if name == "relu":
        return [make("Relu", [x], [y])]
    if name == "relu6":
        consts("zero", 0.0)
        consts("six", 6.0)
        return [make("Clip", [x, "zero", "six"], [y])]
    if name == "sigmoid":
        return [make("Sigmoid", [x], [y])]
    if name == "hardsigmoid":
        return [make("HardSigmoid", [x], [y], alpha=1 / 6, beta=0.5)]  # PyTorch's: relu6(x + 3) / 6
    if name == "hardswish":
        return [make("HardSwish", [x], [y])]
    return [make("Sigmoid", [x], [y + "_gate"]), make("Mul", [x, y + "_gate"], [y])]  # swish


def activation_model(name: str, size: int, inp: QParams | None = None, out: QParams | None = None) -> bytes:
    """One activation over a 1-D tensor of `size` elements: float32 when `inp` is None, else int8 in
    and out as a QDQ graph (swish's sigmoid quantized on its own, as the static quantizer does)."""
    from onnx import TensorProto, helper

    initializers = []

    def const(key, value, kind=TensorProto.FLOAT):
        initializers.append(helper.make_tensor(key, kind, [], [value]))

    make = helper.make_node
    if inp is None:
        nodes = _op(name, "x", "y", make, const)
        kind = TensorProto.FLOAT
    else:
        const("in_scale", inp.scale)
        const("in_zero", inp.zero_point, TensorProto.UINT8)
        const("out_scale", out.scale)
        const("out_zero", out.zero_point, TensorProto.UINT8)
        nodes = [make("DequantizeLinear", ["x", "in_scale", "in_zero"], ["xf"])]
        if name == "swish":
            # each consumer of x gets its own DequantizeLinear, as the static quantizer writes it
            const("gate_scale", GATE.scale)
            const("gate_zero", GATE.zero_point, TensorProto.UINT8)
            nodes += [make("Sigmoid", ["xf"], ["gf"]),
                      make("QuantizeLinear", ["gf", "gate_scale", "gate_zero"], ["gq"]),
                      make("DequantizeLinear", ["gq", "gate_scale", "gate_zero"], ["gd"]),
                      make("DequantizeLinear", ["x", "in_scale", "in_zero"], ["xf2"]),
                      make("Mul", ["xf2", "gd"], ["yf"])]
        else:
            nodes += _op(name, "xf", "yf", make, const)
        nodes.append(make("QuantizeLinear", ["yf", "out_scale", "out_zero"], ["y"]))
        kind = TensorProto.UINT8
    return _model(nodes, [helper.make_tensor_value_info("x", kind, [size])],
                  [helper.make_tensor_value_info("y", kind, [size])], initializers)


# What a node of an optimized graph does, by its op type (docs/quantization.md, "Node by node"):
# computes on 8-bit integers, converts between float and integers, only moves data between layouts
# (ONNX Runtime's int8 convolutions take NHWC, its float ones a blocked NCHWc: it inserts the
# transposes and reorders itself), or computes in float, which in an int8 graph is a fallback.
INTEGER_OPS = {"ConvInteger", "MatMulInteger", "MatMulIntegerToFloat", "QGemm"}  # and every QLinear*
CONVERSIONS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}
LAYOUT = {"Transpose", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze", "ReorderInput",
          "ReorderOutput"}
NODE_CLASSES = ("integer", "convert", "layout", "float")


def node_class(op_type: str, reads_float: bool = True) -> str:
    """`integer`, `convert`, `layout` or `float` for a node of `op_type`. An op type that is none of
    the first three computes in float, unless the node touches no float tensor at all (`reads_float`
    False, as a MaxPool over uint8 codes): then it computes on the integers as they are."""
    if op_type.startswith("QLinear") or op_type in INTEGER_OPS:
        return "integer"
    if op_type in CONVERSIONS:
        return "convert"
    if op_type in LAYOUT:
        return "layout"
    return "float" if reads_float else "integer"


def integer_kernels(ops: list[str]) -> list[str]:
    """The ops of an optimized graph that compute on 8-bit integers (ONNX Runtime's QLinear* kernels)."""
    return [op for op in ops if node_class(op) == "integer"]


def float_ops(ops: list[str]) -> list[str]:
    """The ops that compute in float: everything but integer kernels, conversions and layout changes."""
    return [op for op in ops if node_class(op) == "float"]


# ---------------------------------------------------------------------------------------------------
# the node profile: ONNX Runtime's own profiler, run after the timed rounds

PROFILE_WARM = 1  # the first profiled pass allocates and warms caches: left out of the medians
FLOAT_TYPES = {"float", "double", "float16", "bfloat16"}
KERNEL_TIME = "_kernel_time"  # ONNX Runtime names a node's event "<node>_kernel_time"


def _touches_float(args: dict) -> bool:
    """Whether a node's inputs or outputs, as its profile event lists them, hold a float tensor (True
    when the event does not say)."""
    tensors = args.get("input_type_shape", []) + args.get("output_type_shape", [])
    if not tensors:
        return True
    return any(kind in FLOAT_TYPES for tensor in tensors for kind in tensor)


def profile_nodes(events: list[dict], warm: int = PROFILE_WARM) -> list[dict]:
    """Each node of one session's profile (ONNX Runtime's JSON trace events), in the order it first
    ran: its name, op type, execution provider, class, and the median of its durations (µs) over the
    runs after the first `warm` (all of them when there are no more)."""
    found: dict[str, dict] = {}
    for event in events:
        if event.get("cat") != "Node" or not event.get("name", "").endswith(KERNEL_TIME):
            continue
        args = event.get("args", {})
        name = event["name"].removesuffix(KERNEL_TIME)
        node = found.setdefault(args.get("node_index", name), {
            "name": name, "op_type": args.get("op_name", name), "provider": args.get("provider"),
            "class": node_class(args.get("op_name", name), _touches_float(args)), "durations": []})
        node["durations"].append(float(event["dur"]))
    nodes = []
    for node in found.values():
        durations = node.pop("durations")
        kept = durations[warm:] or durations
        nodes.append({**node, "median_us": statistics.median(kept)})
    return nodes


def profile_summary(nodes: list[dict], form: str, runs: int) -> dict:
    """A form's nodes with their shares of the sum of node medians, and that sum split by class."""
    total = sum(n["median_us"] for n in nodes)
    share = (lambda us: us / total) if total > 0 else (lambda us: 0.0)
    by_class = {c: sum(n["median_us"] for n in nodes if n["class"] == c) for c in NODE_CLASSES}
    return {"form": form, "runs": runs, "sum_us": total,
            "nodes": [{**n, "share": share(n["median_us"])} for n in nodes],
            "us_by_class": by_class, "share_by_class": {c: share(us) for c, us in by_class.items()},
            "count_by_class": {c: sum(n["class"] == c for n in nodes) for c in NODE_CLASSES}}


def profile_session(model: bytes, device: str, threads: int | None, feed: dict, form: str, runs: int) -> dict:
    """`model` run `runs` times (after PROFILE_WARM more) in a session of its own with ONNX Runtime's
    profiler on, with the timed session's threads: the profile of every node (`profile_summary`)."""
    options = _options(threads)
    with tempfile.TemporaryDirectory() as folder:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(folder, "profile")
        sess = _inference_session(model, device, options)
        for _ in range(PROFILE_WARM + runs):
            sess.run(None, feed)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
    return profile_summary(profile_nodes(events), form, runs)


def activation_report(name: str, inp: QParams, device: str = "cpu", threads: int | None = None) -> dict:
    """The int8 function of `name` at input `inp` as the engine runs it: its kernels, its output for
    every int8 code, how it compares with the closed form and with float32 (in output steps)."""
    out = output_qparams(name, inp)
    q = codes()
    sess = session(activation_model(name, q.size, inp, out), device, threads)
    table = np.asarray(sess.run({"x": q})[0]).astype(np.uint8)
    reference = closed_form(name, inp, out, q)
    x, exact, int8 = error_steps(name, inp, out, table)
    err = np.abs(int8.astype(np.float64) - exact.astype(np.float64)) / out.scale
    lo, hi = out.range
    integer, floats = integer_kernels(sess.ops), float_ops(sess.ops)
    return {
        "name": name, "title": ACTIVATIONS[name].title,
        "output": {"scale": out.scale, "zero_point": out.zero_point, "range": [lo, hi]},
        "ops": sess.ops, "integer_kernels": integer, "float_ops": floats,
        "native": bool(integer) and not floats and "DequantizeLinear" not in sess.ops,
        "closed_form_share": float(np.mean(table == reference)),
        "max_error_steps": float(err.max()), "mean_error_steps": float(err.mean()),
        "bound_steps": error_bound_steps(name, inp, out),
        "curve": {"x": _round(x), "float32": _round(exact), "int8": _round(int8)},
        "table": table.astype(int).tolist(),
    }


def _round(values: np.ndarray, digits: int = 6) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, np.float64)]


def activation_calls(inp: QParams, size: int, seed: int, device: str, threads: int | None
                     ) -> dict[str, Callable[[], object]]:
    """A call per function and type ("hardswish/int8", "hardswish/float32", ...) on a seeded tensor of
    `size` elements: the float32 graph on float32 values, the int8 graph on their int8 codes."""
    generator = np.random.default_rng(seed)
    q = generator.integers(QMIN, QMAX + 1, size, dtype=np.uint8)
    x = inp.dequantize(q)
    calls = {}
    for name in ACTIVATIONS:
        out = output_qparams(name, inp)
        as_float = session(activation_model(name, size), device, threads)
        as_int8 = session(activation_model(name, size, inp, out), device, threads)
        calls[f"{name}/float32"] = lambda s=as_float: s.run({"x": x})
        calls[f"{name}/int8"] = lambda s=as_int8: s.run({"x": q})
    return calls


# ---------------------------------------------------------------------------------------------------
# blocks


def with_activations(module: nn.Module, variant: str) -> nn.Module:
    """A copy of `module` with every swish and sigmoid made hard (`hard`), or every hard-swish and
    hard-sigmoid made smooth (`smooth`); ReLUs and the weights stay as they are."""
    swaps = ({nn.SiLU: nn.Hardswish, nn.Sigmoid: nn.Hardsigmoid} if variant == "hard"
             else {nn.Hardswish: nn.SiLU, nn.Hardsigmoid: nn.Sigmoid})
    module = copy.deepcopy(module)
    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            swap = swaps.get(type(child))
            if swap is not None:
                setattr(parent, child_name, swap())
    return module


def activations_in(module: nn.Module) -> list[str]:
    names = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Sigmoid: "sigmoid", nn.Hardsigmoid: "hardsigmoid",
             nn.SiLU: "swish", nn.Hardswish: "hardswish"}
    return sorted({names[type(m)] for m in module.modules() if type(m) in names})


def calibration_inputs(shape: list[int], count: int, seed: int) -> list[np.ndarray]:
    """`count` seeded standard-normal inputs (the calibration set), drawn after the evaluation input."""
    generator = torch.Generator().manual_seed(seed + 1)
    return [torch.randn(shape, generator=generator).numpy() for _ in range(count)]


def evaluation_input(shape: list[int], seed: int) -> np.ndarray:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).numpy()


SCHEME = ("static post-training quantization, QDQ format: uint8 activations (one scale per tensor, "
          "min-max calibrated), int8 weights (one scale per output channel)")


def quantize_block(module: nn.Module, shape: list[int], calibration: list[np.ndarray]) -> tuple[bytes, bytes]:
    """(float32 ONNX, int8 ONNX) of an eval-mode block: deployed (Conv+BN folded, as int8 deployment
    always does), exported, pre-processed (shape inference) and statically quantized."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.inputs = iter(calibration)

        def get_next(self):
            x = next(self.inputs, None)
            return None if x is None else {INPUT_NAME: x}

    deployed, _ = deploy(module)
    as_float = to_onnx(deployed, shape)
    with tempfile.TemporaryDirectory() as folder, _quiet():
        exported, prepared, quantized = (os.path.join(folder, f) for f in ("f.onnx", "p.onnx", "q.onnx"))
        with open(exported, "wb") as f:
            f.write(as_float)
        quant_pre_process(exported, prepared, skip_symbolic_shape=True)
        # uint8 activations with int8 weights: the pairing ONNX Runtime's x86 integer kernels take
        # (with int8 activations its CPU provider leaves depthwise convolutions in float)
        quantize_static(prepared, quantized, Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
        with open(quantized, "rb") as f:
            as_int8 = f.read()
    return as_float, as_int8


def block_report(module: nn.Module, shape: list[int], float_session: Session, int8_session: Session,
                 seed: int) -> dict:
    """Output error of the int8 block against its own float32 form on a seeded input (not one of the
    calibration set), and what the int8 graph really runs."""
    x = evaluation_input(shape, seed)
    reference = np.asarray(float_session.run({INPUT_NAME: x})[0], np.float64)
    with torch.inference_mode():
        eager = module(torch.from_numpy(x)).numpy().astype(np.float64)
    quantized = np.asarray(int8_session.run({INPUT_NAME: x})[0], np.float64)
    diff = np.abs(quantized - reference)
    peak = float(np.abs(reference).max())
    integer, floats = integer_kernels(int8_session.ops), float_ops(int8_session.ops)
    return {
        "activations": activations_in(module),
        "max_abs_error": float(diff.max()),
        "rel_error": float(diff.max() / peak) if peak > 0 else float(diff.max()),
        "rms_rel_error": float(np.sqrt(np.mean(diff**2)) / np.sqrt(np.mean(reference**2)))
        if np.any(reference) else 0.0,
        "float_engine_vs_pytorch": float(np.abs(reference - eager).max()),
        "integer_kernels": dict(Counter(integer)), "float_ops": dict(Counter(floats)),
        "native": not floats,
    }


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------------
# the jobs of the measuring process

VARIANTS = ("hard", "smooth")
# Quantized models of recent blocks, so that measuring after a look at the errors exports nothing again
_models: BoundedCache[tuple, tuple[bytes, bytes]] = BoundedCache("quantized models", "quant_model_cache")


def activations_job(scale: float, zero_point: int, size: int, seed: int, device: str, threads: int | None,
                    measure: bool) -> tuple[dict, dict[str, Callable[[], object]], dict[str, Profiler]]:
    """Every activation's report at this input quantization, and with `measure` its timed calls (one
    op each: nothing to profile node by node)."""
    inp = QParams(scale, zero_point)
    report = {"activations": [activation_report(name, inp, device, threads) for name in ACTIVATIONS],
              "engine": f"{ENGINE} {engine_version()}", "provider": providers(device)[0]}
    calls = activation_calls(inp, size, seed, device, threads) if measure else {}
    return report, calls, {}


def block_job(module: nn.Module, shape: list[int], seed: int, key: Hashable, calibration: int, device: str,
              threads: int | None, measure: bool
              ) -> tuple[dict, dict[str, Callable[[], object]], dict[str, Profiler]]:
    """Both variants of a block (`module`, built by the measuring process; `key` names it, for the
    cache of quantized models) quantized on inputs of `shape` drawn from `seed`: each one's errors
    and kernels, and with `measure` its float32 and int8 calls on the seeded evaluation input, and
    each form's profiler (`runs` -> its node profile), to run after the timed rounds."""
    module = module.eval()
    configured = activations_in(module)
    x = evaluation_input(shape, seed)
    variants, calls, profilers = [], {}, {}
    for variant in VARIANTS:
        changed = with_activations(module, variant).eval()
        as_float, as_int8 = _models.get_or_compute(
            (key, variant, calibration),
            lambda m=changed: quantize_block(m, shape, calibration_inputs(shape, calibration, seed)))
        float_session = session(as_float, device, threads)
        int8_session = session(as_int8, device, threads)
        report = block_report(changed, shape, float_session, int8_session, seed)
        report.update(name=variant, configured=report["activations"] == configured)
        variants.append(report)
        if measure:
            calls[f"{variant}/float32"] = lambda s=float_session: s.run({INPUT_NAME: x})
            calls[f"{variant}/int8"] = lambda s=int8_session: s.run({INPUT_NAME: x})
            for form, model in (("float32", as_float), ("int8", as_int8)):
                profilers[f"{variant}/{form}"] = lambda runs, m=model, f=form: profile_session(
                    m, device, threads, {INPUT_NAME: x}, f, runs)
    return {"variants": variants, "engine": f"{ENGINE} {engine_version()}", "provider": providers(device)[0],
            "scheme": SCHEME, "input_shape": shape}, calls, profilers
