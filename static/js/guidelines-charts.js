// Plotly charts of the guideline lab: relative speed (here vs the paper), MAC, and the G2 sweep.

import { human } from "./guidelines-format.js";

const COLORS = { here: "#2f6fde", gpu: "#d9822b", arm: "#3a9d5d", mac: "#7b61c4", madds: "#5b6475", bound: "#c0392b" };
const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

// Long row names break at their hyphens so that category labels stay level and readable.
const tick = (label) => (label.length > 10 ? label.replace(/-(series|parallel)$/, "<br>$1").replace(/, /, ",<br>") : label);

function plotly() {
  return window.Plotly;
}

function layout(title, extra = {}) {
  return {
    title: { text: title, font: { size: 14 } },
    margin: { l: 56, r: 16, t: 40, b: 64 },
    xaxis: { tickangle: 0, automargin: true },
    height: 320,
    legend: { orientation: "h", y: -0.22 },
    font: { family: "system-ui, sans-serif", size: 12 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    ...extra,
  };
}

function draw(el, traces, lay) {
  const P = plotly();
  if (!P) {
    el.textContent = "Charts need Plotly (/vendor/plotly.min.js), which did not load.";
    return;
  }
  P.react(el, traces, lay, CONFIG);
}

export function speedChart(el, report) {
  const labels = report.rows.map((r) => tick(r.label));
  const traces = [];
  const measured = report.rows.every((r) => r.measured);
  if (measured) {
    const first = report.rows[0].measured.median_us;
    const y = report.rows.map((r) => r.relative_speed.measured);
    traces.push({
      type: "bar", name: `This server (${report.device})`, x: labels, y, marker: { color: COLORS.here },
      error_y: {
        type: "data", symmetric: false,
        array: report.rows.map((r, i) => first / r.measured.p25_us - y[i]),
        arrayminus: report.rows.map((r, i) => y[i] - first / r.measured.p75_us),
      },
      hovertemplate: "%{x}: %{y:.2f}× the first row<extra>this server</extra>",
    });
  }
  if (report.rows.some((r) => r.relative_speed.paper_gpu != null)) {
    traces.push({ type: "bar", name: "Paper, GTX 1080Ti", x: labels, marker: { color: COLORS.gpu },
                  y: report.rows.map((r) => r.relative_speed.paper_gpu),
                  hovertemplate: "%{x}: %{y:.2f}×<extra>paper GPU</extra>" });
  }
  if (report.rows.some((r) => r.relative_speed.paper_arm != null)) {
    const at = report.guideline === "g1" ? " (its own channel pairs)" : "";
    traces.push({ type: "bar", name: `Paper, Snapdragon 810${at}`, x: labels, marker: { color: COLORS.arm },
                  y: report.rows.map((r) => r.relative_speed.paper_arm),
                  hovertemplate: "%{x}: %{y:.2f}×<extra>paper ARM</extra>" });
  }
  const annotations = traces.length ? [] : [{
    text: "Not measured yet, and no published figures at this width", showarrow: false,
    xref: "paper", yref: "paper", x: 0.5, y: 0.5,
  }];
  draw(el, traces, layout("Speed relative to the first row (higher is faster)", {
    barmode: "group", yaxis: { title: { text: "× first row" }, rangemode: "tozero" }, annotations,
  }));
}

export function macChart(el, report) {
  const labels = report.rows.map((r) => tick(r.label));
  const traces = [{
    type: "bar", name: "MAC (memory access cost)", x: labels, y: report.rows.map((r) => r.mac),
    marker: { color: COLORS.mac }, customdata: report.rows.map((r) => human(r.mac)),
    hovertemplate: "%{x}: MAC %{customdata} elements<extra></extra>",
  }, {
    type: "scatter", mode: "lines+markers", name: "multiply-adds (right axis)", x: labels,
    y: report.rows.map((r) => r.madds), yaxis: "y2", line: { color: COLORS.madds, dash: "dot" },
    customdata: report.rows.map((r) => human(r.madds)),
    hovertemplate: "%{x}: %{customdata} multiply-adds<extra></extra>",
  }];
  if (report.rows.every((r) => r.mac_lower_bound != null)) {
    traces.push({
      type: "scatter", mode: "lines+markers", name: "lower bound 2√(hwB) + B/hw", x: labels,
      y: report.rows.map((r) => r.mac_lower_bound), line: { color: COLORS.bound, dash: "dash" },
      customdata: report.rows.map((r) => human(r.mac_lower_bound)),
      hovertemplate: "%{x}: MAC ≥ %{customdata}<extra>G1 bound</extra>",
    });
  }
  draw(el, traces, layout("MAC and multiply-adds of the ten-unit network", {
    yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
    yaxis2: { title: { text: "multiply-adds" }, overlaying: "y", side: "right", rangemode: "tozero",
              showgrid: false, exponentformat: "SI" },
    margin: { l: 56, r: 56, t: 40, b: 56 },
  }));
}

export function sweepChart(el, sweep, groups) {
  const g = sweep.points.map((p) => p.groups);
  const selected = sweep.points[groups - 1];
  const traces = [{
    type: "scatter", mode: "lines+markers", name: "MAC (memory access cost)", x: g,
    y: sweep.points.map((p) => p.mac), line: { color: COLORS.mac },
    customdata: sweep.points.map((p) => [p.channels, human(p.mac)]),
    hovertemplate: "g=%{x}, c=%{customdata[0]}: MAC %{customdata[1]}<extra></extra>",
  }, {
    type: "scatter", mode: "lines+markers", name: "multiply-adds (right axis)", x: g,
    y: sweep.points.map((p) => p.madds), yaxis: "y2", line: { color: COLORS.madds, dash: "dot" },
    customdata: sweep.points.map((p) => human(p.madds)),
    hovertemplate: "g=%{x}: %{customdata} multiply-adds<extra></extra>",
  }, {
    type: "scatter", mode: "markers", name: `g = ${groups}`, x: [groups], y: [selected.mac],
    marker: { size: 14, color: COLORS.bound, symbol: "diamond" }, hoverinfo: "skip",
  }];
  draw(el, traces, layout("Ten 1x1 group convs at fixed multiply-adds", {
    xaxis: { title: { text: "groups g" }, dtick: 1 },
    yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
    yaxis2: { title: { text: "multiply-adds" }, overlaying: "y", side: "right", rangemode: "tozero",
              showgrid: false, exponentformat: "SI" },
    margin: { l: 56, r: 56, t: 40, b: 56 },
  }));
}
