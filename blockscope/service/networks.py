"""Whole networks from `blockscope.networks.catalogue`: each analysed on the meta device as its paper's table,
every row's units linked to the explorer block that reproduces them, the deployed form beside the
training-time one, and, run by the measuring process (`blockscope.measuring`): their equivalence on a small
real input, ONNX files, and the latency of the network (per row) and of both forms.
"""

import threading
from dataclasses import dataclass

from torch import nn

from ..analysis.estimate import work_of
from ..analysis.graph import analyse_graph
from ..analysis.memory import bytes_needed
from ..analysis.meta import on_meta
from ..analysis.reparam import DEPLOY_COPIES, deploy
from ..analysis.roofline import place_group
from ..cache import BoundedCache
from ..config import get_settings
from ..errors import InvalidParameter, NotFound
from ..measuring import jobs
from ..measuring.forms import NetworkForm
from ..measuring.results import EquivalenceResult
from ..networks.build import build_network, link, title
from ..networks.catalogue import NETWORKS, NL_LABELS, Network
from ..registry import blame_size
from ..schemas import (
    BlockLink,
    Counts,
    Equivalence,
    Graph,
    Measurement,
    NetworkAnalysis,
    NetworkColumn,
    NetworkFormsLatency,
    NetworkMeasurement,
    NetworkReparam,
    NetworkRow,
    NetworkSummary,
    NetworkUnit,
    Node,
    NodeTiming,
    PublishedFigures,
    RowForms,
    RowLatency,
    Share,
    SumVersusWhole,
    TimedOnDevice,
)
from ..wording import intervals_separate
from . import export, latency, roofline
from .blocks import Cached
from .export import OnnxFile, check_export_memory, check_form
from .limits import check_memory

NAMES = tuple(NETWORKS)
# The equivalence of the two forms is checked on real tensors: on this small input, whatever the
# size asked for (every network here still reaches 1 x 1 at its end), with weights seeded by 0.
EQUIVALENCE_SHAPE = [1, 3, 32, 32]
SEED = 0


def get(name: str) -> Network:
    try:
        return NETWORKS[name]
    except KeyError:
        raise NotFound(f"unknown network {name!r}; known networks: {', '.join(NETWORKS)}") from None


def check_size(batch: int, height: int, width: int) -> None:
    settings = get_settings()
    limits = (("batch", batch, settings.max_batch), ("height", height, settings.max_spatial),
              ("width", width, settings.max_spatial))
    for param, value, limit in limits:
        if not 1 <= value <= limit:
            raise InvalidParameter(param, f"must be between 1 and {limit} on this server", value)


def _size_param(batch: int, height: int) -> tuple[str, int]:
    return blame_size(batch, ("height", height))


def _meta(network: Network) -> nn.Module:
    with on_meta():
        return build_network(network)


def _graph(module: nn.Module, shape: list[int]) -> Graph:
    try:
        return analyse_graph(module, shape)
    except RuntimeError as exc:  # a shape PyTorch refuses (an input too small for a kernel)
        message = f"the network cannot run on this input: {exc}".split("\n")[0]
        raise InvalidParameter("height", message, shape[2]) from None


def _by_unit(graph: Graph) -> dict[tuple[int, int], list[Node]]:
    """The ops of each built unit: its module path starts with "<row>.<unit>"."""
    groups: dict[tuple[int, int], list[Node]] = {}
    for node in graph.nodes:
        if node.op == "input":
            continue
        row, unit = node.module.split(".")[:2]
        groups.setdefault((int(row), int(unit)), []).append(node)
    return groups


def _counts(nodes: list[Node], module: nn.Module) -> Counts:
    return Counts(params=sum(p.numel() for p in module.parameters()), madds=sum(n.madds for n in nodes),
                  mac=sum(n.mac for n in nodes), elementwise=sum(n.elementwise for n in nodes))


def _sum(counts: list[Counts]) -> Counts:
    return Counts(**{k: sum(getattr(c, k) for c in counts) for k in Counts.model_fields})


def _block_link(unit, shape: list[int]) -> BlockLink | None:
    found = link(unit)
    if found is None:
        return None
    size = {"batch": shape[0], "height": shape[2], "width": shape[3]}
    return BlockLink(kind=found.kind, config={**found.config, **size}, same_counts=found.same_counts,
                     note=found.note)


def _rows(network: Network, module: nn.Module, graph: Graph) -> list[NetworkRow]:
    ops = _by_unit(graph)
    totals = graph.totals
    rows = []
    for r, row in enumerate(network.rows):
        units, counts, built = [], [], 0
        for unit in row.units:
            nodes = ops[(r, built)]
            one = _counts(nodes, module[r][built])
            shape = nodes[0].input_shapes[0]
            units.append(NetworkUnit(block=unit.block, title=title(unit.block), config=unit.config,
                                     count=unit.count, input_shape=shape, output_shape=nodes[-1].output_shape,
                                     link=_block_link(unit, shape), **dict(one)))
            counts += [_counts(ops[(r, i)], module[r][i]) for i in range(built, built + unit.count)]
            built += unit.count
        total = _sum(counts)
        share = Share(params=total.params / max(1, totals.params), madds=total.madds / max(1, totals.madds),
                      mac=total.mac / max(1, totals.mac))
        rows.append(NetworkRow(
            index=r, stage=row.stage, layer=row.layer, operator=row.operator, kernel=row.kernel,
            expansion=row.expansion, out_channels=row.out, se=row.se, nl=NL_LABELS.get(row.nl),
            stride=row.stride, repeats=row.repeats, input_shape=units[0].input_shape,
            output_shape=ops[(r, built - 1)][-1].output_shape, share=share, units=units, **dict(total)))
    return rows


def _published(network: Network) -> PublishedFigures:
    p = network.published
    return PublishedFigures(params=p.params, madds=p.madds, source=p.source, form=p.form,
                            params_exact=p.params_exact)


# --- the analysis (pure, cached) -------------------------------------------------------------------

@dataclass(frozen=True)
class _Analysed:
    result: Cached[NetworkAnalysis]
    graph: Graph  # kept for the memory checks of real work on this network


_analyses: BoundedCache[tuple, _Analysed] = BoundedCache("network analyses", "network_cache")


def _analysed(network: Network, batch: int, height: int, width: int) -> _Analysed:
    check_size(batch, height, width)

    def compute() -> _Analysed:
        module = _meta(network)
        shape = [batch, 3, height, width]
        graph = _graph(module, shape)
        check_memory(graph, "running this network", *_size_param(batch, height), every_activation=False)
        analysis = NetworkAnalysis(
            name=network.name, title=network.title, family=network.family, paper=network.paper,
            table=network.table, summary=network.summary,
            columns=[NetworkColumn(field=f, heading=h) for f, h in network.columns],
            notes=list(network.notes),
            published=_published(network), batch=batch, height=height, width=width, input_shape=shape,
            output_shape=graph.output_shape, totals=graph.totals, stages=list(network.stages),
            rows=_rows(network, module, graph))
        return _Analysed(Cached.of(analysis), graph)

    return _analyses.get_or_compute((network.name, batch, height, width), compute)


def analyse(name: str, batch: int = 1, height: int | None = None, width: int | None = None
            ) -> Cached[NetworkAnalysis]:
    """The network as its paper's table at this input size (cached, read-only)."""
    network = get(name)
    return _analysed(network, batch, height or network.input_size, width or network.input_size).result


def catalog() -> list[NetworkSummary]:
    summaries = []
    for network in NETWORKS.values():
        try:
            totals = analyse(network.name).data.totals
        except InvalidParameter:  # a server limit below the paper's input size
            totals = None
        summaries.append(NetworkSummary(
            name=network.name, title=network.title, family=network.family, paper=network.paper,
            table=network.table, summary=network.summary, input_size=network.input_size,
            classes=network.classes, published=_published(network), totals=totals))
    return summaries


# --- training-time against deployed ----------------------------------------------------------------

@dataclass(frozen=True)
class _Forms:
    result: NetworkReparam
    after: Graph  # the deployed form's analysis, for the memory and the estimate of timing it


_forms: BoundedCache[tuple, _Forms] = BoundedCache("network forms", "network_cache")
_equivalence: BoundedCache[str, Equivalence] = BoundedCache("network equivalence", "network_cache")


def _row_counts(graph: Graph, module: nn.Module, rows: int) -> list[Counts]:
    by_row: dict[int, list[Node]] = {}
    for (r, _), nodes in sorted(_by_unit(graph).items()):
        by_row.setdefault(r, []).extend(nodes)
    return [_counts(by_row[r], module[r]) for r in range(rows)]


def _compute_forms(network: Network, batch: int, height: int, width: int) -> _Forms:
    before_graph = _analysed(network, batch, height, width).graph
    module = _meta(network)
    deployed, fused = deploy(module)  # shapes only: on the meta device, nothing is allocated
    after_graph = _graph(deployed, [batch, 3, height, width])
    n = len(network.rows)
    rows = [RowForms(index=i, before=b, after=a) for i, (b, a) in enumerate(zip(
        _row_counts(before_graph, module, n), _row_counts(after_graph, deployed, n), strict=True))]
    result = NetworkReparam(name=network.name, batch=batch, height=height, width=width,
                            before=before_graph.totals, after=after_graph.totals, fused=len(fused), rows=rows,
                            equivalence=None)
    return _Forms(result, after_graph)


def _check_equivalence(network: Network, cancel: threading.Event | None) -> Equivalence:
    graph = _graph(_meta(network), EQUIVALENCE_SHAPE)
    check_memory(graph, "checking the two forms on real tensors (the network, its deployed copy and the "
                        "fused kernels)", "equivalence", True, every_activation=False,
                 extra_weight_copies=DEPLOY_COPIES)
    job = jobs.Equivalence(NetworkForm(network.name, seed=SEED), tuple(EQUIVALENCE_SHAPE), SEED,
                           work=(work_of(graph),), memory_bytes=bytes_needed(
                               graph, every_activation=False, extra_weight_copies=DEPLOY_COPIES))
    checked: EquivalenceResult = export.submit(job, cancel)  # waits with the ONNX exports
    return Equivalence(input_shape=EQUIVALENCE_SHAPE, seed=SEED, max_abs_diff=checked.max_abs_diff,
                       max_rel_diff=checked.max_rel_diff)


def reparam(name: str, batch: int = 1, height: int | None = None, width: int | None = None,
            equivalence: bool = False, measure: bool = False, *, device: str = "cpu",
            threads: int | None = None, warmup: int | None = None, repeats: int | None = None,
            fresh: bool = False, cancel: threading.Event | None = None) -> NetworkReparam:
    """Training-time and deployed totals, row by row; with `equivalence`, their outputs compared on a
    small random input; with `measure`, both forms timed end to end in alternating rounds (real
    tensors: in the measuring process, checked first, cached)."""
    network = get(name)
    height, width = height or network.input_size, width or network.input_size
    analysed = _analysed(network, batch, height, width)  # 404 and 422s first
    forms = _forms.get_or_compute((name, batch, height, width),
                                  lambda: _compute_forms(network, batch, height, width))
    update = {}
    if equivalence:
        update["equivalence"] = _equivalence.get_or_compute(name, lambda: _check_equivalence(network, cancel))
    if measure:
        job = latency.timing_job(
            {"before": (NetworkForm(name, seed=SEED), analysed.graph),
             "after": (NetworkForm(name, deployed=True, seed=SEED), forms.after)},
            analysed.graph.input_shape, seed=SEED, device=device, threads=threads, warmup=warmup,
            repeats=repeats, per_node=False, size=_size_param(batch, height))
        reports, comparison = latency.run(job, fresh=fresh, cancel=cancel)
        # timed end to end only: each form's whole pass on the roofline
        update["latency"] = NetworkFormsLatency(
            before=roofline.with_roofline(reports["before"], analysed.graph, cancel),
            after=roofline.with_roofline(reports["after"], forms.after, cancel), comparison=comparison)
    return forms.result.model_copy(update=update) if update else forms.result


# --- measured latency ------------------------------------------------------------------------------

def _row_latency(graph: Graph, measured: Measurement, rows: int) -> list[RowLatency]:
    """Each row's ops (their module path starts with "<row>.") summed, and its share of all ops; with
    the measurement's ceilings, the row's ops together on the roofline."""
    by_id = {n.id: n for n in graph.nodes if n.op != "input"}
    timed: list[list[NodeTiming]] = [[] for _ in range(rows)]
    for node in measured.nodes or []:
        timed[int(by_id[node.id].module.split(".")[0])].append(node)
    sums = [sum(t.median_us for t in row) for row in timed]
    total = sum(sums)
    ceilings = measured.roofline.ceilings if measured.roofline is not None else None
    return [RowLatency(measured_us=round(us, 3), share=us / total if total > 0 else 0.0,
                       roofline=None if ceilings is None or not row else
                       place_group([by_id[t.id] for t in row], row, ceilings))
            for us, row in zip(sums, timed, strict=True)]


def sum_versus_whole(measured: Measurement) -> SumVersusWhole:
    """Every op timed alone, summed, against the whole network end to end. Judged only from clean data:
    the end-to-end figure not disturbed, and the sum's band (every op's p25 summed to every op's p75
    summed, wider than a 95% interval of the sum) apart from the end-to-end median's 95% interval."""
    nodes = measured.nodes or []
    band = [sum(n.p25_us for n in nodes), sum(n.p75_us for n in nodes)]
    total = measured.sum_of_nodes_us or 0.0
    whole = measured.total.median_us
    ratio = total / whole if whole > 0 else 0.0
    # nothing to judge without ops timed alone, or with a whole too quick for the clock
    clean = (bool(nodes) and whole > 0 and not measured.quality.disturbed
             and intervals_separate(band, measured.quality.ci95_us))
    verdict = ("sum_more" if ratio > 1 else "sum_less") if clean else "too_noisy"
    return SumVersusWhole(ratio=ratio, sum_band_us=[round(b, 3) for b in band], verdict=verdict)


def measure(name: str, batch: int = 1, height: int | None = None, width: int | None = None, *,
            device: str = "cpu", threads: int | None = None, warmup: int | None = None,
            repeats: int | None = None, fresh: bool = False,
            cancel: threading.Event | None = None) -> NetworkAnalysis:
    """The network's table with its latency measured on this server: end to end, and every op timed
    alone, summed per row (weights seeded by 0, a random input seeded by 0)."""
    network = get(name)
    height, width = height or network.input_size, width or network.input_size
    analysed = _analysed(network, batch, height, width)  # 404 and 422s first
    graph = analysed.graph
    job = latency.timing_job({"network": (NetworkForm(name, seed=SEED), graph)}, graph.input_shape,
                             seed=SEED, device=device, threads=threads, warmup=warmup, repeats=repeats,
                             per_node=True, size=_size_param(batch, height))
    reports, _ = latency.run(job, fresh=fresh, cancel=cancel)
    measured = roofline.with_roofline(reports["network"], graph, cancel)
    analysis = analysed.result.data
    by_row = _row_latency(graph, measured, len(analysis.rows))
    rows = [row.model_copy(update={"measured": by_row[row.index]}) for row in analysis.rows]
    whole = NetworkMeasurement(**{key: getattr(measured, key) for key in TimedOnDevice.model_fields},
                               sum_of_nodes_us=measured.sum_of_nodes_us,
                               sum_versus_whole=sum_versus_whole(measured), roofline=measured.roofline)
    return analysis.model_copy(update={"rows": rows, "measured": whole})


# --- ONNX ------------------------------------------------------------------------------------------

def network_onnx(name: str, batch: int = 1, height: int | None = None, width: int | None = None,
                 form: str = "train", cancel: threading.Event | None = None) -> OnnxFile:
    """The network as an ONNX file with this input shape, weights seeded by 0, in either form."""
    check_form(form)
    network = get(name)
    height, width = height or network.input_size, width or network.input_size
    graph = _analysed(network, batch, height, width).graph
    check_export_memory(graph, "this network", *_size_param(batch, height))
    shape = [batch, 3, height, width]
    filename = f"{name}-{'x'.join(map(str, shape))}-{form}.onnx"
    return export.export(filename, NetworkForm(name, deployed=form == "deploy", seed=SEED), graph, shape,
                         cancel)
