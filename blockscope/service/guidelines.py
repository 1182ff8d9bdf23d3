"""The ShuffleNet V2 guideline lab (Ma et al. 2018, Sec. 2): each experiment's rows with their counts,
this server's measurement, the paper's figures, relative speeds, and whether the paper's order holds
here. One code path serves every experiment of `blockscope.guideline_catalogue`.
"""

import fcntl
import logging
import os
import threading
from pathlib import Path

from pydantic import ValidationError

from ..analysis import guidelines as closed_forms
from ..analysis.guidelines import SIZE, analyse_network
from ..analysis.memory import bytes_needed
from ..blocks.guidelines import STACK_DEPTH
from ..cache import BoundedCache
from ..config import get_settings
from ..errors import InvalidParameter, NotFound
from ..guideline_catalogue import (
    ARM_UNIT,
    G2_SWEEP_FORMULA,
    GPU_UNIT,
    GUIDELINES,
    MAX_SWEEP_GROUPS,
    PAPER,
    WIDTH_MULTIPLIERS,
    Guideline,
    Row,
    UnitConfig,
)
from ..measuring.forms import GuidelineForm
from ..registry import blame_size
from ..schemas import (
    ClosePair,
    G2Point,
    G2Sweep,
    Graph,
    GuidelineReport,
    GuidelineRow,
    GuidelineSummary,
    LastGuidelineMeasurement,
    Measurement,
    Ordering,
    PaperFigures,
    RelativeSpeed,
    ReversedPair,
    RowMeasurement,
    StoredGuideline,
    UnitDiagram,
)
from ..wording import intervals_separate
from . import latency, roofline
from .limits import check_memory

log = logging.getLogger(__name__)
NAMES = tuple(GUIDELINES)
UNITS = {"madds": "multiply-adds", "mac": "elements (MAC, memory access cost)", "time": "microseconds",
         "paper_gpu": GPU_UNIT, "paper_arm": ARM_UNIT}


def catalog() -> list[GuidelineSummary]:
    return [GuidelineSummary(name=g.name, title=g.title, rule=g.rule, table=g.table,
                             rows=[r.label for r in g.rows]) for g in GUIDELINES.values()]


def get(name: str) -> Guideline:
    try:
        return GUIDELINES[name]
    except KeyError:
        raise NotFound(f"unknown guideline {name!r}; known guidelines: {', '.join(GUIDELINES)}") from None


def check_width_multiplier(width_multiplier: int) -> int:
    if width_multiplier not in WIDTH_MULTIPLIERS:
        raise InvalidParameter("width_multiplier", f"must be one of {list(WIDTH_MULTIPLIERS)} "
                                                   "(the paper's widths x1, x2, x4)", width_multiplier)
    return width_multiplier


def check_batch(batch: int) -> int:
    limit = get_settings().max_batch
    if not 1 <= batch <= limit:
        raise InvalidParameter("batch", f"must be between 1 and {limit} on this server", batch)
    return batch


def _size_param(batch: int, width_multiplier: int) -> tuple[str, int]:
    """The parameter a size refusal names here, and its value."""
    return blame_size(batch, ("width_multiplier", width_multiplier))


# --- the analysis of every row (pure, cached) ------------------------------------------------------

_analyses: BoundedCache[tuple, tuple[tuple[Graph, UnitDiagram], ...]] = BoundedCache(
    "guideline analyses", "guideline_cache")


def analyse(guideline: Guideline, width_multiplier: int, batch: int) -> tuple[tuple[Graph, UnitDiagram], ...]:
    """Per row: the whole stacked network's analysis and one unit's diagram (cached)."""
    def compute():
        rows = []
        for row in guideline.rows:
            config = guideline.row_config(row, width_multiplier)
            rows.append(analyse_network(lambda depth, c=config: guideline.build(c, depth), STACK_DEPTH,
                                        guideline.input_shape(config, batch)))
        return tuple(rows)
    return _analyses.get_or_compute((guideline.name, width_multiplier, batch), compute)


# --- measurement ---------------------------------------------------------------------------------

def _measure_row(guideline: Guideline, row: Row, config: UnitConfig, graph: Graph, *, device: str,
                 threads: int | None, width_multiplier: int, batch: int, fresh: bool,
                 cancel: threading.Event | None) -> RowMeasurement:
    def timed(per_node: bool) -> Measurement:
        job = latency.timing_job({"row": (GuidelineForm.of(guideline.name, config), graph)},
                                 graph.input_shape, seed=0, device=device, threads=threads, warmup=None,
                                 repeats=None, per_node=per_node, size=_size_param(batch, width_multiplier))
        reports, _ = latency.run(job, fresh=fresh, cancel=cancel)
        return reports["row"]

    # op by op where every activation fits this server's memory for a job and the ops' timing fits the
    # time budget (the ops' roofline dots, the explanation); else end to end only (the row's own dot)
    per_node = bytes_needed(graph, every_activation=True) <= get_settings().max_memory_mb * 2**20
    try:
        measured = timed(per_node)
    except InvalidParameter:
        if not per_node:
            raise
        measured = timed(False)  # refused again when even end to end does not fit
    result = roofline.with_roofline(measured, graph, cancel)
    total = result.total
    return RowMeasurement(
        median_us=total.median_us, p25_us=total.p25_us, p75_us=total.p75_us, quality=result.quality,
        nodes=result.nodes, roofline=result.roofline,
        batches_per_s=1e6 / total.median_us, images_per_s=batch * 1e6 / total.median_us,
        machine=result.machine, device=result.device, device_label=result.device_label,
        threads=result.threads, warmup=result.warmup, repeats=result.repeats, cached=result.cached,
        measured_at=result.measured_at)


# --- relative speeds and the ordering verdict ----------------------------------------------------

def _relative(values: list[float | None]) -> list[float | None]:
    """Each value over the first: speeds relative to the table's first row (None where unknown)."""
    first = values[0]
    return [None if first is None or v is None else v / first for v in values]


def _rank(labels: list[str], speeds: list[float]) -> list[str]:
    return [label for _, label in sorted(zip(speeds, labels, strict=True), key=lambda p: -p[0])]


def ordering(rows: list[GuidelineRow]) -> Ordering:
    """Does this machine rank the rows as the paper's GPU figures do? Computed pair by pair.

    A pair (a, b) with the paper's a faster than b agrees when a's measured median is lower. A pair
    whose medians' 95% intervals overlap is too close to call. The verdict comes only from clean data:
    any row measured while disturbed makes it `too_noisy`; else a pair reversed with separate intervals
    makes it `not_reproduced`; else any pair too close to call makes it `too_noisy`; else `reproduced`.
    The page words it.
    """
    labels = [r.label for r in rows]
    paper = [r.paper.gpu for r in rows]
    measured = {r.label: r.measured for r in rows}
    timed = all(m is not None for m in measured.values())
    disturbed = [label for label in labels if timed and measured[label].quality.disturbed]
    empty = {"reference": "paper_gpu", "paper": None, "measured": None, "pairs": 0, "agreeing_pairs": 0,
             "reversed": [], "reproduces": None, "disturbed": disturbed}
    if any(p is None for p in paper):
        return Ordering(**empty)
    paper_rank = _rank(labels, paper)
    if not timed:
        return Ordering(**{**empty, "paper": paper_rank})
    reversed_, close = [], []
    pairs = 0
    for i, faster in enumerate(paper_rank):
        for slower in paper_rank[i + 1:]:
            pairs += 1
            a, b = measured[faster], measured[slower]
            apart = intervals_separate(a.quality.ci95_us, b.quality.ci95_us)
            if not apart:
                close.append(ClosePair(paper_faster=faster, paper_slower=slower))
            if a.median_us < b.median_us:
                continue
            reversed_.append(ReversedPair(paper_faster=faster, measured_faster=slower,
                                          by=a.median_us / b.median_us - 1, within_noise=not apart))
    if disturbed:
        verdict = "too_noisy"
    elif any(not r.within_noise for r in reversed_):
        verdict = "not_reproduced"
    else:
        verdict = "too_noisy" if close else "reproduced"
    return Ordering(reference="paper_gpu", paper=paper_rank,
                    measured=_rank(labels, [1 / measured[label].median_us for label in labels]),
                    pairs=pairs, agreeing_pairs=pairs - len(reversed_), reversed=reversed_,
                    reproduces={"reproduced": True, "not_reproduced": False}.get(verdict), verdict=verdict,
                    disturbed=disturbed, close=close)


# --- the report ----------------------------------------------------------------------------------

def _paper(row: Row, width_multiplier: int) -> PaperFigures:
    x1 = width_multiplier == 1  # only the x1 columns are recorded
    return PaperFigures(gpu=row.gpu if x1 else None, arm=row.arm if x1 else None, gpu_unit=GPU_UNIT,
                        arm_unit=ARM_UNIT, arm_config=row.arm_config if x1 and row.arm is not None else None)


def _row(guideline: Guideline, row: Row, config: UnitConfig, graph: Graph, unit: UnitDiagram,
         width_multiplier: int, batch: int, measured: RowMeasurement | None,
         relative: RelativeSpeed) -> GuidelineRow:
    totals = graph.totals
    bound = guideline.mac_lower_bound
    return GuidelineRow(
        label=row.label, config=config, input_shape=graph.input_shape, params=totals.params,
        madds=totals.madds, mac=totals.mac, mac_bytes=totals.mac_bytes, elementwise=totals.elementwise,
        unit=unit, measured=measured, paper=_paper(row, width_multiplier),
        mac_lower_bound=None if bound is None else bound(config, batch), relative_speed=relative)


def report(name: str, *, device: str = "cpu", width_multiplier: int = 1, batch: int = 1,
           threads: int | None = None, measure: bool = True, fresh: bool = False,
           cancel: threading.Event | None = None) -> GuidelineReport:
    """One guideline's table at this width and batch, measured on `device` when `measure` is true."""
    guideline = get(name)
    check_width_multiplier(width_multiplier)
    check_batch(batch)
    device = latency.check_device(device)
    asked_threads = threads
    analysed = analyse(guideline, width_multiplier, batch)
    configs = [guideline.row_config(row, width_multiplier) for row in guideline.rows]
    device_label = next(d.label for d in latency.devices() if d.name == device)
    measured: list[RowMeasurement | None] = [None] * len(configs)
    if measure:
        param, value = _size_param(batch, width_multiplier)
        for graph, _ in analysed:
            check_memory(graph, "measuring this experiment", param, value, every_activation=False)
        measured = [_measure_row(guideline, row, config, graph, device=device, threads=threads,
                                 width_multiplier=width_multiplier, batch=batch, fresh=fresh, cancel=cancel)
                    for row, config, (graph, _) in zip(guideline.rows, configs, analysed, strict=True)]
        device_label = measured[0].device_label
        threads = measured[0].threads
    relative = {
        "measured": _relative([1 / m.median_us if m else None for m in measured]),
        "paper_gpu": _relative([r.gpu if width_multiplier == 1 else None for r in guideline.rows]),
        "paper_arm": _relative([r.arm if width_multiplier == 1 else None for r in guideline.rows]),
    }
    rows = [_row(guideline, row, config, graph, unit, width_multiplier, batch, measured[i],
                 RelativeSpeed(**{k: v[i] for k, v in relative.items()}))
            for i, (row, config, (graph, unit))
            in enumerate(zip(guideline.rows, configs, analysed, strict=True))]
    madds = [r.madds for r in rows]
    result = GuidelineReport(
        guideline=guideline.name, title=guideline.title, rule=guideline.rule,
        paper=f"{PAPER}, {guideline.table}", table=guideline.table, height=SIZE, width=SIZE,
        depth=STACK_DEPTH,
        width_multiplier=width_multiplier, batch=batch, device=device, device_label=device_label,
        threads=threads if device == "cpu" else None, measured=measure, decisions=list(guideline.decisions),
        paper_notes=list(guideline.paper_notes), derivation=guideline.derivation, units=UNITS,
        madds_spread=max(madds) / min(madds) - 1, rows=rows, ordering=ordering(rows),
        explanation=roofline.explain_rows([(row.label, graph, row.measured) for row, (graph, _)
                                           in zip(rows, analysed, strict=True)],
                                          guideline.argued_bound, guideline.argued_because))
    if measure:
        result = result.model_copy(update={"stored": _remember(result, asked_threads)})
    return result


# --- the last measurement of each experiment, shown to the next visitor --------------------------------
# Kept in the measuring process's folder, so every web worker of the server sees it; each row says
# when it was measured and on what.

def _last_file(name: str, device: str, width_multiplier: int, batch: int, threads: int | None) -> Path:
    folder = get_settings().runtime_path() / "last-guidelines"
    folder.mkdir(mode=0o700, exist_ok=True)
    where = device.replace(":", "-")
    return folder / f"{name}-{where}-w{width_multiplier}-b{batch}-t{threads or 'default'}.json"


def is_clean(result: GuidelineReport) -> bool:
    """Measured, no row disturbed, and not too noisy to judge: a result worth keeping."""
    return (result.measured and not result.ordering.disturbed and result.ordering.verdict != "too_noisy"
            and all(r.measured is not None and not r.measured.quality.disturbed for r in result.rows))


def _stored(result: GuidelineReport, replaced: bool) -> StoredGuideline:
    return StoredGuideline(replaced=replaced, measured_at=result.rows[0].measured.measured_at,
                           verdict=result.ordering.verdict)


def _read(name: str, device: str, width_multiplier: int, batch: int, threads: int | None
          ) -> GuidelineReport | None:
    try:
        report = GuidelineReport.model_validate_json(
            _last_file(name, device, width_multiplier, batch, threads).read_text())
    except (OSError, RuntimeError, ValidationError):  # never measured, by an older version, unreadable
        return None
    # judged by today's rule (a file kept by an older version has no verdict, or another rule's)
    return report.model_copy(update={"ordering": ordering(report.rows)})


def _remember(result: GuidelineReport, threads: int | None) -> StoredGuideline | None:
    """Keep `result` as the experiment's last measurement, unless it is disturbed or too noisy to judge
    and a clean one is stored: a noisy run never replaces a clean result. What is stored afterwards;
    None when nothing could be written (best effort: a folder that cannot be written, disk full, costs
    the next visitor the last measurement, never this request its answer)."""
    try:
        path = _last_file(result.guideline, result.device, result.width_multiplier, result.batch, threads)
        # the look at what is kept and the write are one step for every web worker: a noisy run that
        # looked before a clean one was written cannot then replace it
        with open(path.with_name(path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not is_clean(result):
                kept = _read(result.guideline, result.device, result.width_multiplier, result.batch, threads)
                if kept is not None and is_clean(kept):
                    return _stored(kept, replaced=False)
            partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
            try:
                partial.write_text(result.model_copy(update={"stored": None}).model_dump_json())
                os.replace(partial, path)  # readers see the old file or the new one, never half of one
            finally:
                partial.unlink(missing_ok=True)
    except (OSError, RuntimeError) as exc:
        log.warning("the last measurement of %s was not kept: %s", result.guideline, exc)
        return None
    return _stored(result, replaced=True)


def last(name: str, *, device: str = "cpu", width_multiplier: int = 1, batch: int = 1,
         threads: int | None = None) -> LastGuidelineMeasurement:
    """The last measurement of this experiment with these settings (a null report when there is none)."""
    guideline = get(name)
    check_width_multiplier(width_multiplier)
    check_batch(batch)
    device = latency.check_device(device)
    report = _read(guideline.name, device, width_multiplier, batch, threads)
    return LastGuidelineMeasurement(guideline=guideline.name, report=report)


def sweep(channels: int, *, batch: int = 1, groups: int = 1, max_groups: int = MAX_SWEEP_GROUPS) -> G2Sweep:
    """G2's slider: ten 1x1 group convs at (nearly) the multiply-adds of g = 1, for g = 1..max_groups."""
    limit = get_settings().max_channels
    if not 1 <= channels <= limit:
        raise InvalidParameter("channels", f"must be between 1 and {limit}", channels)
    check_batch(batch)
    if not 1 <= groups <= max_groups:
        raise InvalidParameter("groups", f"must be between 1 and {max_groups}", groups)
    points = [G2Point(**p) for p in closed_forms.g2_sweep(channels, batch, max_groups)]
    return G2Sweep(guideline="g2", channels=channels, batch=batch, groups=groups, height=SIZE, width=SIZE,
                   depth=STACK_DEPTH, hw=SIZE * SIZE, target_madds=points[0].madds, formula=G2_SWEEP_FORMULA,
                   selected=points[groups - 1], points=points)


def overview() -> dict:
    """What the /guidelines page starts from: every guideline unmeasured at x1, batch 1, and the devices."""
    return {
        "guidelines": [report(name, measure=False).model_dump() for name in GUIDELINES],
        "devices": [d.model_dump() for d in latency.devices()],
        "width_multipliers": list(WIDTH_MULTIPLIERS),
        "max_batch": get_settings().max_batch,
        "max_threads": latency.MAX_THREADS,
        "sweep": sweep(min(128, get_settings().max_channels)).model_dump(),
    }
