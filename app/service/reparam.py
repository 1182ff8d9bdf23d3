"""ReparamReport: the training-time and deploy-time analyses of a block, their equivalence, and
optionally the latency of both forms."""

import threading
from collections import OrderedDict

from torch import nn

from ..analysis.graph import describe
from ..analysis.reparam import deploy, kernel_view, max_abs_diff, random_input
from ..settings import int_env, settings
from . import latency
from .blocks import ELEMENT_SIZE, Cached, analyse, build, input_shape, memory_estimate, resolve, size_param
from .errors import Busy, InvalidParameter

# Real forward passes cost time, not just memory: refuse blocks above this many multiply-adds
# (about a second per pass on two CPU cores at the default).
MAX_MADDS = int_env("BLOCKSCOPE_MAX_REPARAM_MADDS", 10_000_000_000)
# Weights held besides the block's own while deploying: the copy, and transient fused kernels.
DEPLOY_COPIES = 3
CACHE_SIZE = 128
# Requests allowed to wait for the one computation at a time before the server answers 429.
MAX_WAITING = 8


_cache: "OrderedDict[tuple, Cached]" = OrderedDict()
_cache_lock = threading.Lock()
# One real build at a time (reports and measure=true alike), so building takes at most one block's
# budget at once. Builds and equivalence passes also hold the CPU as a latency measurement does
# (`latency.device_lock`), so they never run during, and skew, a CPU measurement.
_compute_lock = threading.Lock()
_waiting = 0
_waiting_lock = threading.Lock()
# measure=true keeps both built forms alive while they wait for the device and are measured:
# besides the one build in progress, at most MAX_MEASURING built pairs are held
MAX_MEASURING = 2
_measuring = threading.BoundedSemaphore(MAX_MEASURING)


def _refuse(param: str, config: dict, message: str) -> None:
    raise InvalidParameter(param, message + "; reduce batch, height/width or the channel counts",
                           config.get(param))


def _check_limits(before: dict, config: dict) -> None:
    """The analysis checked one block's weights and activations; a reparameterization also holds
    the deploy-time copy and the fused kernels while it builds them, and runs real forward passes."""
    weights = ELEMENT_SIZE * before["totals"]["params"]
    need = memory_estimate(before) + DEPLOY_COPIES * weights
    limit = settings.max_memory_mb * 2**20
    if need > limit:
        param = "in_channels" if (DEPLOY_COPIES + 1) * weights > limit / 2 else \
            size_param(config["batch"])
        _refuse(param, config, f"reparameterizing this block needs about {need / 2**20:.0f} MiB (the "
                               f"block, its deploy-time copy and the fused kernels), over the server's limit "
                               f"of {settings.max_memory_mb} MiB (BLOCKSCOPE_MAX_MEMORY_MB)")
    madds = before["totals"]["madds"]
    if madds > MAX_MADDS:
        _refuse(size_param(config["batch"]), config,
                f"checking the reparameterization runs this block for real, and its {madds:,} multiply-adds "
                f"are over the server's limit of {MAX_MADDS:,} (BLOCKSCOPE_MAX_REPARAM_MADDS)")


def deploy_pair(kind: str, config: dict) -> tuple[nn.Module, nn.Module, list[str]]:
    """The seeded training-time block and its deploy-time copy (call only after `analyse` passed,
    holding `_compute_lock`; it builds on the CPU, under the CPU's device lock)."""
    with latency.device_lock("cpu"):
        module = build(kind, config)
        deployed, fused = deploy(module)
    return module, deployed, fused


def compute(kind: str, config: dict, before: dict) -> dict:
    """The ReparamReport without latency: a pure function of (kind, config)."""
    shape = input_shape(config)
    module, deployed, fused = deploy_pair(kind, config)
    with latency.device_lock("cpu"):  # real forward passes of both forms
        diff = max_abs_diff(module, deployed, random_input(shape, config["seed"]))
    kernel = kernel_view(module)
    del module
    # shapes and counts need no real tensors: describe the deployed copy moved to the meta device
    after = {"kind": kind, "config": config, **describe(deployed.to("meta"), shape)}
    return {"kind": kind, "config": config, "before": before, "after": after,
            "max_abs_diff": diff, "fused": fused, "kernel": kernel}


def report(kind: str, values: dict) -> Cached:
    """The cached ReparamReport of `kind` for these query values (treat `data` as read-only)."""
    global _waiting
    spec, config = resolve(kind, values)
    before = analyse(spec.kind, values).data  # 422s bad and oversized configs before any real build
    _check_limits(before, config)
    key = (spec.kind, tuple(config.items()))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with _waiting_lock:
        if _waiting >= MAX_WAITING:
            raise Busy("too many reparameterization checks are running; try again shortly", 2)
        _waiting += 1
    try:
        with _compute_lock:
            with _cache_lock:
                hit = _cache.get(key)
            if hit is None:
                data = compute(spec.kind, config, before)
                hit = Cached.of(data)
                with _cache_lock:
                    _cache[key] = hit
                    while len(_cache) > CACHE_SIZE:
                        _cache.popitem(last=False)
    finally:
        with _waiting_lock:
            _waiting -= 1
    return hit


def report_with_latency(kind: str, values: dict, *, device: str = "cpu", threads: int | None = None,
                        warmup: int | None = None, repeats: int | None = None) -> dict:
    """The ReparamReport plus the latency of both forms, measured the way the latency endpoint
    measures (same queue, same method); speedup = before median / after median.

    Both forms are measured in one hold of the device and cached as one result
    (`latency.measure_forms`), so the speedup always divides two numbers of the same freshness:
    both measured now, or both from the same earlier measurement (then both say `cached`).
    """
    result = report(kind, values)  # 404/422 first, and the equivalence is proven before timing
    latency.check_device(device)  # an unknown device is a 422 before any module is built
    data = result.data
    config = data["config"]
    shape = input_shape(config)
    items = tuple(config.items())
    if not _measuring.acquire(blocking=False):
        raise Busy(f"{MAX_MEASURING} reparameterization measurements are already running; try again shortly", 5)
    try:
        with _compute_lock:  # one real build at a time, as for reports
            module, deployed, _ = deploy_pair(kind, config)
        forms = {"before": (module, data["before"]), "after": (deployed, data["after"])}
        measured = latency.measure_forms(("reparam", kind, items), forms, shape, device=device,
                                         threads=threads, warmup=warmup, repeats=repeats, seed=config["seed"])
        del module, deployed, forms
        reports = {name: {"kind": kind, "config": config, **m} for name, m in measured.items()}
    finally:
        _measuring.release()
    # reported as measured, never adjusted: on a CPU fusing can gain little or even lose
    after_us = reports["after"]["total"]["median_us"]
    speedup = reports["before"]["total"]["median_us"] / after_us if after_us > 0 else None
    return {**data, "latency": {**reports, "speedup": speedup}}
