"""Time a block end to end and op by op, on the inputs each op really received.

Pure measurement: no queue, no cache, no HTTP. The caller holds the device (one measurement at a
time) and has already put the block in `eval()`; every function here runs under
`torch.inference_mode()` itself.

Timing method (docs/numbers.md, "Measured latency"): warm-up calls, then `repeats` timed calls, each
timed on its own; the report is the median and quartiles of those samples, never the mean, so a
scheduler hiccup moves a quartile, not the headline number. The block's ops are timed in rounds
(`time_rounds`), every op once per round in forward order, with the same warm-up and repeats. On CPU
each call is bracketed by
`time.perf_counter()` (tens of nanoseconds of overhead). On CUDA each call is bracketed by a pair of
CUDA events and the host synchronizes once after the loop before reading them, so no asynchronous
launch is ever timed as if it had finished.
"""

import copy
import itertools
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from ..errors import Cancelled
from . import graph, kernels


def _check(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled


@dataclass(frozen=True)
class RecordedOp:
    """One analysis node with the exact arguments it received in a real forward pass."""
    id: str
    op: str
    call: Callable[[], Any]
    input_shapes: tuple[tuple[int, ...], ...] = ()  # of its tensor inputs (to tell a reorder's tensor)
    weight_shape: tuple[int, ...] | None = None


# ---------------------------------------------------------------------------------------------
# samples and their statistics


def quantile(sorted_samples: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default `quantile` method)."""
    pos = (len(sorted_samples) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (pos - lo)


def summarize(samples_s: list[float]) -> dict:
    """Median and quartiles of samples in seconds, in microseconds."""
    s = sorted(samples_s)
    return {"median_us": round(quantile(s, 0.5) * 1e6, 3), "p25_us": round(quantile(s, 0.25) * 1e6, 3),
            "p75_us": round(quantile(s, 0.75) * 1e6, 3)}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], warmup: int, repeats: int, device: torch.device,
               max_s: float | None = None, min_repeats: int = 1,
               should_stop: Callable[[], bool] | None = None) -> list[float]:
    """`warmup` untimed calls, then up to `repeats` samples in seconds, one call each.

    With `max_s`, sampling stops early once that much time has passed and `min_repeats` samples
    are in, so a default measurement keeps to its time target even when the machine is loaded.
    `should_stop` is asked between calls; when it says yes, `Cancelled` is raised.
    """
    deadline = math.inf if max_s is None else time.perf_counter() + max_s
    with torch.inference_mode():
        for _ in range(warmup):
            _check(should_stop)
            fn()
        if device.type == "cuda":
            return _time_cuda(fn, repeats, device, deadline, min_repeats, should_stop)
        clock = time.perf_counter
        samples = []
        for i in range(repeats):
            _check(should_stop)
            start = clock()
            fn()
            end = clock()
            samples.append(end - start)
            if end > deadline and i + 1 >= min_repeats:
                break
        return samples


def _time_cuda(fn: Callable[[], Any], repeats: int, device: torch.device, deadline: float,
               min_repeats: int, should_stop: Callable[[], bool] | None) -> list[float]:
    # Events time the GPU's own clock between the two records; the host only reads them after
    # synchronizing, so the loop never stalls on a sync per call and never times a bare launch.
    with torch.cuda.device(device):
        torch.cuda.synchronize(device)
        pairs = []
        for i in range(repeats):
            _check(should_stop)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            pairs.append((start, end))
            if i + 1 >= min_repeats and time.perf_counter() > deadline:
                break
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) / 1e3 for start, end in pairs]


def time_rounds(fns: list[Callable[[], Any]], warmup: int, repeats: int, device: torch.device,
                should_stop: Callable[[], bool] | None = None) -> list[list[float]]:
    """Samples of every fn, taken in rounds: each round calls every fn once, in order, each timed alone.

    Timing the ops of a block round by round, in forward order, means each op runs after the op
    that precedes it in the block (as in a real pass, not after itself), and a change in machine
    load while measuring touches every op alike instead of whichever op was being timed then.
    """
    with torch.inference_mode():
        for _ in range(warmup):
            _check(should_stop)
            for fn in fns:
                fn()
        if device.type == "cuda":
            return _rounds_cuda(fns, repeats, device, should_stop)
        clock = time.perf_counter
        samples: list[list[float]] = [[] for _ in fns]
        for _ in range(repeats):
            _check(should_stop)
            for fn, out in zip(fns, samples, strict=True):
                start = clock()
                fn()
                out.append(clock() - start)
        return samples


def _rounds_cuda(fns: list[Callable[[], Any]], repeats: int, device: torch.device,
                 should_stop: Callable[[], bool] | None) -> list[list[float]]:
    with torch.cuda.device(device):
        torch.cuda.synchronize(device)
        pairs: list[list[tuple]] = [[] for _ in fns]
        for _ in range(repeats):
            _check(should_stop)
            for fn, out in zip(fns, pairs, strict=True):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                out.append((start, end))
        torch.cuda.synchronize(device)
        return [[start.elapsed_time(end) / 1e3 for start, end in out] for out in pairs]


def time_once(fn: Callable[[], Any], device: torch.device) -> float:
    """Seconds for one call, synchronized on both sides (for estimates, not for reports)."""
    with torch.inference_mode():
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# recording the inputs of every op


def _op_name(gm: fx.GraphModule, node: fx.Node) -> str | None:
    """The analysis op of a node, or None for the views `analyse_graph()` folds away (getitem, Identity)."""
    try:
        op, _ = graph.classify(gm, node)
    except (TypeError, KeyError):
        # a module or function the analysis has no rule for is still timed, under its own name
        if node.op == "call_module":
            return type(gm.get_submodule(node.target)).__name__.lower()
        return getattr(node.target, "__name__", str(node.target))
    return op


def _mutates(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return bool(getattr(gm.get_submodule(node.target), "inplace", False))
    if node.op == "call_method":
        return node.target.endswith("_")
    return bool(node.kwargs.get("inplace", False))


def _callable(gm: fx.GraphModule, node: fx.Node) -> Callable[..., Any]:
    if node.op == "call_module":
        return gm.get_submodule(node.target)
    if node.op == "call_function":
        return node.target
    method = node.target
    return lambda self, *args, **kwargs: getattr(self, method)(*args, **kwargs)


class _Recorder(fx.Interpreter):
    """Runs the traced block once and keeps, for every analysis node, a call with its real inputs."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.ops: list[RecordedOp] = []

    def run_node(self, node: fx.Node):
        if node.op in ("call_module", "call_function", "call_method") and node.target is not operator.getitem:
            op = _op_name(self.module, node)
            if op is not None:
                args, kwargs = self.fetch_args_kwargs_from_env(node)
                if _mutates(self.module, node):
                    # an in-place op would otherwise change the tensors recorded for earlier ops
                    args, kwargs = fx.node.map_aggregate((args, kwargs), _clone)
                fn = _callable(self.module, node)
                weight = getattr(fn, "weight", None) if node.op == "call_module" else None
                self.ops.append(RecordedOp(node.name, op, _bind(fn, args, kwargs), _shapes(args),
                                           tuple(weight.shape) if isinstance(weight, torch.Tensor) else None))
        return super().run_node(node)


def _shapes(args) -> tuple[tuple[int, ...], ...]:
    """The shapes of the tensors among an op's arguments (a cat's list included), in order."""
    found: list[tuple[int, ...]] = []

    def keep(value):
        if isinstance(value, torch.Tensor):
            found.append(tuple(value.shape))
        return value

    fx.node.map_aggregate(args, keep)
    return tuple(found)


def _clone(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def _bind(fn, args, kwargs) -> Callable[[], Any]:
    if kwargs:
        return lambda: fn(*args, **kwargs)
    return lambda: fn(*args)


def record(module: nn.Module, x: torch.Tensor) -> list[RecordedOp]:
    """Every op of `module` (node ids as in `graph.analyse_graph`), bound to the inputs of one real pass."""
    recorder = _Recorder(graph.trace(module))
    with torch.inference_mode():
        recorder.run(x)
    return recorder.ops


# ---------------------------------------------------------------------------------------------
# the measurement


def measure_block(module: nn.Module, x: torch.Tensor, warmup: int, repeats: int, per_node: bool = False,
                  max_s: float | None = None, min_repeats: int = 1,
                  should_stop: Callable[[], bool] | None = None) -> dict:
    """End-to-end samples of `module(x)`, and with `per_node` of every op alone on its recorded inputs.

    The end-to-end loop runs first and the ops' inputs are recorded only after it: recorded inputs
    keep every activation of a pass alive, and a forward pass run meanwhile would need its own on
    top, so at no point does the measurement hold more than one pass's activations (what the
    analysis's memory estimate counts), plus one op's output at a time.
    With `max_s` the end-to-end loop may stop early (see `time_calls`); every op is then timed as
    many times as the block was, and `repeats` in the result says how many that is.
    `share` is a node's median over the sum of node medians, so shares sum to 1. `samples_s` are
    the end-to-end samples themselves (for the quality of the figure).
    """
    device = x.device
    samples = time_calls(lambda: module(x), warmup, repeats, device, max_s, min_repeats, should_stop)
    repeats = len(samples)
    result = {"repeats": repeats, "total": summarize(samples), "samples_s": samples}
    if per_node:
        result.update(time_ops(module, x, warmup, repeats, should_stop))
    return result


def time_ops(module: nn.Module, x: torch.Tensor, warmup: int, repeats: int,
             should_stop: Callable[[], bool] | None = None, profile: bool = True) -> dict:
    """Every op of `module` timed alone on the inputs it received in one real pass, in rounds:
    `nodes` (median, quartiles and share of each), their sum, and the shares summed by op.

    After the timed rounds, with `profile`, a few profiled calls of each op say what ran for it
    (`kernel`, `analysis.kernels`): they never disturb a timed sample. Without it `kernel` is None.
    """
    ops = record(module, x)
    per_op = time_rounds([op.call for op in ops], warmup, repeats, x.device, should_stop)
    _check(should_stop)
    infos = kernels.profile_ops([op.call for op in ops], x.device, [op.input_shapes for op in ops],
                                [op.weight_shape for op in ops]) if profile else [None] * len(ops)
    nodes = [{"id": op.id, "op": op.op, **summarize(samples), "kernel": info}
             for op, samples, info in zip(ops, per_op, infos, strict=True)]
    del ops, per_op  # the recorded inputs: every activation of a pass
    total = sum(n["median_us"] for n in nodes)
    by_op: dict[str, float] = {}
    for n in nodes:
        n["share"] = n["median_us"] / total if total > 0 else 1 / len(nodes)
        by_op[n["op"]] = by_op.get(n["op"], 0.0) + n["share"]
    return {"nodes": nodes, "sum_of_nodes_us": round(total, 3), "share_by_op": by_op}


def meta_copy(module: nn.Module) -> nn.Module:
    """`module` with every parameter and buffer replaced by a meta tensor: no weight is copied."""
    memo: dict = {}
    for t in itertools.chain(module.parameters(), module.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(meta, t.requires_grad) if isinstance(t, nn.Parameter) else meta
    return copy.deepcopy(module, memo)
