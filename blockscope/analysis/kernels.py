"""What actually ran for each op: the ATen ops it went through, and on the CPU oneDNN's own account
of the primitive (its implementation, the layout it computed in, the reorders around it, and the
channels a blocked layout pads to).

Read after the timed rounds, in one profiled pass over the recorded ops, so it never disturbs a
timed sample (docs/numbers.md, "Kernels"). The parsers are pure functions of the text oneDNN
writes and of the profiler's event tree; `profile_ops` is the one place that runs anything.

oneDNN's verbose mode writes one line per primitive executed to the C library's stdout (fd 1), not
to Python's `sys.stdout`; the only way to read it from inside the process is to point fd 1 at a
file for the duration of the call, which is why `_capture_fd1` holds a module lock.
"""

import contextlib
import ctypes
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..schemas import KernelInfo, Reorder
from .ops import ELEMENT_SIZE

# ATen ops that only allocate, view or re-stride: they say nothing about the kernel that did the work
BOOKKEEPING = frozenset(f"aten::{name}" for name in (
    "empty", "empty_like", "empty_strided", "as_strided", "as_strided_", "resize_", "view", "_unsafe_view",
    "reshape", "_reshape_alias", "narrow", "slice", "select", "t", "transpose", "expand", "permute",
    "unsqueeze", "squeeze", "detach", "alias", "resolve_conj", "resolve_neg", "lift_fresh", "contiguous",
    "_nnpack_available"))

MARK = "blockscope_node,"  # written to fd 1 between ops, so each op's verbose lines can be told apart
_fd1_lock = threading.Lock()


# --- ATen: the profiler's event tree ---------------------------------------------------------------

def aten_chain(roots: Sequence[Any]) -> list[str]:
    """The ATen ops under `roots` (profiler events with `name` and `cpu_children`), depth first,
    outermost first, bookkeeping left out: e.g. aten::conv2d, aten::convolution,
    aten::_convolution, aten::mkldnn_convolution."""
    chain: list[str] = []

    def visit(event) -> None:
        if event.name.startswith("aten::") and event.name not in BOOKKEEPING:
            chain.append(event.name)
        for child in event.cpu_children:
            visit(child)

    for root in roots:
        visit(root)
    return chain


# --- oneDNN's verbose log --------------------------------------------------------------------------

@dataclass(frozen=True)
class Primitive:
    """One `onednn_verbose,...,primitive,exec,...` line."""
    kind: str  # convolution, reorder, inner_product, pooling, ...
    impl: str
    memory: dict[str, tuple[str, str]]  # argument (src, wei, bia, dst) -> (flags, layout tag)
    problem: str
    time_ms: float


def parse_line(line: str) -> Primitive | None:
    """One verbose line as a Primitive; None for any other line (headers, info, an unknown format).

    Fields (oneDNN 3.x): onednn_verbose, [timestamp,] v1, primitive, exec, engine, kind,
    implementation, prop_kind, memory descriptors, attributes, auxiliary, problem, time in ms.
    Read from the right for the fixed tail, so an optional timestamp does not shift them.
    """
    fields = line.strip().split(",")
    if not fields or fields[0] not in ("onednn_verbose", "dnnl_verbose"):
        return None
    try:
        at = fields.index("exec")
    except ValueError:
        return None
    if at < 1 or fields[at - 1] != "primitive" or len(fields) < at + 10:
        return None
    head, tail = fields[at + 1:at + 5], fields[-5:]  # engine, kind, impl, prop | memory .. time
    try:
        time_ms = float(tail[4])
    except ValueError:
        return None
    memory = {}
    for desc in tail[0].split():
        parts = desc.split(":")
        if len(parts) >= 5 and parts[0]:
            memory[parts[0]] = (parts[2], parts[4])
    return Primitive(kind=head[1], impl=head[2], memory=memory, problem=tail[3], time_ms=time_ms)


def channel_block(tag: str) -> int:
    """How many channels (dimension `b`) one block of a layout tag holds: `aBcd16b` -> 16,
    `ABcd16b16a` -> 16, `abcd` (NCHW) or `acdb` (NHWC) -> 1 (not blocked)."""
    block = 1
    for size, dim in re.findall(r"(\d+)([a-z])", tag):
        if dim == "b":
            block *= int(size)
    return block


@dataclass(frozen=True)
class ConvProblem:
    """A convolution's problem as oneDNN writes it: `g4mb1_ic64oc96_ih28oh28kh3sh1dh0ph1_iw28ow28kw3...`."""
    groups: int
    batch: int
    in_channels: int
    out_channels: int
    ih: int
    iw: int
    oh: int
    ow: int
    kh: int
    kw: int

    @classmethod
    def parse(cls, text: str) -> "ConvProblem | None":
        values = {}
        for name in ("g", "mb", "ic", "oc", "ih", "iw", "oh", "ow", "kh", "kw"):
            m = re.search(rf"(?<![a-z]){name}(\d+)", text)  # ic64oc90: a name follows a digit or _
            if m:
                values[name] = int(m.group(1))
        if not {"mb", "ic", "oc"} <= values.keys():
            return None
        ih, iw = values.get("ih", 1), values.get("iw", 1)
        return cls(groups=values.get("g", 1), batch=values["mb"], in_channels=values["ic"],
                   out_channels=values["oc"], ih=ih, iw=iw, oh=values.get("oh", ih), ow=values.get("ow", iw),
                   kh=values.get("kh", 1), kw=values.get("kw", 1))

    def counts(self, in_channels: int, out_channels: int, groups: int, bias: bool) -> tuple[int, int]:
        """(multiply-adds, bytes) at these channels, by docs/numbers.md's conv2d rule: madds =
        output elements x in/groups x kernel area; bytes = 4 x (input + output + weights + bias)."""
        per_group = in_channels // groups
        madds = self.batch * self.oh * self.ow * out_channels * per_group * self.kh * self.kw
        activations = self.batch * (in_channels * self.ih * self.iw + out_channels * self.oh * self.ow)
        elements = activations + out_channels * per_group * self.kh * self.kw + (out_channels if bias else 0)
        return madds, elements * ELEMENT_SIZE


def _up(channels: int, block: int) -> int:
    return math.ceil(channels / block) * block


def effective(problem: ConvProblem, src_block: int, dst_block: int, bias: bool
              ) -> tuple[dict[str, int], int, int] | None:
    """The channels a blocked layout computes, and the multiply-adds and bytes at them; None when
    the layout pads nothing.

    A layout blocked by `b` channels (`aBcd16b`) computes whole blocks, so channels are rounded up
    to a multiple of `b`: a 90-channel 1x1 conv computes as 96 -> 96.
    - groups = 1: in_channels up to the source's block, out_channels up to the destination's;
    - depthwise (groups = in = out channels): the channels up to the block (each a group of its own);
    - other groups: no claim (None). How oneDNN lays the groups of a grouped convolution out in a
      blocked tensor depends on the implementation it picks, and the tensor's tag alone does not
      say whether it pads each group; a figure it cannot stand behind is not shown.
    """
    g, ic, oc = problem.groups, problem.in_channels, problem.out_channels
    if g == 1:
        ic_eff, oc_eff, g_eff = _up(ic, src_block), _up(oc, dst_block), 1
    elif g == ic == oc:
        ic_eff = oc_eff = g_eff = _up(ic, max(src_block, dst_block))
    else:
        return None
    if (ic_eff, oc_eff) == (ic, oc):
        return None
    madds, nbytes = problem.counts(ic_eff, oc_eff, g_eff, bias)
    return {"in_channels": ic_eff, "out_channels": oc_eff}, madds, nbytes


def _dims(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(d) for d in text.split("x"))
    except ValueError:
        return None


def judge_tensor(shape: tuple[int, ...] | None, before_compute: bool, inputs: Sequence[Sequence[int]],
                 output: Sequence[int] | None, weight: Sequence[int] | None) -> str:
    """What a reorder converted: 'weights' when its shape is the weight's (a grouped weight is
    written groups x out/groups x in/groups x kh x kw), else 'input' or 'output' by its shape, and
    by whether it ran before or after the compute primitive when the shapes agree (1x1, same size)."""
    if shape is not None and weight is not None:
        w = tuple(weight)
        if shape == w or (len(shape) == len(w) + 1 and math.prod(shape) == math.prod(w)
                          and shape[1] * shape[0] == w[0] and shape[-2:] == w[-2:]):
            return "weights"
    is_input = shape is not None and any(tuple(s) == shape for s in inputs)
    is_output = shape is not None and output is not None and tuple(output) == shape
    if is_input and not is_output:
        return "input"
    if is_output and not is_input:
        return "output"
    return "input" if before_compute else "output"


def onednn_info(lines: Sequence[str], inputs: Sequence[Sequence[int]] = (),
                output: Sequence[int] | None = None, weight: Sequence[int] | None = None) -> dict:
    """KernelInfo's oneDNN fields from one op's verbose lines: the compute primitive's `impl` and
    source `layout`, every reorder (judged input, output or weights from the node's shapes), their
    time, and the effective channels, multiply-adds and bytes of a padded convolution. Lines that
    cannot be read are skipped: unknown text gives `impl` None, never an exception."""
    primitives = [p for p in (parse_line(line) for line in lines) if p is not None]
    compute_at = next((i for i, p in enumerate(primitives) if p.kind != "reorder"), None)
    compute = primitives[compute_at] if compute_at is not None else None
    reorders = []
    for i, p in enumerate(primitives):
        if p.kind != "reorder":
            continue
        src, dst = p.memory.get("src", ("", "")), p.memory.get("dst", ("", ""))
        shape = _dims(p.problem)
        before = compute_at is None or i < compute_at
        reorders.append(Reorder(tensor=judge_tensor(shape, before, inputs, output, weight), shape=p.problem,
                                src_layout=src[1], dst_layout=dst[1], time_us=round(p.time_ms * 1e3, 3)))
    info: dict = {"impl": None, "layout": None, "reorders": reorders,
                  "reorder_us": round(sum(r.time_us for r in reorders), 3),
                  "effective_channels": None, "effective_madds": None, "effective_bytes": None}
    if compute is None:
        return info
    info["impl"] = compute.impl or None
    src_tag = compute.memory.get("src", ("", ""))[1]
    info["layout"] = src_tag or None
    if compute.kind == "convolution":
        problem = ConvProblem.parse(compute.problem)
        bias = compute.memory.get("bia", ("", "undef"))[1] not in ("undef", "")
        dst_tag = compute.memory.get("dst", ("", ""))[1]
        found = problem and effective(problem, channel_block(src_tag), channel_block(dst_tag), bias)
        if found:
            info["effective_channels"], info["effective_madds"], info["effective_bytes"] = found
    return info


def kernel_info(aten: list[str], lines: Sequence[str] = (), inputs: Sequence[Sequence[int]] = (),
                output: Sequence[int] | None = None, weight: Sequence[int] | None = None,
                gpu_kernels: Sequence[str] = ()) -> KernelInfo:
    """One node's KernelInfo from its ATen chain and, on the CPU, its oneDNN lines (none for ops
    oneDNN does not run: relu, add, cat, channel shuffle), or on a GPU the kernels it launched."""
    info = onednn_info(lines, inputs, output, weight)
    if gpu_kernels and info["impl"] is None:
        info["impl"] = ", ".join(dict.fromkeys(gpu_kernels))
    return KernelInfo(aten=aten, **info)


# --- the profiled pass ------------------------------------------------------------------------------

@contextlib.contextmanager
def _capture_fd1() -> Iterator[Callable[[], str]]:
    """Point the C library's stdout (fd 1) at a temporary file for the block; yields a reader of what
    was written. Both sides are flushed so nothing written before lands in the file, and nothing
    written inside is lost when fd 1 goes back."""
    libc = ctypes.CDLL(None)
    with _fd1_lock, tempfile.TemporaryFile(mode="w+b") as out:
        libc.fflush(None)
        saved = os.dup(1)
        try:
            os.dup2(out.fileno(), 1)
            text: list[str] = []
            yield lambda: "".join(text)
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
            out.seek(0)
            text.append(out.read().decode(errors="replace"))


VERBOSE_ROUNDS = 3  # calls of each op under oneDNN's verbose log: its times are their medians
PROFILED_PASSES = 1 + VERBOSE_ROUNDS  # untimed calls of every op after the timed rounds


def steady(rounds: Sequence[Sequence[str]]) -> list[str]:
    """One op's verbose lines over several calls, as the last call's lines with each primitive's time
    the median of its times over the calls: one call's time can be a cold one (a first touch of a
    fresh output buffer), and the sentences set reorders against the op's median time. Calls that ran
    different primitives (a count that differs) give the last call's lines as they are."""
    if not rounds:
        return []
    last = list(rounds[-1])
    if any(len(r) != len(last) for r in rounds):
        return last
    steadied = []
    for at, line in enumerate(last):
        found = [parse_line(r[at]) for r in rounds]
        times = sorted(p.time_ms for p in found if p is not None)
        if parse_line(line) is None or len(times) != len(rounds):
            steadied.append(line)
            continue
        mid = len(times) // 2
        median = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
        steadied.append(f"{line.rstrip().rsplit(',', 1)[0]},{median:.6g}")
    return steadied


def _onednn_lines(calls: Sequence[Callable[[], Any]], rounds: int = VERBOSE_ROUNDS) -> list[list[str]]:
    """oneDNN's verbose lines of each call (`steady` over `rounds` rounds of every call in order; CPU
    only)."""
    libc = ctypes.CDLL(None)
    per_call: list[list[list[str]]] = [[[] for _ in range(rounds)] for _ in calls]
    with _capture_fd1() as read, torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
        for r in range(rounds):
            for i, call in enumerate(calls):
                libc.fflush(None)
                os.write(1, f"{MARK}{i},{r}\n".encode())
                call()
                libc.fflush(None)
    current = None
    for line in read().splitlines():
        if line.startswith(MARK):
            i, r = line[len(MARK):].split(",")
            current = per_call[int(i)][int(r)]
        elif current is not None and "primitive,exec" in line:
            current.append(line)
    return [steady(r) for r in per_call]


def profile_ops(calls: Sequence[Callable[[], Any]], device: torch.device,
                inputs: Sequence[Sequence[Sequence[int]]] = (), weights: Sequence[Sequence[int] | None] = ()
                ) -> list[KernelInfo | None]:
    """One profiled call of each op (after its timed rounds): what ran for each, in order. An op whose
    profile cannot be read gets None; nothing here raises into the measurement."""
    from torch.profiler import ProfilerActivity, profile, record_function

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    outputs: list[Sequence[int] | None] = []
    try:
        with torch.inference_mode(), profile(activities=activities) as prof:
            for i, call in enumerate(calls):
                with record_function(f"{MARK}{i}"):
                    out = call()
                outputs.append(tuple(out.shape) if isinstance(out, torch.Tensor) else None)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        marks: dict[int, Any] = {}
        for event in prof.events():
            if event.name.startswith(MARK) and event.cpu_parent is None:
                marks[int(event.name[len(MARK):])] = event
        chains = [aten_chain(marks[i].cpu_children) if i in marks else [] for i in range(len(calls))]
        gpu = _gpu_kernels(marks, len(calls)) if device.type == "cuda" else [[] for _ in calls]
    except Exception:  # a profiler this build does not have: the timings stand without it
        return [None] * len(calls)
    lines: list[list[str]] = [[] for _ in calls]
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        try:
            with torch.inference_mode():
                lines = _onednn_lines(calls)
        except Exception:  # no verbose mode in this build: the ATen chains alone
            pass
    infos: list[KernelInfo | None] = []
    for i in range(len(calls)):
        try:
            infos.append(kernel_info(chains[i], lines[i], inputs[i] if i < len(inputs) else (), outputs[i],
                                     weights[i] if i < len(weights) else None, gpu[i]))
        except Exception:
            infos.append(None)
    return infos


def _gpu_kernels(marks: dict[int, Any], count: int) -> list[list[str]]:
    """The GPU kernels each op launched: the profiler attaches each kernel to the CPU op that
    launched it (`kernels`), so they are gathered from the op's subtree (untested without a GPU)."""
    def gather(event) -> list[str]:
        names = [k.name for k in getattr(event, "kernels", ())]
        for child in event.cpu_children:
            names += gather(child)
        return names

    return [gather(marks[i]) if i in marks else [] for i in range(count)]
