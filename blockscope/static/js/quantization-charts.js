// The quantization page's charts: each activation's float32 and int8 curves, with the int8 error
// (int8 minus float32, in output steps) as its own plot under them, and latency bars (median, with
// the 95% interval) in float32 and int8.

import { INK, PRECISION_COLORS } from "./colors.js";
import { el } from "./dom.js";
import { plot, plotLayout } from "./plot.js";

const FLOAT = PRECISION_COLORS.float32;
const INT8 = PRECISION_COLORS.int8;

// int8 minus float32 at every input code, in steps of the output's grid: a fraction of a step is
// invisible on the curves themselves, which overlap at any size a page can give them.
export const errorSteps = (a) => a.curve.int8.map((v, i) => (v - a.curve.float32[i]) / a.output.scale);

// One small chart per activation: both curves on top, the error in steps below on the same x.
export function drawCurves(container, activations) {
  const charts = new Map([...container.children].map((c) => [c.dataset.name, c]));
  for (const a of activations) {
    let chart = charts.get(a.name);
    if (!chart) {
      chart = el("div", { class: "qz-curve", "data-name": a.name, role: "img" });
      container.append(chart);
    }
    chart.setAttribute(
      "aria-label",
      `${a.title}: float32 and int8 curves, and the int8 error in output steps against x`,
    );
    const how = a.native ? "integer kernels" : "float fallback";
    const error = errorSteps(a);
    plot(
      chart,
      [
        {
          x: a.curve.x,
          y: a.curve.int8,
          name: "int8",
          mode: "lines",
          line: { color: INT8, width: 2 },
        },
        {
          x: a.curve.x,
          y: a.curve.float32,
          name: "float32",
          mode: "lines",
          line: { color: FLOAT, width: 1, dash: "dot" },
        },
        {
          x: a.curve.x,
          y: error,
          name: "int8 − float32 (steps)",
          // one point per input code: the error jumps from code to code, a line would be a solid band
          mode: "markers",
          marker: { color: INT8, size: 3 },
          yaxis: "y2",
          showlegend: false,
          hovertemplate: "x = %{x}: %{y:.2f} steps<extra>int8 − float32</extra>",
        },
      ],
      plotLayout(
        `${a.title} · ${how} · error at most ${a.max_error_steps.toFixed(2)} steps, ` +
          `${a.mean_error_steps.toFixed(2)} on average`,
        {
          height: 380,
          margin: { l: 52, r: 10, t: 36, b: 70 },
          legend: { orientation: "h", y: -0.2 },
          xaxis: { title: { text: "input x" }, zeroline: true, anchor: "y2" },
          yaxis: { title: { text: "f(x)" }, zeroline: true, domain: [0.5, 1] },
          yaxis2: {
            title: { text: "int8 − float32<br>(steps)", font: { size: 11 } },
            zeroline: true,
            nticks: 5,
            domain: [0, 0.38],
            // symmetric about 0, and at least ±1 step, so a small error reads as small
            range: errorRange(error),
          },
        },
      ),
    );
  }
}

function errorRange(error) {
  const top = Math.max(1, ...error.map(Math.abs)) * 1.1;
  return [-top, top];
}

function bar(name, labels, timings, color) {
  const medians = timings.map((t) => t.total.median_us);
  return {
    type: "bar",
    name,
    x: labels,
    y: medians,
    marker: { color },
    error_y: {
      type: "data",
      symmetric: false,
      array: timings.map((t, i) => t.quality.ci95_us[1] - medians[i]),
      arrayminus: timings.map((t, i) => medians[i] - t.quality.ci95_us[0]),
      color: INK,
      thickness: 1,
    },
    hovertemplate: `%{x}: %{y:.1f} µs<extra>${name}</extra>`,
  };
}

// Grouped bars: float32 and int8 median latency of each entry {label, latency: {float32, int8}}.
export function drawSpeed(element, entries, title) {
  const timed = entries.filter((e) => e.latency);
  if (!timed.length) {
    element.textContent = "Not measured yet.";
    return;
  }
  if (!element.querySelector(".plot-container")) element.textContent = "";
  const labels = timed.map((e) => e.label);
  plot(
    element,
    [
      bar(
        "float32",
        labels,
        timed.map((e) => e.latency.float32),
        FLOAT,
      ),
      bar(
        "int8",
        labels,
        timed.map((e) => e.latency.int8),
        INT8,
      ),
    ],
    plotLayout(title, {
      barmode: "group",
      yaxis: { title: { text: "median latency (µs), 95% interval" }, rangemode: "tozero" },
    }),
  );
}
