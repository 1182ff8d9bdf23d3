// The quantization page's charts: each activation's float32 and int8 curves with the error shaded
// between them, and latency bars (median, with the 95% interval) in float32 and int8.

import { INK, PRECISION_COLORS, translucent } from "./colors.js";
import { el } from "./dom.js";
import { plot, plotLayout } from "./plot.js";

const FLOAT = PRECISION_COLORS.float32;
const INT8 = PRECISION_COLORS.int8;
const ERROR_FILL = translucent(INT8, 0.25);

// One small chart per activation: the int8 trace fills to the float32 trace drawn before it.
export function drawCurves(container, activations) {
  const charts = new Map([...container.children].map((c) => [c.dataset.name, c]));
  for (const a of activations) {
    let chart = charts.get(a.name);
    if (!chart) {
      chart = el("div", { class: "qz-curve", "data-name": a.name, role: "img" });
      container.append(chart);
    }
    chart.setAttribute("aria-label", `${a.title}: float32 and int8 curves`);
    const how = a.native ? "integer kernels" : "float fallback";
    plot(
      chart,
      [
        // the float32 curve twice: under the int8 curve as the edge its error fills to, and on top
        {
          x: a.curve.x,
          y: a.curve.float32,
          mode: "lines",
          line: { width: 0 },
          showlegend: false,
          hoverinfo: "skip",
        },
        {
          x: a.curve.x,
          y: a.curve.int8,
          name: "int8 (error shaded)",
          mode: "lines",
          line: { color: INT8, width: 2 },
          fill: "tonexty",
          fillcolor: ERROR_FILL,
        },
        {
          x: a.curve.x,
          y: a.curve.float32,
          name: "float32",
          mode: "lines",
          line: { color: FLOAT, width: 1, dash: "dot" },
        },
      ],
      plotLayout(`${a.title} · ${how} · max error ${a.max_error_steps.toFixed(2)} steps`, {
        height: 260,
        margin: { l: 48, r: 10, t: 36, b: 70 },
        legend: { orientation: "h", y: -0.32 },
        xaxis: { title: { text: "input x" }, zeroline: true },
        yaxis: { title: { text: "f(x)" }, zeroline: true },
      }),
    );
  }
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
