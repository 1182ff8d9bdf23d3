"""How long one forward pass will take, estimated from a graph analysis before anything runs.

Each op is costed by what bounds it on this device, measured once by `calibrate` on small fixed
workloads. A convolution runs its multiply-adds at the rate calibrated convolutions reach with as
many channels per group (the geometric mean of input and output channels per group) and the nearest
kernel size: a depthwise or 2-channel-per-group conv runs far below a dense one's rate, and a conv
with fewer output channels than a vector register has lanes slower still. Every other op moves its
bytes at the device's memory throughput (sigmoid-based activations at their own, slower rate), and
every op pays a fixed call overhead (convolutions, BatchNorm and linear layers a larger one).
"""

import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from ..schemas import Graph
from .latency import time_calls
from .ops import ELEMENT_SIZE

# ops whose call costs as much as a convolution's (argument checks, dispatch to a library kernel)
HEAVY_CALLS = {"conv2d", "batch_norm", "linear"}
# ops whose elementwise work evaluates an exponential
TRANSCENDENTAL = {"sigmoid", "silu"}
# channels per group and kernel sizes at which convolutions are calibrated
CALIBRATED_GROUP_WIDTHS = (1, 2, 4, 16, 64, 128)
CALIBRATED_KERNELS = (1, 3, 7)
VECTOR_LANES = 16  # float32 lanes of a wide vector register: fewer output channels leave lanes idle


@dataclass(frozen=True)
class OpWork:
    """What one op asks of the device."""
    op: str
    madds: int
    bytes: int
    per_group: float = 0  # convolutions and linear layers: sqrt(input x output channels per group)
    kernel_area: int = 1
    out_channels: int = 0  # convolutions: all output channels (vector lanes to fill)


def work_of(graph: Graph) -> tuple[OpWork, ...]:
    """The work of every op of an analysed graph (the input node does none)."""
    work = []
    for n in graph.nodes:
        if n.op == "input":
            continue
        per_group, kernel_area, out_channels = 0.0, 1, 0
        if n.op == "conv2d":
            out_channels = n.attrs["out_channels"]
            groups = n.attrs["groups"]
            per_group = math.sqrt(n.attrs["in_channels"] // groups * n.attrs["out_channels"] // groups)
            kernel_area = n.attrs["kernel_size"][0] * n.attrs["kernel_size"][1]
        elif n.op == "linear":
            per_group = math.sqrt(n.attrs["in_features"] * n.attrs["out_features"])
        work.append(OpWork(n.op, n.madds, n.mac * ELEMENT_SIZE, per_group, kernel_area, out_channels))
    return tuple(work)


@dataclass(frozen=True)
class Throughput:
    """A device's calibrated rates at one thread count."""
    conv_rates: tuple[tuple[int, int, float], ...]  # (kernel area, channels per group, madds/s)
    bytes_per_s: float
    transcendental_bytes_per_s: float
    call_s: float  # an activation module called on a tiny tensor
    conv_call_s: float  # a convolution (or BatchNorm, or linear layer) module called on a tiny tensor

    def _conv_rate(self, kernel_area: int, per_group: float) -> float:
        kernels = sorted({k for k, _, _ in self.conv_rates})
        kernel = min(kernels, key=lambda k: abs(math.log(k) - math.log(kernel_area)))
        points = sorted((c, r) for k, c, r in self.conv_rates if k == kernel)
        x = math.log(max(1.0, per_group))
        for (c0, r0), (c1, r1) in itertools.pairwise(points):
            x0, x1 = math.log(c0), math.log(c1)
            if x <= x1:
                t = min(1.0, max(0.0, (x - x0) / (x1 - x0)))
                return math.exp(math.log(r0) + t * (math.log(r1) - math.log(r0)))
        return points[-1][1]

    def op_s(self, work: OpWork) -> float:
        rate = self.transcendental_bytes_per_s if work.op in TRANSCENDENTAL else self.bytes_per_s
        seconds = work.bytes / rate
        if work.madds:
            rate = self._conv_rate(work.kernel_area, work.per_group)
            if 0 < work.out_channels < VECTOR_LANES:  # too few output channels to fill the vector units
                rate *= work.out_channels / VECTOR_LANES
            seconds = max(seconds, work.madds / rate)
        return seconds + (self.conv_call_s if work.op in HEAVY_CALLS else self.call_s)

    def forward_s(self, work: tuple[OpWork, ...]) -> float:
        return sum(self.op_s(w) for w in work)

    def best_of(self, other: "Throughput") -> "Throughput":
        """The best rates and the cheapest calls of two calibrations: load from other processes only
        ever slows a calibration down, so the best seen is the device's."""
        return Throughput(
            tuple((k, c, max(r, s)) for (k, c, r), (_, _, s) in zip(self.conv_rates, other.conv_rates,
                                                                    strict=True)),
            max(self.bytes_per_s, other.bytes_per_s),
            max(self.transcendental_bytes_per_s, other.transcendental_bytes_per_s),
            min(self.call_s, other.call_s), min(self.conv_call_s, other.conv_call_s))


def _best_s(fn, device: torch.device, repeats: int = 5) -> float:
    return min(time_calls(fn, 2, repeats, device))


@torch.inference_mode()
def calibrate(device: torch.device) -> Throughput:
    """Time a few small convolutions, an add and a sigmoid on `device` (a few tenths of a second)."""
    # fixed costs, from modules called on tiny tensors: a grouped, strided conv inside a block
    # (conv, BN, activation) as blocks nest them, and a lone activation
    tiny = torch.randn(1, 8, 4, 4, device=device)
    relu = nn.ReLU().to(device)
    unit = nn.Sequential(nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1, groups=2, bias=False), nn.BatchNorm2d(8)),
                         nn.ReLU()).to(device).eval()
    call_s = min(time_calls(lambda: relu(tiny), 10, 30, device))
    unit_s = min(time_calls(lambda: unit(tiny), 10, 30, device))
    conv_call_s = max(call_s, (unit_s - call_s) / 2)  # the conv and the BN: each about as dear
    bare = nn.Conv2d(8, 8, 1, bias=False).to(device).eval()
    bare_s = min(time_calls(lambda: bare(tiny), 10, 30, device))
    rates = []
    for kernel in CALIBRATED_KERNELS:
        for per_group in CALIBRATED_GROUP_WIDTHS:
            channels, size = 128, 28
            conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels // per_group,
                             bias=False).to(device).eval()
            x = torch.randn(1, channels, size, size, device=device)
            madds = channels * size * size * per_group * kernel * kernel
            took = _best_s(lambda conv=conv, x=x: conv(x), device)
            rates.append((kernel * kernel, per_group, madds / max(took - bare_s, took / 10)))
    a = torch.randn(1 << 20, device=device)
    moved = 3 * a.numel() * a.element_size()  # two reads, one write
    add_s = max(_best_s(lambda: a + a, device) - call_s, 1e-9)
    sigmoid_s = max(_best_s(lambda: torch.sigmoid(a), device) - call_s, 1e-9)
    return Throughput(tuple(rates), moved / add_s, 2 * a.numel() * a.element_size() / sigmoid_s, call_s,
                      conv_call_s)
