"""ReparamReport: the training-time and deploy-time analyses of a block, their equivalence, and
optionally the latency of both forms."""

import threading

from torch import nn

from ..analysis.graph import analyse_graph
from ..analysis.ops import ELEMENT_SIZE
from ..analysis.reparam import deploy, kernel_view, max_abs_diff, random_input
from ..cache import BoundedCache
from ..config import get_settings
from ..errors import InvalidParameter
from ..schemas import Analysis, KernelView, LatencyReport, ReparamLatency, ReparamReport
from . import latency
from .admission import WaitingLine
from .blocks import Cached, analyse_resolved, build, input_shape, resolve, size_param
from .limits import check_memory

# Weights held besides the block's own while deploying: the copy, and transient fused kernels.
DEPLOY_COPIES = 3

_reports: BoundedCache[tuple, Cached[ReparamReport]] = BoundedCache("reparam reports", "reparam_cache")
# One real build at a time (reports and measure=true alike), so building takes at most one block's
# budget at once. Builds and equivalence passes also hold the CPU as a latency measurement does
# (`latency.device_lock`), so they never run during, and skew, a CPU measurement.
_build_lock = threading.Lock()
_builds = WaitingLine("reparameterization checks", "reparam_max_waiting")
# measure=true keeps both built forms alive while they wait for the device and are measured
_measured_pairs = WaitingLine("reparameterization measurements", "reparam_max_measuring")


def _check_limits(before: Analysis, config: dict) -> None:
    """The analysis checked one block; a reparameterization also holds the deploy-time copy and the
    fused kernels while it builds them, and runs real forward passes."""
    param = size_param(config)
    weights = (1 + DEPLOY_COPIES) * before.totals.params * ELEMENT_SIZE
    if weights > get_settings().max_memory_mb * 2**20 / 2:
        param = "in_channels"  # the weights alone are most of it: a smaller input would not help
    check_memory(before, "reparameterizing this block (the block, its deploy-time copy and the fused "
                         "kernels)", param, config[param], every_activation=True,
                 extra_weight_copies=DEPLOY_COPIES)
    madds, limit = before.totals.madds, get_settings().max_reparam_madds
    if madds > limit:
        raise InvalidParameter(param, f"checking the reparameterization runs this block for real, and its "
                                      f"{madds:,} multiply-adds are more than the {limit:,} this server "
                                      "allows; make the batch, the input or the channels smaller",
                               config[param])


def deploy_pair(kind: str, config: dict) -> tuple[nn.Module, nn.Module, list[str]]:
    """The seeded training-time block and its deploy-time copy (call only after `analyse` passed,
    holding `_build_lock`; it builds on the CPU, under the CPU's device lock)."""
    with latency.device_lock("cpu"):
        module = build(kind, config)
        deployed, fused = deploy(module)
    return module, deployed, fused


def compute(kind: str, config: dict, before: Analysis) -> ReparamReport:
    """The ReparamReport without latency: a pure function of (kind, config)."""
    shape = input_shape(config)
    module, deployed, fused = deploy_pair(kind, config)
    with latency.device_lock("cpu"):  # real forward passes of both forms
        diff = max_abs_diff(module, deployed, random_input(shape, config["seed"]))
    kernel = kernel_view(module)
    del module
    # shapes and counts need no real tensors: analyse the deployed copy moved to the meta device
    after = Analysis(kind=kind, config=config, **dict(analyse_graph(deployed.to("meta"), shape)))
    return ReparamReport(kind=kind, config=config, before=before, after=after, max_abs_diff=diff,
                         fused=fused, kernel=None if kernel is None else KernelView(**kernel))


def report(kind: str, values: dict) -> Cached[ReparamReport]:
    """The cached ReparamReport of `kind` for these query values (read-only)."""
    spec, config = resolve(kind, values)
    before = analyse_resolved(spec, config).data  # 422s bad and oversized configs before any real build
    _check_limits(before, config)
    key = (spec.kind, tuple(config.items()))
    hit = _reports.get(key)
    if hit is not None:
        return hit
    with _builds.admit(), _build_lock:
        return _reports.get_or_compute(key, lambda: Cached.of(compute(spec.kind, config, before)))


def report_with_latency(kind: str, values: dict, *, device: str = "cpu", threads: int | None = None,
                        warmup: int | None = None, repeats: int | None = None) -> ReparamReport:
    """The ReparamReport plus the latency of both forms, measured the way the latency endpoint
    measures (same queue, same method); speedup = before median / after median.

    Both forms are measured in one hold of the device and cached as one result
    (`latency.measure_forms`), so the speedup always divides two numbers of the same freshness:
    both measured now, or both from the same earlier measurement (then both say `cached`).
    """
    result = report(kind, values)  # 404/422 first, and the equivalence is proven before timing
    latency.check_device(device)  # an unknown device is a 422 before any module is built
    data = result.data
    config = data.config
    with _measured_pairs.admit():
        with _build_lock:  # one real build at a time, as for reports
            module, deployed, _ = deploy_pair(kind, config)
        forms = {"before": (module, data.before), "after": (deployed, data.after)}
        measured = latency.measure_forms(("reparam", kind, tuple(config.items())), forms, input_shape(config),
                                         device=device, threads=threads, warmup=warmup, repeats=repeats,
                                         seed=config["seed"])
        del module, deployed, forms
    before, after = (LatencyReport(kind=kind, config=config, **dict(measured[name]))
                     for name in ("before", "after"))
    # reported as measured, never adjusted: on a CPU fusing can gain little or even lose
    speedup = before.total.median_us / after.total.median_us if after.total.median_us > 0 else None
    return data.model_copy(update={"latency": ReparamLatency(before=before, after=after, speedup=speedup)})
