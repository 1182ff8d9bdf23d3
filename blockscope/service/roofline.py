"""A measurement's ops on the device's roofline, and the sentences that say which op dominates and why
(docs/numbers.md, "Roofline").

Placing is arithmetic on figures already known, so it is done here, on the web side, for every answer:
a measurement served from the measuring process's cache gets its roofline exactly as a fresh one does.
The ceilings come from `service.machine` (measured once per device and thread count, kept there); when
they cannot be had the measurement is answered without a roofline, never refused for it.
"""

import logging
import threading
from typing import TypeVar

from ..analysis import roofline as roof
from ..errors import Cancelled
from ..lessons import amount
from ..schemas import DeviceCeilings, Graph, Measurement, Node, NodeTiming, RooflineSummary, RowMeasurement
from ..wording import TOO_NOISY, intervals_separate, micros
from . import machine

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Measurement)
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


# --- the ceilings ---------------------------------------------------------------------------------

def ceilings_for(measured: Measurement, cancel: threading.Event | None = None) -> DeviceCeilings | None:
    """The ceilings of the device and thread count `measured` ran with; None when they cannot be had
    (refused, failed, a device not measured): the roofline is extra, the measurement is the answer."""
    try:
        return machine.ceilings(measured.device, measured.threads, cancel=cancel)
    except Cancelled:  # the client went away: nobody reads the answer
        raise
    except Exception as exc:  # whatever else went wrong, the latency answer still stands
        log.warning("no roofline for this measurement: the ceilings of %s (threads %s) could not be had: "
                    "%s", measured.device, measured.threads, exc)
        return None


def with_roofline(measured: M, graph: Graph | None, cancel: threading.Event | None = None) -> M:
    """`measured` with the whole pass on the roofline, and its ops when it was timed op by op; as it is
    when there is no analysis to place it with or the device's ceilings cannot be had."""
    if graph is None:
        return measured
    ceilings = ceilings_for(measured, cancel)
    return measured if ceilings is None else attach(measured, graph, ceilings)


# --- placing ---------------------------------------------------------------------------------------

def attach(measured: M, graph: Graph, ceilings: DeviceCeilings) -> M:
    """Every timed op that the analysis knows placed on `ceilings` (its KernelInfo copied in), and the
    whole pass from the analysis's totals and the end-to-end median. Timed end to end only, the whole
    pass alone: no shares by bound, no sentences (they name an op)."""
    whole = roof.place_whole(graph.nodes, measured.total, ceilings)
    if not measured.nodes:
        return measured.model_copy(update={"roofline": RooflineSummary(
            whole=whole, ceilings=ceilings, by_bound={}, sentences=[])})
    by_id = {n.id: n for n in graph.nodes}
    nodes = [t.model_copy(update={"roofline": roof.place_node(by_id[t.id], t, ceilings, t.kernel)})
             if t.id in by_id else t for t in measured.nodes]
    placed = [t for t in nodes if t.roofline is not None]
    summary = RooflineSummary(
        whole=whole, ceilings=ceilings,
        by_bound=roof.by_bound([t.roofline for t in placed], [t.median_us for t in placed]),
        sentences=sentences(graph, placed, measured.quality.disturbed, ceilings))
    return measured.model_copy(update={"nodes": nodes, "roofline": summary})


# --- words about the figures -----------------------------------------------------------------------

def percent(share: float) -> str:
    """0.382 -> "38%"; below 1% one decimal ("0.4%"), and "under 0.1%" for what would read 0.0%."""
    value = 100 * share
    if value >= 1 or value == 0:
        return f"{value:.0f}%"
    return f"{value:.1f}%" if value >= 0.05 else "under 0.1%"


def figure(value: float) -> str:
    """A rate or an intensity: 1,234 / 56.8 / 2.1 / 0.42."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def duration(us: float) -> str:
    """`micros` (µs, ms), with two decimals below one microsecond."""
    return micros(us) if us >= 1 else f"{us:.2f} µs"


def name(node: Node) -> str:
    """How the page labels a node, with its id: "3x3 DWConv (conv2)"."""
    return f"{node.label} ({node.id})"


def why(timing: NodeTiming, ceilings: DeviceCeilings) -> str:
    """The node's bound in words, with the figures that put it there."""
    r = timing.roofline
    if r.bound == "overhead":
        cost = duration(ceilings.call_overhead_us.value)
        if r.bytes == 0:
            return f"call overhead: it moves no data, and one call costs {cost}"
        return (f"call overhead: the roofs allow {duration(r.roof_time_us)}, one call costs {cost}, and it "
                f"took {duration(timing.median_us)}")
    if r.bound == "memory" and r.flops == 0:
        return (f"memory-bound, a copy with no arithmetic, at {percent(r.fraction_of_roof)} of the "
                f"{r.level} bandwidth ({figure(r.achieved_gbs)} of {figure(r.roof_gbs)} GB/s)")
    if r.bound == "memory":
        return (f"memory-bound at {figure(r.intensity)} FLOP/byte, at {percent(r.fraction_of_roof)} of the "
                f"{r.level} bandwidth ({figure(r.achieved_gbs)} of {figure(r.roof_gbs)} GB/s)")
    return (f"compute-bound at {figure(r.intensity)} FLOP/byte, at {percent(r.fraction_of_roof)} of the "
            f"compute peak ({figure(r.achieved_gflops)} of {figure(roof.peak_gflops(ceilings))} GFLOP/s)")


def _madds_words(node: Node, total_madds: int, time_share: str) -> str:
    if node.madds == 0 or total_madds == 0:
        return "and does none of the multiply-adds"
    madds_share = percent(node.madds / total_madds)
    # the word compares the two shares as shown, so "38% ... more than its 38%" cannot be read
    if madds_share == time_share:
        return f"as much as its {madds_share} of the multiply-adds"
    more = _shown(madds_share) < _shown(time_share)
    return f"{'more' if more else 'less'} than its {madds_share} of the multiply-adds"


def _shown(text: str) -> float:
    """The share a `percent` text shows (what the words compare)."""
    return 0.0 if text.startswith("under") else float(text.rstrip("%")) / 100


def kernel_words(timing: NodeTiming, node: Node) -> list[str]:
    """What ran for the node and its layout reorders, and the multiply-adds a padded layout adds."""
    kernel = timing.kernel
    if kernel is None:
        return []
    said = []
    impl = kernel.impl or "an unnamed kernel"
    if kernel.reorders:
        count = len(kernel.reorders)
        times = [duration(r.time_us) for r in kernel.reorders]
        listed = times[0] if count == 1 else f"{', '.join(times[:-1])} and {times[-1]}"
        details = "; ".join(f"{r.tensor} {r.src_layout} → {r.dst_layout}" for r in kernel.reorders)
        how = (f"with one layout reorder that takes {listed}" if count == 1 else
               f"between {NUMBER_WORDS.get(count, str(count))} layout reorders that take {listed}")
        said.append(f"It runs as {impl} {how}, of the {duration(timing.median_us)} it took ({details}).")
    elif kernel.impl is not None:
        said.append(f"It runs as {impl}" + (f" in layout {kernel.layout}." if kernel.layout else "."))
    if kernel.effective_madds is not None and kernel.effective_madds > node.madds:
        padded = ""
        channels = [(word, node.attrs.get(key), (kernel.effective_channels or {}).get(key))
                    for key, word in (("in_channels", "input"), ("out_channels", "output"))]
        changed = [(word, counted, effective) for word, counted, effective in channels
                   if effective is not None and counted is not None and effective != counted]
        if changed:
            padded = " as if it had " + " and ".join(f"{effective} {word} channels, not {counted}"
                                                     for word, counted, effective in changed) + ":"
        said.append(f"Its blocked layout computes{padded} {kernel.effective_madds:,} multiply-adds for the "
                    f"{node.madds:,} counted, {amount(node.madds, kernel.effective_madds)} more.")
    return said


# an op whose share of the time is at least this many times its share of the multiply-adds, and at
# least this share of the time, is named beside the dominant one ("does 7% ... and takes 21% ...")
OUT_OF_PROPORTION, NOTABLE_SHARE = 2.0, 0.10
FAR_UNDER_ROOF = 0.25  # a dot below this share of its roof: neither roof explains its time


def out_of_proportion(graph: Graph, placed: list[NodeTiming], skip: set[str], ceilings: DeviceCeilings
                      ) -> str | None:
    """The op (other than those in `skip`) whose time most outweighs its multiply-adds, in a sentence: its two
    shares, its bound, and, far under its roofs, that neither roof explains its time. Only where the
    fast end of its samples (p25, against the others' medians) still shows it out of proportion."""
    by_id = {n.id: n for n in graph.nodes}
    total_us = sum(t.median_us for t in placed)
    total_madds = graph.totals.madds
    if total_us <= 0 or total_madds <= 0:
        return None
    found = None
    for t in placed:
        node = by_id[t.id]
        if t.id in skip or node.madds == 0:
            continue
        madds_share = node.madds / total_madds
        fast_share = t.p25_us / (total_us - t.median_us + t.p25_us)
        if fast_share >= NOTABLE_SHARE and fast_share >= OUT_OF_PROPORTION * madds_share:
            ratio = (t.median_us / total_us) / madds_share
            if found is None or ratio > found[0]:
                found = (ratio, t, node)
    if found is None:
        return None
    _, t, node = found
    said = (f"The {name(node)} does {percent(node.madds / total_madds)} of the multiply-adds and takes "
            f"{percent(t.median_us / total_us)} of the time: {why(t, ceilings)}")
    if t.roofline.bound != "overhead" and t.roofline.fraction_of_roof < FAR_UNDER_ROOF:
        ran = f" ({t.kernel.impl})" if t.kernel is not None and t.kernel.impl else ""
        said += (f"; neither roof explains that time: its kernel{ran} leaves "
                 f"{percent(1 - t.roofline.fraction_of_roof)} of what the roofs allow unused")
    return said + "."


def sentences(graph: Graph, placed: list[NodeTiming], disturbed: bool, ceilings: DeviceCeilings) -> list[str]:
    """Which op dominates and why: its share of the time against its share of the multiply-adds, its
    bound with the figures behind it, and what ran. No verdict from a disturbed measurement (or disturbed
    ceilings), nor when the op with the largest median does not stand clear of the next one: their
    interquartile ranges (wider than the medians' 95% intervals) must separate."""
    if not placed:
        return []
    if disturbed or ceilings.quality.disturbed:
        what = "this measurement" if disturbed else "the ceilings"
        return [f"No op is named as the one that dominates: {what} ran while other work used the cores or "
                f"the samples spread widely; {TOO_NOISY}."]
    by_id = {n.id: n for n in graph.nodes}
    total_us = sum(t.median_us for t in placed)
    ranked = sorted(placed, key=lambda t: t.median_us, reverse=True)
    top = ranked[0]
    node = by_id[top.id]
    share = percent(top.median_us / total_us if total_us > 0 else 0.0)
    if len(ranked) > 1:
        second = ranked[1]
        if not intervals_separate([top.p25_us, top.p75_us], [second.p25_us, second.p75_us]):
            other = percent(second.median_us / total_us if total_us > 0 else 0.0)
            said = [f"The {name(node)} and the {name(by_id[second.id])} take {share} and {other} of the "
                    "time, too close to say which dominates: the middle halves of their samples overlap."]
            also = out_of_proportion(graph, placed, {top.id, second.id}, ceilings)
            return said if also is None else [*said, also]
    said = [f"The {name(node)} takes {share} of the time, {_madds_words(node, graph.totals.madds, share)}: "
            f"{why(top, ceilings)}.", *kernel_words(top, node)]
    also = out_of_proportion(graph, placed, {top.id}, ceilings)
    return said if also is None else [*said, also]


# --- the guideline lab: why the rows' times come out as they do ------------------------------------

def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _group_words(graph: Graph, nodes: list[NodeTiming]) -> str:
    """The kind of op (by its page label) that takes most of a row's op time: its share, its bounds,
    how close to their roofs, what ran and the reorders around it."""
    label_of = {n.id: n.label for n in graph.nodes}
    times: dict[str, float] = {}
    for t in nodes:
        times[label_of[t.id]] = times.get(label_of[t.id], 0.0) + t.median_us
    total = sum(times.values())
    label = max(times, key=times.get)
    group = [t for t in nodes if label_of[t.id] == label]
    shares = roof.by_bound([t.roofline for t in group], [t.median_us for t in group])
    present = [b for b, v in shares.items() if v > 0] or [group[0].roofline.bound]  # untimed: as placed
    bounds = f"all {present[0]}-bound" if len(present) == 1 else \
        _listed([f"{percent(shares[b])} of it {b}-bound" for b in present])
    flops, nbytes = sum(t.roofline.flops for t in group), sum(t.roofline.bytes for t in group)
    at_roof = sum(t.roofline.roof_time_us for t in group) / times[label] if times[label] > 0 else 0.0
    said = (f"the {label} ops take {percent(times[label] / total if total > 0 else 0.0)} of the op time, "
            f"{bounds}, at {figure(roof.intensity_of(flops, nbytes))} FLOP/byte and {percent(at_roof)} of "
            "their roofs")
    impls: dict[str, int] = {}
    for t in group:
        if t.kernel is not None and t.kernel.impl is not None:
            impls[t.kernel.impl] = impls.get(t.kernel.impl, 0) + 1
    if impls:
        said += ", run as " + _listed([impl if len(impls) == 1 else f"{impl} ({count} of them)"
                                       for impl, count in impls.items()])
    reorders = [r for t in group if t.kernel is not None for r in t.kernel.reorders]
    if reorders:
        said += (f", with {len(reorders)} layout reorder{'s' if len(reorders) > 1 else ''} taking "
                 f"{duration(sum(r.time_us for r in reorders))} in all")
    return said


def explain_rows(rows: list[tuple[str, Graph, RowMeasurement | None]], bound: str | None,
                 because: str | None) -> list[str]:
    """Per measured row, the kind of op that takes most of its time and why (from its ops' dots), then
    the share of op time in ops of the bound the guideline argues from, row by row, its direction
    computed from the shares as shown. No explanation from rows measured while disturbed."""
    placed = [(label, graph, m) for label, graph, m in rows
              if m is not None and m.nodes and m.roofline is not None
              and all(t.roofline is not None for t in m.nodes)]
    if not placed:
        return []
    noisy = [label for label, _, m in placed if m.quality.disturbed or m.roofline.ceilings.quality.disturbed]
    if noisy:
        return [f"No explanation from the rows' ops: {_listed(noisy)} ran while other work used the cores "
                f"or the samples spread widely; {TOO_NOISY}."]
    said = [f"{label}: {_group_words(graph, m.nodes)}." for label, graph, m in placed]
    if bound is not None and len(placed) > 1:
        shares = [(label, percent(m.roofline.by_bound.get(bound, 0.0))) for label, _, m in placed]
        (first, a), (last, b) = shares[0], shares[-1]
        if _shown(a) == _shown(b):
            how = f"the same share in {last} as in {first}"
        else:
            how = f"{'more' if _shown(b) > _shown(a) else 'less'} in {last} than in {first}"
        said.append(f"Op time in {bound}-bound ops, where {because}: "
                    f"{_listed([f'{label} {share}' for label, share in shares])}; {how}.")
    return said
