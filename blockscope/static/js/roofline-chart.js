// The roofline chart (Williams, Waterman and Patterson, "Roofline", CACM 2009): log-log, x the
// arithmetic intensity (FLOP per byte moved), y the rate reached (GFLOP/s). The roofs are this
// server's measured ceilings: the compute peak (flat), each cache level's bandwidth (slanted,
// rate = intensity × bandwidth, up to the peak) and, dashed, the datasheet peak. Pages hand it groups
// of dots (roofline.js builds them from the server's figures); it words nothing but the figures.

import { FIGURE, INK, OP_COLORS, ROOF_MEMORY, RULE } from "./colors.js";
import { plot, plotLayout } from "./plot.js";

// --- figures as the chart and its hover say them ------------------------------------------------------

// three significant figures, with thousands separators: 1,230 · 45.2 · 0.0812
export const sig = (value) =>
  value == null || !Number.isFinite(Number(value))
    ? "–"
    : Number(value).toLocaleString("en-US", { maximumSignificantDigits: 3 });

export const interval = (ci) => (ci?.length === 2 ? `${sig(ci[0])}–${sig(ci[1])}` : "");

// "250 GB/s (95% interval 240–260)"
export const withInterval = (value, ci, unit) =>
  ci?.length === 2 ? `${sig(value)} ${unit} (95% interval ${interval(ci)})` : `${sig(value)} ${unit}`;

// Plotly's hover text takes a little HTML (<br>, <b>): what the server says goes in as text.
export const escapeHover = (text) =>
  String(text ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");

// --- the kinds of op, each a colour and a symbol (a symbol too: colour is not all readers' cue) ----

const ACTIVATIONS = new Set(["relu", "relu6", "sigmoid", "hardsigmoid", "silu", "hardswish", "gelu", "tanh"]);
const KIND_OF_OP = {
  conv2d: "conv",
  linear: "linear",
  batch_norm: "norm",
  add: "arithmetic",
  mul: "arithmetic",
  avg_pool2d: "pool",
  max_pool2d: "pool",
  adaptive_avg_pool2d: "pool",
};

export const OP_KINDS = {
  conv: { label: "convolutions", symbol: "circle" },
  linear: { label: "linear layers", symbol: "square" },
  norm: { label: "BatchNorm", symbol: "diamond" },
  activation: { label: "activations", symbol: "triangle-up" },
  arithmetic: { label: "adds and multiplies", symbol: "cross" },
  pool: { label: "pooling", symbol: "triangle-down" },
  data: { label: "concat, split, shuffle", symbol: "x" },
};

export const opKind = (op) => KIND_OF_OP[op] ?? (ACTIVATIONS.has(op) ? "activation" : "data");
export const opStyle = (op) => {
  const kind = opKind(op);
  return { kind, color: OP_COLORS[kind], symbol: OP_KINDS[kind].symbol, label: OP_KINDS[kind].label };
};

// The whole forward pass: a star in ink, larger than any op's dot.
export const WHOLE = { color: INK, symbol: "star", size: 17 };

// --- the roofs ------------------------------------------------------------------------------------------

// Per memory level, the bandwidth of its largest working set (DRAM's is the one the ridge uses); the
// hover lists every working set measured at that level.
// The compute roof the server places ops under: the fastest rate measured, the matrix multiply's
// or an op family's (analysis/roofline.py, peak_gflops).
export function peakOf(ceilings) {
  return Math.max(
    ceilings.compute_gflops.value,
    ...Object.values(ceilings.family_gflops ?? {}).map((i) => i.value),
  );
}

// One bandwidth roof per level, as the server reads them (analysis/roofline.py, roof_for): at a working
// set, the best bandwidth measured at that size or larger; a level's roof is its smallest set's.
export function levels(ceilings) {
  const sets = [...(ceilings.bandwidth_gbs ?? [])].sort((p, q) => p.working_set_bytes - q.working_set_bytes);
  const byLevel = new Map();
  sets.forEach((b, i) => {
    const gbs = Math.max(...sets.slice(i).map((x) => x.gbs));
    if (!byLevel.has(b.level)) byLevel.set(b.level, { level: b.level, roof: { ...b, gbs }, all: [] });
    byLevel.get(b.level).all.push(b);
  });
  return [...byLevel.values()];
}

const bytesText = (bytes) => {
  for (const [unit, size] of [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ]) {
    if (bytes >= size) return `${sig(bytes / size)} ${unit}`;
  }
  return `${bytes} B`;
};

const logSpaced = ([lo, hi], count) =>
  Array.from({ length: count }, (_, i) => lo * (hi / lo) ** (i / (count - 1)));

const DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"];

function flatRoof(y, [x0, x1], name, hover, line) {
  const xs = logSpaced([x0, x1], 16);
  return {
    type: "scatter",
    mode: "lines",
    name,
    x: xs,
    y: xs.map(() => y),
    line,
    showlegend: false,
    hovertemplate: `${hover}<extra></extra>`,
    meta: { roof: name },
  };
}

function roofTraces(ceilings, range) {
  const peak = peakOf(ceilings);
  const mm = ceilings.compute_gflops.value;
  const peakText = withInterval(mm, ceilings.compute_gflops.ci95, "GFLOP/s");
  const traces = [
    flatRoof(
      mm,
      range,
      `compute peak ${sig(mm)} GFLOP/s`,
      `<b>Compute peak</b> (a large matrix multiply)<br>${peakText}`,
      { color: INK, width: 2.5 },
    ),
  ];
  for (const [family, rate] of Object.entries(ceilings.family_gflops ?? {})) {
    const text = withInterval(rate.value, rate.ci95, "GFLOP/s");
    traces.push(
      flatRoof(
        rate.value,
        range,
        `${family} peak ${sig(rate.value)} GFLOP/s`,
        `<b>${family} peak</b><br>${text}`,
        {
          color: RULE,
          width: 1.5,
          dash: "dot",
        },
      ),
    );
  }
  const t = ceilings.theoretical;
  if (t) {
    const assumed = t.assumed?.length ? `<br>assumed: ${escapeHover(t.assumed.join(", "))}` : "";
    const how =
      `${t.cores} cores × ${t.lanes} lanes × 2 (FMA) × ${t.fma_units} FMA units × ${sig(t.ghz)} GHz` +
      assumed;
    traces.push(
      flatRoof(
        t.gflops,
        range,
        `datasheet peak ${sig(t.gflops)} GFLOP/s`,
        `<b>Datasheet peak</b> ${sig(t.gflops)} GFLOP/s<br>${how}`,
        {
          color: INK,
          width: 1.5,
          dash: "dash",
        },
      ),
    );
  }
  levels(ceilings).forEach(({ level, roof, all }, i) => {
    const xs = logSpaced(range, 24);
    const sets = all
      .map((b) => `${bytesText(b.working_set_bytes)}: ${withInterval(b.gbs, b.ci95, "GB/s")}`)
      .join("<br>");
    traces.push({
      type: "scatter",
      mode: "lines",
      name: `${level} ${sig(roof.gbs)} GB/s`,
      x: xs,
      y: xs.map((x) => Math.min(peak, x * roof.gbs)),
      line: { color: ROOF_MEMORY, width: 1.8, dash: DASHES[i % DASHES.length] },
      showlegend: false,
      hovertemplate:
        `<b>${escapeHover(level)} bandwidth roof</b>: ` +
        `min(${sig(peak)} GFLOP/s, intensity × ${sig(roof.gbs)} GB/s)<br>` +
        "(the best measured at this level's sizes or larger)<br>" +
        `working sets measured at this level:<br>${sets}<extra></extra>`,
      meta: { roof: level },
    });
  });
  return traces;
}

// Labels written on the roofs themselves (the legend keys only the dots). Log axes place annotations
// at log10 of the value. A slanted roof is labelled where it enters the plot from the left or below.
function roofLabels(ceilings, range) {
  const [x0, x1] = range.x;
  const peak = peakOf(ceilings);
  const mm = ceilings.compute_gflops.value;
  const label = (x, y, text, xanchor, yanchor = "bottom") => ({
    x: Math.log10(x),
    y: Math.log10(y),
    text,
    xanchor,
    yanchor,
    showarrow: false,
    font: { size: 11, color: INK },
    bgcolor: FIGURE.background,
    borderpad: 1,
  });
  // of two flat roofs close together, the higher is labelled above its line and the lower below
  const families = Object.entries(ceilings.family_gflops ?? {});
  const mmOnTop = families.every(([, rate]) => rate.value <= mm);
  const labels = [label(x1, mm, `peak ${sig(mm)} GFLOP/s`, "right", mmOnTop ? "bottom" : "top")];
  for (const [family, rate] of families) {
    labels.push(
      label(x1, rate.value, `${family} ${sig(rate.value)}`, "right", rate.value > mm ? "bottom" : "top"),
    );
  }
  const t = ceilings.theoretical;
  if (t) labels.push(label(x1, t.gflops, `datasheet ${sig(t.gflops)}`, "right"));
  for (const { level, roof } of levels(ceilings)) {
    const x = Math.max(x0, range.y[0] / roof.gbs) * 1.15;
    if (x * roof.gbs >= peak / 1.5) continue; // meets the peak at once: the peak's label says it
    labels.push(label(x, x * roof.gbs, `${level} ${sig(roof.gbs)} GB/s`, "left"));
  }
  return labels;
}

// --- the chart ------------------------------------------------------------------------------------------

// The axes span every dot and the ridge points, a little beyond.
function ranges(ceilings, points) {
  const peak = peakOf(ceilings);
  const top = Math.max(peak, ceilings.theoretical?.gflops ?? 0);
  const ridges = levels(ceilings).map(({ roof }) => peak / roof.gbs);
  const xs = [...points.map((p) => p.x), ...ridges].filter((v) => v > 0);
  const ys = points.flatMap((p) => [p.y, p.lo]).filter((v) => v > 0);
  const x0 = Math.min(0.05, ...xs) / 2;
  const x1 = Math.max(...xs) * 3;
  const y0 = Math.min(top / 1000, ...ys) / 2.5;
  return { x: [x0, x1], y: [y0, top * 2.2] };
}

const errorBars = (points) => ({
  type: "data",
  symmetric: false,
  array: points.map((p) => (p.hi == null ? 0 : Math.max(0, p.hi - p.y))),
  arrayminus: points.map((p) => (p.lo == null ? 0 : Math.max(0, p.y - p.lo))),
  thickness: 1,
  width: 2,
});

// One trace per group of dots. A group: {name, points: [{x, y, lo, hi, hover, color?, symbol?}],
// color, symbol, size, faded, role}; a point's own colour and symbol win over its group's.
function dotTrace(group, narrow) {
  const pts = group.points;
  const colors = pts.map((p) => p.color ?? group.color);
  return {
    type: "scatter",
    mode: "markers",
    name: group.name,
    x: pts.map((p) => p.x),
    y: pts.map((p) => p.y),
    error_y: { ...errorBars(pts), color: group.faded ? RULE : INK, visible: !group.faded },
    marker: {
      color: colors,
      symbol: pts.map((p) => p.symbol ?? group.symbol ?? "circle"),
      size: group.size ?? 11,
      opacity: group.faded ? 0.28 : 0.95,
      line: { color: group.faded ? FIGURE.background : INK, width: group.faded ? 0 : 0.8 },
    },
    hovertext: pts.map((p) => p.hover),
    hovertemplate: "%{hovertext}<extra></extra>",
    hoverlabel: { align: "left", font: { size: narrow ? 10 : 12 } },
    legendgroup: group.legendgroup,
    showlegend: group.showlegend ?? true,
    meta: { role: group.role ?? "dots", ids: pts.map((p) => p.id ?? "") },
  };
}

// `groups`: the dots (faded ones first, so that today's are drawn over them). The chart's title is the
// page's (an HTML line above it): a phone's modebar would sit on a Plotly title.
export function rooflineChart(element, ceilings, groups) {
  const drawn = groups.filter((g) => g.points.length);
  const all = drawn.flatMap((g) => g.points);
  const range = ranges(ceilings, all);
  const narrow = element.clientWidth > 0 && element.clientWidth < 560;
  const traces = [...roofTraces(ceilings, range.x), ...drawn.map((g) => dotTrace(g, narrow))];
  plot(
    element,
    traces,
    plotLayout("", {
      height: narrow ? 520 : 460,
      margin: { l: 52, r: 12, t: narrow ? 128 : 52, b: 48 }, // a phone: the legend below the modebar
      hovermode: "closest",
      xaxis: {
        type: "log",
        title: { text: "arithmetic intensity (FLOP per byte)" },
        range: range.x.map(Math.log10),
        dtick: 1,
        exponentformat: "none",
        zeroline: false,
      },
      yaxis: {
        type: "log",
        title: { text: "GFLOP/s" },
        range: range.y.map(Math.log10),
        dtick: 1,
        exponentformat: "none",
        zeroline: false,
      },
      // above the plot, under the title: it keys the dots and never covers an axis title
      legend: { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom" },
      annotations: roofLabels(ceilings, range),
    }),
  );
}
