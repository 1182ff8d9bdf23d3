// The explorer's Plotly charts: a metric per op, the group-count sweep, measured latency, the
// activation curves and RepVGG's kernels. Defaults and colours are plot.js's and colors.js's.

import { INK, METRIC_COLORS, metricColor, RULE } from "./colors.js";
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

function groupAxis(param, g) {
  return { title: { text: `${param} (g)` }, type: "log", tickvals: g, ticktext: g.map(String) };
}

export function sweepCharts(channelsChart, maddsChart, sw) {
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
  plot(
    channelsChart,
    traces,
    plotLayout(`Fixed channels (${channels})`, {
      xaxis: groupAxis(sw.param, g),
      yaxis: { title: { text: "count (log scale)" }, type: "log" },
      shapes,
    }),
  );

  const fm = sw.fixed_madds.points;
  if (!fm.length) {
    maddsChart.textContent = "This block has no multiply-adds, so there is nothing to hold fixed.";
    return;
  }
  const gm = fm.map((p) => p.g);
  const labels = fm.map((p) => pairs(Object.entries(p.channels)));
  const line = { type: "scatter", mode: "lines+markers", x: gm, text: labels };
  plot(
    maddsChart,
    [
      {
        ...line,
        name: "MAC (memory access cost)",
        y: fm.map((p) => p.mac),
        line: { color: METRIC_COLORS.mac },
        hovertemplate: "g=%{x}, %{text}<br>MAC %{y:,}<extra></extra>",
      },
      {
        ...line,
        name: "multiply-adds",
        yaxis: "y2",
        y: fm.map((p) => p.madds),
        line: { color: METRIC_COLORS.madds, dash: "dash" },
        hovertemplate: "g=%{x}, %{text}<br>multiply-adds %{y:,}<extra></extra>",
      },
    ],
    plotLayout(`Fixed multiply-adds ≈ ${human(sw.fixed_madds.target_madds)} (G2): widths grow with g`, {
      xaxis: groupAxis(sw.param, gm),
      yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
      yaxis2: {
        title: { text: "multiply-adds" },
        overlaying: "y",
        side: "right",
        rangemode: "tozero",
        showgrid: false,
        automargin: true,
      },
      margin: { l: 64, r: 64, t: 40, b: 56 },
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

export function curvesChart(element, xs, curves) {
  const traces = curves.map((c) => ({
    type: "scatter",
    mode: "lines",
    name: c.name,
    x: xs,
    y: c.y,
    line: { dash: c.dash || "solid", width: c.width || 2 },
  }));
  plot(
    element,
    traces,
    plotLayout("Activation functions on [-6, 6]", {
      xaxis: { title: { text: "x" }, zeroline: true },
      yaxis: { title: { text: "f(x)" }, zeroline: true },
      height: 360,
    }),
  );
}

export function heatmap(element, z, title) {
  const flat = z.flat().filter((v) => v !== null);
  const bound = Math.max(...flat.map(Math.abs), 1e-12); // symmetric scale: white is zero
  const trace = {
    type: "heatmap",
    z,
    colorscale: "RdBu",
    zmin: -bound,
    zmax: bound,
    hoverongaps: false,
    hovertemplate: "row %{y}, col %{x}: %{z:.4f}<extra></extra>",
  };
  plot(
    element,
    [trace],
    plotLayout(title, {
      height: 300,
      yaxis: { autorange: "reversed", showgrid: false },
      xaxis: { showgrid: false },
      margin: { l: 40, r: 16, t: 40, b: 30 },
    }),
  );
}
