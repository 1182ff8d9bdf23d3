"""ReparamReport: the training-time and deploy-time analyses of a block, their equivalence, and
optionally the latency of both forms.

The two forms are known without running anything: the block is deployed on the meta device, where
folding BatchNorms and merging branches computes shapes, not values. Only the proof that both forms
compute the same function (and the merged kernel's values) runs real tensors, in the measuring
process, once per configuration: a report answers at once, "pending" until that check is known.
"""

import threading
from collections.abc import Mapping

from .. import measuring
from ..analysis.estimate import work_of
from ..analysis.graph import analyse_graph
from ..analysis.memory import bytes_needed
from ..analysis.ops import ELEMENT_SIZE
from ..analysis.reparam import DEPLOY_COPIES, deploy
from ..cache import BoundedCache
from ..config import get_settings
from ..errors import InvalidParameter
from ..measuring.forms import BlockForm
from ..measuring.jobs import Equivalence
from ..measuring.results import EquivalenceResult
from ..registry import BlockConfig
from ..schemas import Analysis, ConfigValue, LatencyReport, ReparamEquivalence, ReparamLatency, ReparamReport
from . import latency, roofline
from .admission import WaitingLine
from .blocks import Cached, analyse_resolved, construct, resolve
from .limits import check_memory

_reports: BoundedCache[tuple, Cached[ReparamReport]] = BoundedCache("reparam reports", "reparam_cache")
_checked: BoundedCache[BlockConfig, Cached[ReparamEquivalence]] = BoundedCache("reparam checks",
                                                                              "reparam_cache")
# Checks waiting for the measuring process (it runs them one at a time, on the CPU).
_checks = WaitingLine("reparameterization checks", "reparam_max_waiting")
# measure=true runs both forms side by side, so it holds twice a block's memory while measured
_measured_pairs = WaitingLine("reparameterization measurements", "reparam_max_measuring")


def _check_limits(before: Analysis, config: BlockConfig) -> None:
    """The analysis checked one block; a reparameterization also holds the deploy-time copy and the
    fused kernels while it builds them, and runs real forward passes."""
    param, _ = config.size_param
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


def equivalence_job(config: BlockConfig, before: Analysis) -> Equivalence:
    """The job that runs both forms on a seeded input, and shows the merged kernel."""
    weights = (1 + DEPLOY_COPIES) * before.totals.params * ELEMENT_SIZE
    return Equivalence(BlockForm(config), tuple(config.input_shape), config["seed"],
                       memory_bytes=bytes_needed(before, every_activation=False) + weights,
                       work=(work_of(before),))


def deployed_form(config: BlockConfig) -> tuple[Analysis, list[str]]:
    """The deploy-time form's analysis and what was folded into what, on the meta device."""
    deployed, fused = deploy(construct(config, "meta"))
    graph = analyse_graph(deployed, config.input_shape)
    return Analysis(kind=config.kind, config=config.as_dict(), **dict(graph)), fused


def _resolve(kind: str, values: Mapping[str, ConfigValue | None]) -> tuple[BlockConfig, Analysis]:
    config = resolve(kind, values)
    before = analyse_resolved(config).data  # 422s bad and oversized configs before any real build
    _check_limits(before, config)
    return config, before


def report(kind: str, values: Mapping[str, ConfigValue | None]) -> Cached[ReparamReport]:
    """The ReparamReport of `kind` for these query values (read-only): checked when the measuring
    process has proven the equivalence, else pending (`equivalence()` proves it)."""
    config, before = _resolve(kind, values)
    checked = _checked.get(config)
    state = "pending" if checked is None else "checked"

    def compute() -> Cached[ReparamReport]:
        known = _reports.get((config, "pending"))  # the forms, from before the check was known
        after, fused = (known.data.after, known.data.fused) if known else deployed_form(config)
        proof = {"max_abs_diff": None, "kernel": None} if checked is None else \
            {"max_abs_diff": checked.data.max_abs_diff, "kernel": checked.data.kernel}
        return Cached.of(ReparamReport(kind=kind, config=before.config, before=before, after=after,
                                       fused=fused, equivalence=state, **proof))
    return _reports.get_or_compute((config, state), compute)


def equivalence(kind: str, values: Mapping[str, ConfigValue | None],
                cancel: threading.Event | None = None) -> Cached[ReparamEquivalence]:
    """The proof that both forms agree, run once per configuration by the measuring process."""
    config, before = _resolve(kind, values)
    key = config
    hit = _checked.get(key)
    if hit is not None:
        return hit

    def compute() -> Cached[ReparamEquivalence]:
        checked: EquivalenceResult = measuring.submit(equivalence_job(config, before), cancel=cancel)
        return Cached.of(ReparamEquivalence(kind=kind, config=before.config, fused=checked.fused,
                                            max_abs_diff=checked.max_abs_diff, kernel=checked.kernel))
    if _checked.computing(key):  # a class asking for one check at once: they all wait for that one
        return _checked.get_or_compute(key, compute)
    with _checks.admit():  # only requests that start a check count against the line
        return _checked.get_or_compute(key, compute)


def report_with_latency(kind: str, values: Mapping[str, ConfigValue | None], *, device: str = "cpu",
                        threads: int | None = None,
                        warmup: int | None = None, repeats: int | None = None, fresh: bool = False,
                        cancel: threading.Event | None = None) -> ReparamReport:
    """The ReparamReport plus the latency of both forms, measured as the latency endpoint measures,
    the two forms alternating round by round, so their ratio (the speedup = before median over after
    median) comes with a 95% interval; "no measurable difference" when that interval contains 1.
    """
    equivalence(kind, values, cancel)  # 404/422 first, and the equivalence is proven before timing
    data = report(kind, values).data
    config = resolve(kind, values)
    job = latency.timing_job({"before": (BlockForm(config), data.before),
                              "after": (BlockForm(config, deployed=True), data.after)},
                             data.before.input_shape, seed=config["seed"], device=device, threads=threads,
                             warmup=warmup, repeats=repeats, per_node=True, size=config.size_param)
    with _measured_pairs.admit():
        reports, comparison = latency.run(job, fresh=fresh, cancel=cancel)
    before, after = (roofline.with_roofline(
        LatencyReport(kind=kind, config=data.config, **dict(reports[name])), graph, cancel)
        for name, graph in (("before", data.before), ("after", data.after)))
    # reported as measured, never adjusted: on a CPU fusing can gain little or even lose
    return data.model_copy(update={"latency": ReparamLatency(
        before=before, after=after, speedup=comparison.value, comparison=comparison)})
