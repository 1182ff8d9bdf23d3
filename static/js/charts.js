// Plotly charts (Plotly is served by this server from its Python package, loaded as /vendor/plotly.min.js).

import { exact, human, metricLabel, micros } from "./format.js";
import { metricValue } from "./diagram.js";

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
const FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1d2330" };
const COLORS = { params: "#7b4fd6", madds: "#d9822b", mac: "#2f6fde", elementwise: "#2e9e6b" };

const CHANNEL_PARAMS = ["in_channels", "out_channels", "bottleneck_width", "expanded_channels"];

export const plotlyReady = () => typeof window.Plotly !== "undefined";

function base(title, extra = {}) {
  return {
    title: { text: title, font: { size: 13 }, x: 0, xanchor: "left" },
    font: FONT, margin: { l: 64, r: 16, t: 40, b: 56 }, height: 320,
    paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff", legend: { orientation: "h", y: -0.25 },
    ...extra,
  };
}

function draw(el, traces, layout) {
  if (!plotlyReady()) {
    el.textContent = "Charts need Plotly (/vendor/plotly.min.js), which did not load.";
    return;
  }
  window.Plotly.react(el, traces, layout, CONFIG);
}

export function metricChart(el, analysis, metric, latency) {
  const nodes = analysis.nodes.filter((n) => n.op !== "input");
  const y = nodes.map((n) => metricValue(n, metric, latency));
  draw(el, [{
    type: "bar", x: nodes.map((n) => n.id), y, marker: { color: COLORS[metric] || "#2f6fde" },
    text: nodes.map((n) => n.label), hovertemplate: "%{x}: %{text}<br>%{y:,}<extra></extra>",
  }], base(`${metricLabel(metric)} per op`, { xaxis: { tickangle: -35, automargin: true }, yaxis: { title: { text: metricLabel(metric) }, rangemode: "tozero" } }));
}

export function sweepCharts(elChannels, elMadds, sw) {
  const pts = sw.fixed_channels;
  const current = { type: "line", x0: sw.current, x1: sw.current, yref: "paper", y0: 0, y1: 1, line: { color: "#9aa5b8", dash: "dot" } };
  const g = pts.map((p) => p.g);
  draw(elChannels, ["mac", "madds", "params"].map((key) => ({
    type: "scatter", mode: "lines+markers", name: metricLabel(key), x: g, y: pts.map((p) => p[key]),
    line: { color: COLORS[key] }, hovertemplate: `g=%{x}: %{y:,}<extra>${metricLabel(key)}</extra>`,
  })), base(`Fixed channels (${Object.entries(sw.config).filter(([k]) => CHANNEL_PARAMS.includes(k)).map(([k, v]) => `${k}=${v}`).join(", ")})`, {
    xaxis: { title: { text: `${sw.param} (g)` }, type: "log", tickvals: g, ticktext: g.map(String) },
    yaxis: { title: { text: "count (log scale)" }, type: "log" }, shapes: [current],
  }));
  const fm = sw.fixed_madds.points;
  if (!fm.length) {
    elMadds.textContent = "This block has no multiply-adds, so there is nothing to hold fixed.";
    return;
  }
  const labels = fm.map((p) => Object.entries(p.channels).map(([k, v]) => `${k}=${v}`).join(", "));
  draw(elMadds, [
    { type: "scatter", mode: "lines+markers", name: "MAC (memory access cost)", x: fm.map((p) => p.g), y: fm.map((p) => p.mac),
      line: { color: COLORS.mac }, text: labels, hovertemplate: "g=%{x}, %{text}<br>MAC %{y:,}<extra></extra>" },
    { type: "scatter", mode: "lines+markers", name: "multiply-adds", yaxis: "y2", x: fm.map((p) => p.g), y: fm.map((p) => p.madds),
      line: { color: COLORS.madds, dash: "dash" }, text: labels, hovertemplate: "g=%{x}, %{text}<br>multiply-adds %{y:,}<extra></extra>" },
  ], base(`Fixed multiply-adds ≈ ${human(sw.fixed_madds.target_madds)} (G2): widths grow with g`, {
    xaxis: { title: { text: `${sw.param} (g)` }, type: "log", tickvals: fm.map((p) => p.g), ticktext: fm.map((p) => String(p.g)) },
    yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
    yaxis2: { title: { text: "multiply-adds" }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false },
    margin: { l: 64, r: 64, t: 40, b: 56 }, shapes: [current],
  }));
}

// Bars are medians; whiskers run from the 25th to the 75th percentile.
export function latencyChart(el, report, title) {
  const nodes = report.nodes;
  draw(el, [{
    type: "bar", x: nodes.map((n) => n.id), y: nodes.map((n) => n.median_us), marker: { color: "#2e9e6b" },
    error_y: { type: "data", symmetric: false, array: nodes.map((n) => n.p75_us - n.median_us),
      arrayminus: nodes.map((n) => n.median_us - n.p25_us), color: "#1d2330", thickness: 1.2 },
    customdata: nodes.map((n) => [micros(n.p25_us), micros(n.p75_us), (n.share * 100).toFixed(1)]),
    hovertemplate: "%{x}: median %{y:.1f} µs<br>p25 %{customdata[0]}, p75 %{customdata[1]}<br>%{customdata[2]}% of ops<extra></extra>",
  }], base(title || `Latency per op on ${report.device_label || report.device}: block median ${micros(report.total.median_us)}`, {
    xaxis: { tickangle: -35, automargin: true }, yaxis: { title: { text: "median µs (whiskers: p25–p75)" }, rangemode: "tozero" },
  }));
}

export function barsWithWhiskers(el, names, reports, title) {
  draw(el, [{
    type: "bar", x: names, y: reports.map((r) => r.total.median_us), marker: { color: "#2e9e6b" },
    error_y: { type: "data", symmetric: false, array: reports.map((r) => r.total.p75_us - r.total.median_us),
      arrayminus: reports.map((r) => r.total.median_us - r.total.p25_us), color: "#1d2330" },
    hovertemplate: "%{x}: median %{y:.1f} µs<extra></extra>",
  }], base(title, { yaxis: { title: { text: "median µs (whiskers: p25–p75)" }, rangemode: "tozero" } }));
}

export function curvesChart(el, xs, curves) {
  draw(el, curves.map((c) => ({ type: "scatter", mode: "lines", name: c.name, x: xs, y: c.y, line: { dash: c.dash || "solid", width: c.width || 2 } })),
    base("Activation functions on [-6, 6]", { xaxis: { title: { text: "x" }, zeroline: true }, yaxis: { title: { text: "f(x)" }, zeroline: true }, height: 360 }));
}

export function heatmap(el, z, title) {
  const flat = z.flat().filter((v) => v !== null);
  const bound = Math.max(...flat.map(Math.abs), 1e-12);  // symmetric scale: white is zero
  draw(el, [{ type: "heatmap", z, colorscale: "RdBu", zmin: -bound, zmax: bound, hoverongaps: false,
    hovertemplate: "row %{y}, col %{x}: %{z:.4f}<extra></extra>" }],
  base(title, { height: 300, yaxis: { autorange: "reversed", showgrid: false }, xaxis: { showgrid: false }, margin: { l: 40, r: 16, t: 40, b: 30 } }));
}
