// The guideline lab's Plotly charts: relative speed (here beside the paper), MAC against
// multiply-adds, and the G2 sweep. Defaults and colours are plot.js's and colors.js's.

import { INK, METRIC_COLORS, PAPER_COLORS, WARNING } from "./colors.js";
import { human } from "./format.js";
import { plot, plotLayout } from "./plot.js";

// The lab's counts are close to each other: two decimals (1.23 M) where the explorer shows one.
const count = (value) => human(value, 2);

// Long row names break at their hyphens so that category labels stay level and readable.
const tick = (label) =>
  label.length > 10 ? label.replace(/-(series|parallel)$/, "<br>$1").replace(/, /, ",<br>") : label;

const CATEGORY_AXIS = { tickangle: 0, automargin: true };
const MADDS_AXIS = {
  title: { text: "multiply-adds" },
  overlaying: "y",
  side: "right",
  rangemode: "tozero",
  showgrid: false,
  automargin: true,
  exponentformat: "SI",
};
const TWO_AXES_MARGIN = { l: 56, r: 56, t: 40, b: 64 };

function paperTrace(report, key, name, color) {
  return {
    type: "bar",
    name,
    x: report.rows.map((r) => tick(r.label)),
    y: report.rows.map((r) => r.relative_speed[key]),
    marker: { color },
    hovertemplate: `%{x}: %{y:.2f}×<extra>${name}</extra>`,
  };
}

export function speedChart(element, report) {
  const labels = report.rows.map((r) => tick(r.label));
  const traces = [];
  if (report.rows.every((r) => r.measured)) {
    const first = report.rows[0].measured.median_us;
    const y = report.rows.map((r) => r.relative_speed.measured);
    // a row timed while the server was busy is hatched and says so: its bar may be wrong
    const busy = report.rows.map((r) => Boolean(r.measured.quality?.disturbed));
    const anyBusy = busy.some(Boolean);
    traces.push({
      type: "bar",
      name: `This server (${report.device})${anyBusy ? "; hatched: timed while busy" : ""}`,
      x: labels,
      y,
      text: busy.map((b) => (b ? "busy" : "")),
      textposition: "outside",
      marker: {
        color: METRIC_COLORS.latency,
        pattern: { shape: busy.map((b) => (b ? "/" : "")), fgcolor: WARNING, solidity: 0.4 },
      },
      error_y: {
        type: "data",
        symmetric: false,
        array: report.rows.map((r, i) => first / r.measured.p25_us - y[i]),
        arrayminus: report.rows.map((r, i) => y[i] - first / r.measured.p75_us),
        color: INK,
      },
      hovertemplate: "%{x}: %{y:.2f}× the first row<extra>this server</extra>",
    });
  }
  if (report.rows.some((r) => r.relative_speed.paper_gpu != null)) {
    traces.push(paperTrace(report, "paper_gpu", "Paper, GTX 1080Ti", PAPER_COLORS.gpu));
  }
  if (report.rows.some((r) => r.relative_speed.paper_arm != null)) {
    const at = report.guideline === "g1" ? " (its own channel pairs)" : "";
    traces.push(paperTrace(report, "paper_arm", `Paper, Snapdragon 810${at}`, PAPER_COLORS.arm));
  }
  const empty = {
    text: "Not measured yet, and no published figures at this width",
    showarrow: false,
    xref: "paper",
    yref: "paper",
    x: 0.5,
    y: 0.5,
  };
  plot(
    element,
    traces,
    plotLayout("Speed relative to the first row (higher is faster)", {
      barmode: "group",
      xaxis: CATEGORY_AXIS,
      yaxis: { title: { text: "× first row" }, rangemode: "tozero" },
      annotations: traces.length ? [] : [empty],
      margin: { l: 56, r: 16, t: 40, b: 64 },
    }),
  );
}

export function macChart(element, report) {
  const labels = report.rows.map((r) => tick(r.label));
  const traces = [
    {
      type: "bar",
      name: "MAC (memory access cost)",
      x: labels,
      y: report.rows.map((r) => r.mac),
      marker: { color: METRIC_COLORS.mac },
      customdata: report.rows.map((r) => count(r.mac)),
      hovertemplate: "%{x}: MAC %{customdata} elements<extra></extra>",
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "multiply-adds (right axis)",
      x: labels,
      y: report.rows.map((r) => r.madds),
      yaxis: "y2",
      line: { color: METRIC_COLORS.madds, dash: "dot" },
      customdata: report.rows.map((r) => count(r.madds)),
      hovertemplate: "%{x}: %{customdata} multiply-adds<extra></extra>",
    },
  ];
  if (report.rows.every((r) => r.mac_lower_bound != null)) {
    traces.push({
      type: "scatter",
      mode: "lines+markers",
      name: "lower bound 2√(hwB) + B/hw",
      x: labels,
      y: report.rows.map((r) => r.mac_lower_bound),
      line: { color: INK, dash: "dash" },
      customdata: report.rows.map((r) => count(r.mac_lower_bound)),
      hovertemplate: "%{x}: MAC ≥ %{customdata}<extra>G1 bound</extra>",
    });
  }
  plot(
    element,
    traces,
    plotLayout("MAC and multiply-adds of the ten-unit network", {
      xaxis: CATEGORY_AXIS,
      yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
      yaxis2: MADDS_AXIS,
      margin: TWO_AXES_MARGIN,
    }),
  );
}

// Every group count labelled, so no point is read as its neighbour: where the labels would run into
// each other (a phone), every other one drops to a second line.
function everyGroupLabelled(element, g) {
  const plotWidth = Math.max(120, (element.clientWidth || 480) - TWO_AXES_MARGIN.l - TWO_AXES_MARGIN.r - 40);
  const digits = Math.max(...g.map((v) => String(v).length));
  const crowded = plotWidth / Math.max(1, g.length - 1) < (digits + 1) * 8;
  const ticktext = g.map((v, i) => (crowded && i % 2 ? `<br>${v}` : String(v)));
  return { axis: { tickvals: g, ticktext, tickangle: 0 }, lines: crowded ? 2 : 1 };
}

export function sweepChart(element, sweep, groups) {
  const g = sweep.points.map((p) => p.groups);
  const selected = sweep.points[groups - 1];
  const traces = [
    {
      type: "scatter",
      mode: "lines+markers",
      name: "MAC (memory access cost)",
      x: g,
      y: sweep.points.map((p) => p.mac),
      line: { color: METRIC_COLORS.mac },
      customdata: sweep.points.map((p) => [p.channels, count(p.mac)]),
      hovertemplate: "g=%{x}, c=%{customdata[0]}: MAC %{customdata[1]}<extra></extra>",
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "multiply-adds (right axis)",
      x: g,
      y: sweep.points.map((p) => p.madds),
      yaxis: "y2",
      line: { color: METRIC_COLORS.madds, dash: "dot" },
      customdata: sweep.points.map((p) => count(p.madds)),
      hovertemplate: "g=%{x}: %{customdata} multiply-adds<extra></extra>",
    },
    {
      type: "scatter",
      mode: "markers",
      name: `g = ${groups}`,
      x: [groups],
      y: [selected.mac],
      marker: { size: 14, color: INK, symbol: "diamond" },
      hoverinfo: "skip",
    },
  ];
  const labels = everyGroupLabelled(element, g);
  const lower = 16 * (labels.lines - 1); // px the second line of labels takes
  plot(
    element,
    traces,
    plotLayout("Ten 1x1 group convs at fixed multiply-adds", {
      xaxis: { title: { text: "groups g", standoff: 8 + lower }, automargin: true, ...labels.axis },
      yaxis: { title: { text: "MAC (elements)" }, rangemode: "tozero" },
      yaxis2: MADDS_AXIS,
      margin: { ...TWO_AXES_MARGIN, b: TWO_AXES_MARGIN.b + lower },
      height: 320 + lower,
      legend: { orientation: "h", y: labels.lines > 1 ? -0.42 : -0.25 },
    }),
  );
}
