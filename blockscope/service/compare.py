"""Two blocks (or two whole networks) side by side: each side resolved and analysed as its own route
would, every total's difference, the nodes paired, and with `measure` both sides timed by the
measuring process in one job, in alternating rounds (so that their ratio gets an honest interval).

A side is a block kind at its values (`form="deployed"`: with its BatchNorms folded and branches
merged, as /api/blocks/{kind}/reparam shows it), or `network:NAME` at an input size. Every refusal
names the side's parameter with its prefix (`a.groups`), as the query spells it.
"""

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from ..analysis.graph import analyse_graph
from ..analysis.meta import on_meta
from ..cache import BoundedCache
from ..comparisons import (
    PRESETS,
    Preset,
    check_sentence,
    counted_sentence,
    latency_sentence,
    measured_sentence,
    totals_sentences,
)
from ..errors import InvalidParameter, NotFound
from ..measuring.forms import BlockForm, NetworkForm
from ..measuring.sides import OwnInputForm
from ..networks.build import build_network
from ..registry import BLOCKS, BlockConfig, blame_size
from ..schemas import (
    Analysis,
    CompareLatency,
    ComparePreset,
    ComparePresetInfo,
    CompareSide,
    Comparison,
    ConfigValue,
    Graph,
    Measurement,
    NetworkAnalysis,
    Node,
    NodePair,
    PresetCheck,
    TotalDiff,
)
from . import latency, networks, reparam, roofline
from .admission import WaitingLine
from .blocks import Cached, analyse_resolved

NETWORK = "network:"
SIDES = ("a", "b")
DEFAULT_KINDS = ("conv", "depthwise_separable")  # left out: the first of the course's comparisons
FORMS = ("train", "deployed")
NETWORK_PARAMS = ("batch", "height", "width")
# the counts a pair of nodes is compared by, and the totals a diff holds
NODE_COUNTS = ("params", "madds", "mac", "elementwise")
TOTALS = ("params", "madds", "mac", "mac_bytes", "elementwise", "weights", "activations")
# measuring both sides at once holds both in memory, as a reparameterization's two forms do
_measured_pairs = WaitingLine("comparisons being measured", "reparam_max_measuring")


@contextmanager
def named(side: str) -> Iterator[None]:
    """Refusals inside name the parameter as the query does: `groups` -> `a.groups`."""
    try:
        yield
    except InvalidParameter as exc:
        if exc.param.startswith(tuple(f"{s}." for s in SIDES)) or exc.param in SIDES:
            raise
        raise InvalidParameter(f"{side}.{exc.param}", exc.message, exc.value) from None


# --- a side ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """A side resolved: its key is the block's config (and form), or the network at its input size."""
    side: str
    kind: str  # a block kind, or "network:NAME"
    config: BlockConfig | None = None
    deployed: bool = False
    network: str | None = None
    size: tuple[int, int, int] | None = None  # batch, height, width (networks)

    @property
    def key(self) -> tuple:
        return (self.kind, self.config, self.deployed, self.size)

    @property
    def title(self) -> str:
        if self.network is not None:
            return networks.get(self.network).title
        title = BLOCKS[self.kind].title
        return f"{title} (deployed)" if self.deployed else title

    @property
    def input_shape(self) -> list[int]:
        if self.config is not None:
            return self.config.input_shape
        batch, height, width = self.size
        return [batch, 3, height, width]

    @property
    def seed(self) -> int:
        return self.config["seed"] if self.config is not None else networks.SEED

    @property
    def size_param(self) -> tuple[str, object]:
        """The parameter a refusal for size names, prefixed."""
        param, value = (self.config.size_param if self.config is not None else
                        blame_size(self.size[0], ("height", self.size[1])))
        return f"{self.side}.{param}", value

    def form(self) -> BlockForm | NetworkForm:
        if self.network is not None:
            return NetworkForm(self.network, seed=networks.SEED)
        return BlockForm(self.config, deployed=self.deployed)

    def query(self) -> dict[str, ConfigValue]:
        """The side's parameters that differ from the defaults, as its query spells them (no prefix)."""
        if self.network is not None:
            default = networks.get(self.network).input_size
            out = dict(zip(NETWORK_PARAMS, self.size, strict=True))
            return {k: v for k, v in out.items() if v != (1 if k == "batch" else default)}
        spec = BLOCKS[self.kind]
        out = {p.name: self.config[p.name] for p in spec.all_params if self.config[p.name] != p.default}
        return {**out, "form": "deployed"} if self.deployed else out


def kinds_known() -> str:
    return f"{', '.join(BLOCKS)}, or {NETWORK}NAME for a whole network ({', '.join(networks.NAMES)})"


def resolve_side(side: str, kind: str | None, values: Mapping[str, ConfigValue | None]) -> Side:
    """The side `side` of a request: `kind` and its un-prefixed values (None: left out). Refusals name
    `side` (an unknown kind) or `side.param`."""
    given = {k: v for k, v in values.items() if v is not None}
    form = given.pop("form", "train")
    if not kind:
        raise InvalidParameter(side, f"name the {side} side: {kinds_known()}", kind)
    if form not in FORMS:
        raise InvalidParameter(f"{side}.form", f"form={form!r} is not allowed; choose one of "
                                               f"{', '.join(FORMS)}", form)
    if kind.startswith(NETWORK):
        return _network_side(side, kind, given, form)
    spec = BLOCKS.get(kind)
    if spec is None:
        raise InvalidParameter(side, f"unknown block kind {kind!r}; known kinds: {kinds_known()}", kind)
    takes = [p.name for p in spec.all_params]
    for name in given:
        if name not in takes:
            raise InvalidParameter(f"{side}.{name}", f"{kind} does not take {name}; it takes: "
                                                     f"{', '.join(takes)} and form", given[name])
    if form == "deployed" and "reparam" not in spec.views:
        deployable = ", ".join(k for k, s in BLOCKS.items() if "reparam" in s.views)
        raise InvalidParameter(f"{side}.form", f"{kind} has no deploy-time form of its own; the kinds with "
                                               f"one: {deployable}", form)
    with named(side):
        config = spec.resolve(given)
    return Side(side, kind, config=config, deployed=form == "deployed")


def _network_side(side: str, kind: str, given: dict, form: str) -> Side:
    name = kind.removeprefix(NETWORK)
    try:
        network = networks.get(name)
    except NotFound:
        raise InvalidParameter(side, f"unknown network {name!r}; known networks: "
                                     f"{', '.join(networks.NAMES)}", kind) from None
    for param in given:
        if param not in NETWORK_PARAMS:
            raise InvalidParameter(f"{side}.{param}", f"a network side takes only "
                                                      f"{', '.join(NETWORK_PARAMS)}", given[param])
    if form != "train":
        raise InvalidParameter(f"{side}.form", "a whole network is compared as trained; its deployed form is "
                                               f"on /networks/{name}", form)
    size = (given.get("batch", 1), given.get("height", network.input_size),
            given.get("width", network.input_size))
    with named(side):
        networks.check_size(*size)
    return Side(side, kind, network=name, size=size)


# --- what a side is, analysed --------------------------------------------------------------------------

@dataclass(frozen=True)
class Analysed:
    side: Side
    graph: Graph  # for a block, its analysis
    analysis: Analysis | None = None
    network: NetworkAnalysis | None = None


_network_graphs: BoundedCache[tuple, Graph] = BoundedCache("compared network graphs", "network_cache")


def _network_graph(name: str, batch: int, height: int, width: int) -> Graph:
    def compute() -> Graph:
        with on_meta():
            module = build_network(networks.get(name))
        return analyse_graph(module, [batch, 3, height, width])
    return _network_graphs.get_or_compute((name, batch, height, width), compute)


def analyse_side(side: Side) -> Analysed:
    """The side's analysis, as its own route answers it (422s named with the side's prefix)."""
    with named(side.side):
        if side.network is not None:
            found = networks.analyse(side.network, *side.size).data  # 422s for sizes first
            return Analysed(side, _network_graph(side.network, *side.size), network=found)
        if side.deployed:
            found = reparam.report(side.kind, side.config.as_dict()).data.after
        else:
            found = analyse_resolved(side.config).data
    return Analysed(side, found, analysis=found)


# --- the comparison --------------------------------------------------------------------------------------

def weights(graph: Graph) -> int:
    """MAC of the weights: each op reads its parameters once (lessons.weights)."""
    return sum(node.params for node in graph.nodes)


def totals_of(graph: Graph) -> dict[str, int]:
    t = graph.totals
    w = weights(graph)
    return {"params": t.params, "madds": t.madds, "mac": t.mac, "mac_bytes": t.mac_bytes,
            "elementwise": t.elementwise, "weights": w, "activations": t.mac - w}


def total_diff(a: int, b: int) -> TotalDiff:
    """delta = b - a; ratio = a / b (None when b is 0)."""
    return TotalDiff(a=a, b=b, delta=b - a, ratio=a / b if b else None)


def diff(a: Graph, b: Graph) -> dict[str, TotalDiff]:
    ta, tb = totals_of(a), totals_of(b)
    return {key: total_diff(ta[key], tb[key]) for key in TOTALS}


def _pair(x: Node | None, y: Node | None, match: str | None) -> NodePair:
    counts = {m: total_diff(getattr(x, m) if x else 0, getattr(y, m) if y else 0) for m in NODE_COUNTS}
    return NodePair(a=x.id if x else None, b=y.id if y else None, op_a=x.op if x else None,
                    op_b=y.op if y else None, match=match, counts=counts)


def pair_nodes(a: Graph, b: Graph) -> list[NodePair]:
    """The nodes of both sides paired: first by id (the same part, whatever its op: a ReLU that became
    a hard-swish), then what is left by op, in data-flow order (the standard convolution's conv with the
    depthwise one); the rest listed as one side's only. In a's order, each b-only node after the pair
    of the b node before it."""
    ids_a, ids_b = {x.id for x in a.nodes}, {y.id for y in b.nodes}
    by_id = {y.id: y for y in b.nodes}
    left: dict[str, list[Node]] = {}
    for y in b.nodes:
        if y.id not in ids_a:
            left.setdefault(y.op, []).append(y)
    pairs: list[NodePair] = []
    paired_b: dict[str, int] = {}  # b node id -> index of its pair
    for x in a.nodes:
        if x.id in ids_b:
            y, match = by_id[x.id], "name"
        elif left.get(x.op):
            y, match = left[x.op].pop(0), "role"
        else:
            y, match = None, None
        if y is not None:
            paired_b[y.id] = len(pairs)
        pairs.append(_pair(x, y, match))
    # b's own nodes, each placed after the pair holding the b node before it
    at = -1
    inserted = 0
    for y in b.nodes:
        if y.id in paired_b:
            at = paired_b[y.id] + inserted
            continue
        at += 1
        pairs.insert(at, _pair(None, y, None))
        inserted += 1
    return pairs


def _side_model(found: Analysed) -> CompareSide:
    side = found.side
    config = side.config.as_dict() if side.config is not None else dict(zip(NETWORK_PARAMS, side.size,
                                                                             strict=True))
    return CompareSide(side=side.side, kind=side.kind, title=side.title,
                       form="deployed" if side.deployed else "train", config=config, query=side.query(),
                       input_shape=side.input_shape, analysis=found.analysis, network=found.network,
                       graph=found.graph if found.network is not None else None)


def _preset_sides(preset: Preset) -> tuple[Side, Side]:
    q = preset.query
    return tuple(resolve_side(s, q[s], {k.split(".", 1)[1]: v for k, v in q.items() if k.startswith(f"{s}.")})
                 for s in SIDES)


def preset_for(a: Side, b: Side) -> Preset | None:
    """The course preset whose two sides these are, if any (resolving a side builds nothing)."""
    for preset in PRESETS:
        try:
            keys = tuple(s.key for s in _preset_sides(preset))
        except InvalidParameter:  # a server limit below a preset's values
            continue
        if keys == (a.key, b.key):
            return preset
    return None


def preset_infos() -> list[ComparePresetInfo]:
    return [ComparePresetInfo(name=p.name, title=p.title, source=p.source, claim=p.claim, query=p.query,
                              expect=p.expect) for p in PRESETS]


def preset_report(preset: Preset, d: dict[str, TotalDiff], measured: CompareLatency | None = None
                  ) -> ComparePreset:
    a, b = preset.sides
    checks = []
    for check in preset.checks:
        ratio = d[check.metric].ratio
        holds = check.holds(ratio)
        checks.append((check, ratio, holds))
    return ComparePreset(
        name=preset.name, title=preset.title, source=preset.source, claim=preset.claim, query=preset.query,
        expect=preset.expect,
        checks=[PresetCheck(metric=c.metric, ratio=r, low=c.low, high=c.high, holds=h,
                            sentence=check_sentence(c, r, h, a, b)) for c, r, h in checks],
        counted=counted_sentence(checks, d, a, b),
        measured=None if measured is None else measured_sentence(preset, measured.comparison,
                                                                 measured.disturbed))


def resolve_pair(kinds: Mapping[str, str | None], values: Mapping[str, Mapping[str, ConfigValue | None]]
                 ) -> tuple[Side, Side]:
    return tuple(resolve_side(s, kinds.get(s), values.get(s, {})) for s in SIDES)


_comparisons: BoundedCache[tuple, Cached[Comparison]] = BoundedCache("comparisons", "analysis_cache")


def compare(kinds: Mapping[str, str | None], values: Mapping[str, Mapping[str, ConfigValue | None]]
            ) -> Cached[Comparison]:
    """The comparison of the two sides (cached, read-only)."""
    a, b = resolve_pair(kinds, values)
    return _comparisons.get_or_compute((a.key, b.key), lambda: Cached.of(_compare(a, b)))


def _names(preset: Preset | None) -> tuple[str, str]:
    return preset.sides if preset is not None else ("A", "B")


def _compare(a: Side, b: Side) -> Comparison:
    fa, fb = analyse_side(a), analyse_side(b)
    d = diff(fa.graph, fb.graph)
    preset = preset_for(a, b)
    na, nb = _names(preset)
    return Comparison(a=_side_model(fa), b=_side_model(fb), diff=d, pairs=pair_nodes(fa.graph, fb.graph),
                      sentences=totals_sentences(d, na, nb), same_input=a.input_shape == b.input_shape,
                      preset=None if preset is None else preset_report(preset, d))


def measure(kinds: Mapping[str, str | None], values: Mapping[str, Mapping[str, ConfigValue | None]], *,
            device: str = "cpu", threads: int | None = None, warmup: int | None = None,
            repeats: int | None = None, fresh: bool = False,
            cancel: threading.Event | None = None) -> Comparison:
    """The comparison with both sides timed in one Timing job, a and b alternating round by round, every
    op of each also timed alone (end to end only when that would overrun the time budget). A side whose
    input differs in shape from a's gets its own input."""
    a, b = resolve_pair(kinds, values)
    data = _comparisons.get_or_compute((a.key, b.key), lambda: Cached.of(_compare(a, b))).data
    graph_a = data.a.analysis or data.a.graph
    graph_b = data.b.analysis or data.b.graph
    form_b = b.form()
    if b.input_shape != a.input_shape:
        form_b = OwnInputForm(form_b, tuple(b.input_shape), b.seed)
    # a refusal for size names the side that does more work
    bigger = a if graph_a.totals.madds >= graph_b.totals.madds else b

    def job(per_node: bool):
        return latency.timing_job({"a": (a.form(), graph_a), "b": (form_b, graph_b)}, a.input_shape,
                                  seed=a.seed, device=device, threads=threads, warmup=warmup, repeats=repeats,
                                  per_node=per_node, size=bigger.size_param)
    per_node = True
    with _measured_pairs.admit():
        try:
            reports, comparison = latency.run(job(True), fresh=fresh, cancel=cancel)
        except InvalidParameter as exc:
            if exc.param != bigger.size_param[0]:
                raise
            # too long with every op timed alone too: both sides end to end only, if that fits
            per_node = False
            reports, comparison = latency.run(job(False), fresh=fresh, cancel=cancel)
    # each side on the device's roofline, as /latency places one (a network side: its graph's ops)
    ma = roofline.with_roofline(reports["a"], graph_a, cancel)
    mb = roofline.with_roofline(reports["b"], graph_b, cancel)
    disturbed = ma.quality.disturbed or mb.quality.disturbed
    preset = preset_for(a, b)
    na, nb = _names(preset)
    measured = CompareLatency(a=ma, b=mb, ratio=comparison.value, ratio_ci95=comparison.ci95,
                              measurable=comparison.measurable, disturbed=disturbed, per_node=per_node,
                              comparison=comparison,
                              sentence=latency_sentence(comparison, disturbed, na, nb))
    pairs = [p.model_copy(update={"latency_us": {"a": _node_us(ma, p.a), "b": _node_us(mb, p.b)}})
             for p in data.pairs]
    update = {"latency": measured, "pairs": pairs}
    if preset is not None:
        update["preset"] = preset_report(preset, data.diff, measured)
    return data.model_copy(update=update)


def _node_us(measured: Measurement, node: str | None) -> float | None:
    if node is None:
        return None
    return next((n.median_us for n in measured.nodes or [] if n.id == node), None)
