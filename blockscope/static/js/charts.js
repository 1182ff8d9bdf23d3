// The explorer's Plotly charts: a metric per op, the group-count sweep, measured latency, the
// activation curves and RepVGG's kernels. Defaults and colours are plot.js's and colors.js's.

import { DIVERGING, INK, METRIC_COLORS, metricColor, RULE } from "./colors.js";
import { metricValue } from "./diagram.js";
import { human, metricLabel, micros } from "./format.js";
import { plot, plotLayout } from "./plot.js";

const CHANNEL_PARAMS = ["in_channels", "out_channels", "bottleneck_width", "expanded_channels"];
const MEDIAN_AXIS = { title: { text: "median µs (whiskers: p25–p75)" }, rangemode: "tozero" };

const pairs = (entries) => entries.map(([k, v]) => `${k}=${v}`).join(", ");

export function metricChart(element, analysis, metric, latency) {
  const nodes = analysis.nodes.filter((n) => n.op !== "input");
  const trace = {
    type: "bar",
    x: nodes.map((n) => n.id),
    y: nodes.map((n) => metricValue(n, metric, latency)),
    marker: { color: metricColor(metric) },
    text: nodes.map((n) => n.label),
    hovertemplate: "%{x}: %{text}<br>%{y:,}<extra></extra>",
  };
  const label = metricLabel(metric);
  plot(
    element,
    [trace],
    plotLayout(`${label} per op`, {
      xaxis: { tickangle: -35, automargin: true },
      yaxis: { title: { text: label }, rangemode: "tozero" },
    }),
  );
}

// A log axis with a grid line and a label at every group count, so no point reads as a value it is
// not (24 between 16 and 64 is not 32). A label that would run into one already placed drops to a
// lower line: the current g first, then the others in order, each on the highest line with room for
// its digits at the plot's width (`plotWidth`, px). Past MAX_LABEL_LINES a crowded point keeps its
// grid line and marker, and says its g on hover. `lines`: how many label lines the axis uses.
const MAX_LABEL_LINES = 3;
const DIGIT_PX = 8; // a digit at 12 px, with the space a label needs around it

function groupAxis(param, g, current, plotWidth) {
  const logs = g.map((v) => Math.log(v));
  const span = Math.max(...logs) - Math.min(...logs) || 1;
  const room = (i, j) => ((String(g[i]).length + String(g[j]).length) / 2 + 1) * DIGIT_PX;
  const apart = (i, j) => (Math.abs(logs[i] - logs[j]) / span) * plotWidth >= room(i, j);
  const placed = []; // per line, the indices labelled on it
  const lineOf = new Map();
  const order = [g.indexOf(current), ...g.keys()].filter((i, k, all) => i >= 0 && all.indexOf(i) === k);
  for (const i of order) {
    let line = placed.findIndex((taken) => taken.every((j) => apart(i, j)));
    if (line < 0 && placed.length < MAX_LABEL_LINES) line = placed.push([]) - 1;
    if (line < 0) continue;
    placed[line].push(i);
    lineOf.set(i, line);
  }
  const ticktext = g.map((v, i) => (lineOf.has(i) ? `${"<br>".repeat(lineOf.get(i))}${v}` : ""));
  return {
    axis: { title: { text: `${param} (g)` }, type: "log", tickvals: g, ticktext, tickangle: 0 },
    lines: placed.length,
  };
}

// The width of a chart's plot area: the element's, less the side margins (a guess before it is laid out).
const plotWidth = (element, margin) => Math.max(120, (element.clientWidth || 480) - margin.l - margin.r);

// Legends go above the plot, under the title, where they cannot cover an axis title.
const LEGEND_ON_TOP = { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom" };
const TOP_MARGIN = 76;
const LABEL_LINE = 14; // px of one more line of axis labels

// `series`: the fixed-multiply-adds points to draw on the right (the explorer's own, when its
// "keep multiply-adds fixed" switch is on), else the sweep's.
export function sweepCharts(channelsChart, maddsChart, sw, series = null) {
  const current = { type: "line", x0: sw.current, x1: sw.current, yref: "paper", y0: 0, y1: 1 };
  const shapes = [{ ...current, line: { color: RULE, dash: "dot" } }];
  const pts = sw.fixed_channels;
  const g = pts.map((p) => p.g);
  const traces = ["mac", "madds", "params"].map((key) => ({
    type: "scatter",
    mode: "lines+markers",
    name: metricLabel(key),
    x: g,
    y: pts.map((p) => p[key]),
    line: { color: METRIC_COLORS[key] },
    hovertemplate: `g=%{x}: %{y:,}<extra>${metricLabel(key)}</extra>`,
  }));
  const channels = pairs(Object.entries(sw.config).filter(([k]) => CHANNEL_PARAMS.includes(k)));
  const channelsAxis = groupAxis(sw.param, g, sw.current, plotWidth(channelsChart, { l: 64, r: 16 }));
  plot(
    channelsChart,
    traces,
    plotLayout(`Fixed channels (${channels}): MAC barely moves`, {
      xaxis: channelsAxis.axis,
      yaxis: { title: { text: "count (log scale)" }, type: "log" },
      legend: LEGEND_ON_TOP,
      margin: { l: 64, r: 16, t: TOP_MARGIN, b: 56 + LABEL_LINE * (channelsAxis.lines - 1) },
      shapes,
    }),
  );

  const fixed = series ?? sw.fixed_madds;
  const fm = fixed.points;
  if (!fm.length) {
    maddsChart.textContent = fixed.target_madds
      ? "The g = 1 block these multiply-adds would be held at is over this server's memory limit, " +
        "so there is no series to show."
      : "This block has no multiply-adds, so there is nothing to hold fixed.";
    return;
  }
  const gm = fm.map((p) => p.g);
  const deviation = (p) =>
    p.madds_deviation == null ? "" : `, multiply-adds ${(p.madds_deviation * 100).toFixed(2)}%`;
  const labels = fm.map((p) => `${pairs(Object.entries(p.channels))}${deviation(p)}`);
  const line = { type: "scatter", mode: "lines+markers", x: gm, text: labels };
  const maddsAxis = groupAxis(sw.param, gm, sw.current, plotWidth(maddsChart, { l: 64, r: 64 }));
  const within = fixed.tolerance ? ` ±${(fixed.tolerance * 100).toFixed(0)}%` : "";
  plot(
    maddsChart,
    [
      {
        ...line,
        name: "MAC (memory access cost)",
        y: fm.map((p) => p.mac),
        line: { color: METRIC_COLORS.mac },
        hovertemplate: "g=%{x}: %{text}<br>MAC %{y:,}<extra></extra>",
      },
      {
        ...line,
        name: "multiply-adds (right axis)",
        yaxis: "y2",
        y: fm.map((p) => p.madds),
        line: { color: METRIC_COLORS.madds, dash: "dash" },
        hovertemplate: "g=%{x}: %{text}<br>multiply-adds %{y:,}<extra></extra>",
      },
    ],
    plotLayout(`Multiply-adds held at ${human(fixed.target_madds)}${within} (G2): MAC rises with g`, {
      xaxis: maddsAxis.axis,
      yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
      yaxis2: {
        title: { text: "multiply-adds" },
        overlaying: "y",
        side: "right",
        rangemode: "tozero",
        showgrid: false,
        automargin: true,
      },
      legend: LEGEND_ON_TOP,
      margin: { l: 64, r: 64, t: TOP_MARGIN, b: 56 + LABEL_LINE * (maddsAxis.lines - 1) },
      shapes,
    }),
  );
}

// Whiskers from the 25th to the 75th percentile around each median.
function whiskers(stats) {
  return {
    type: "data",
    symmetric: false,
    array: stats.map((s) => s.p75_us - s.median_us),
    arrayminus: stats.map((s) => s.median_us - s.p25_us),
    color: INK,
    thickness: 1.2,
  };
}

// Bars are medians; whiskers run from the 25th to the 75th percentile.
export function latencyChart(element, report) {
  const nodes = report.nodes;
  const where = report.device_label || report.device;
  const trace = {
    type: "bar",
    x: nodes.map((n) => n.id),
    y: nodes.map((n) => n.median_us),
    marker: { color: METRIC_COLORS.latency },
    error_y: whiskers(nodes),
    customdata: nodes.map((n) => [micros(n.p25_us), micros(n.p75_us), (n.share * 100).toFixed(1)]),
    hovertemplate:
      "%{x}: median %{y:.1f} µs<br>p25 %{customdata[0]}, p75 %{customdata[1]}<br>" +
      "%{customdata[2]}% of ops<extra></extra>",
  };
  const title = `Latency per op on ${where}: block median ${micros(report.total.median_us)}`;
  plot(
    element,
    [trace],
    plotLayout(title, { xaxis: { tickangle: -35, automargin: true }, yaxis: MEDIAN_AXIS }),
  );
}

export function barsWithWhiskers(element, names, reports, title) {
  const trace = {
    type: "bar",
    x: names,
    y: reports.map((r) => r.total.median_us),
    marker: { color: METRIC_COLORS.latency },
    error_y: whiskers(reports.map((r) => r.total)),
    hovertemplate: "%{x}: median %{y:.1f} µs<extra></extra>",
  };
  plot(element, [trace], plotLayout(title, { yaxis: MEDIAN_AXIS }));
}

// Two panels, so that no curve hides another: the ReLU family with swish and hard-swish (left), and
// the gates sigmoid and hard-sigmoid on [0, 1] (right); stacked on a narrow screen. relu runs under
// relu6 until x = 6, so it is drawn wide and pale beneath it, and the x range goes past 6.
export function curvesChart(element, xs, curves) {
  const narrow = element.clientWidth > 0 && element.clientWidth < 560;
  const gate = (c) => c.panel === "gate";
  const traces = curves.map((c) => ({
    type: "scatter",
    mode: "lines",
    name: c.name,
    x: xs,
    y: c.y,
    xaxis: gate(c) ? "x2" : "x",
    yaxis: gate(c) ? "y2" : "y",
    opacity: c.opacity ?? 1,
    line: { dash: c.dash || "solid", width: c.width || 2, color: c.color },
  }));
  const [a, b] = narrow
    ? [
        [0, 1],
        [0, 1],
      ]
    : [
        [0, 0.56],
        [0.66, 1],
      ];
  const [ya, yb] = narrow
    ? [
        [0.58, 1],
        [0, 0.4],
      ]
    : [
        [0, 1],
        [0, 1],
      ];
  plot(
    element,
    traces,
    plotLayout("Activation functions", {
      xaxis: { title: { text: "x" }, zeroline: true, domain: a, anchor: "y" },
      yaxis: { title: { text: "f(x)" }, zeroline: true, domain: ya, anchor: "x" },
      xaxis2: { title: { text: "x" }, zeroline: true, domain: b, anchor: "y2", range: [-6, 6] },
      yaxis2: { title: { text: "gate" }, domain: yb, anchor: "x2", range: [-0.05, 1.05] },
      legend: LEGEND_ON_TOP,
      margin: { l: 56, r: 16, t: narrow ? 120 : 80, b: 48 },
      height: narrow ? 640 : 400,
    }),
  );
}

// A kernel weight[o][j][kh][kw] as one heatmap: a kh x kw block per (output o, input j), blank lines
// between blocks, axes labelled by channel. `bound`: the colour scale's |top| (shared by the charts
// that are compared); white is zero.
// `compact`: a narrow colour bar with three ticks, for a row of small heatmaps that each show their own.
export function heatmap(element, weight, title, { bound = null, showscale = true, compact = false } = {}) {
  const z = tile(weight);
  const kh = weight[0][0].length;
  const kw = weight[0][0][0].length;
  const top =
    bound ??
    Math.max(
      ...z
        .flat()
        .filter((v) => v !== null)
        .map(Math.abs),
      1e-12,
    );
  const customdata = z.map((row, r) =>
    row.map((_, c) => [Math.floor(r / (kh + 1)), Math.floor(c / (kw + 1)), r % (kh + 1), c % (kw + 1)]),
  );
  const ticks = (count, size) => ({
    tickvals: Array.from({ length: count }, (_, i) => i * (size + 1) + (size - 1) / 2),
    ticktext: Array.from({ length: count }, (_, i) => String(i)),
  });
  const trace = {
    type: "heatmap",
    z,
    customdata,
    colorscale: DIVERGING,
    zmin: -top,
    zmax: top,
    showscale,
    colorbar: compact
      ? { thickness: 6, len: 0.9, nticks: 3, tickfont: { size: 9 }, xpad: 2 }
      : { thickness: 10, len: 0.9 },
    hoverongaps: false,
    hovertemplate:
      "output %{customdata[0]}, input %{customdata[1]}, tap (%{customdata[2]}, %{customdata[3]}): " +
      "%{z:.4f}<extra></extra>",
  };
  plot(
    element,
    [trace],
    plotLayout(title, {
      height: 300,
      yaxis: {
        autorange: "reversed",
        showgrid: false,
        zeroline: false,
        title: { text: "output channel o" },
        ...ticks(weight.length, kh),
      },
      xaxis: {
        showgrid: false,
        zeroline: false,
        title: { text: "input channel j" },
        ...ticks(weight[0].length, kw),
      },
      margin: { l: 56, r: 16, t: 40, b: 48 },
    }),
  );
}

// weight[o][j][kh][kw] tiled into one matrix: row block o, column block j, a blank line between blocks
export function tile(weight) {
  const rows = [];
  weight.forEach((perOut, o) => {
    if (o) rows.push(null);
    const kh = perOut[0].length;
    for (let r = 0; r < kh; r++) {
      const row = [];
      perOut.forEach((k, j) => {
        if (j) row.push(null);
        row.push(...k[r]);
      });
      rows.push(row);
    }
  });
  const width = Math.max(...rows.filter(Boolean).map((r) => r.length));
  return rows.map((r) => r || new Array(width).fill(null));
}
