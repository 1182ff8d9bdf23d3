// Totals (always visible) and the side-by-side comparison with a standard convolution.

import { metricColor } from "./colors.js";
import { el } from "./dom.js";
import { exact, human, micros, shape } from "./format.js";

export function renderTotals(root, analysis) {
  for (const dd of root.querySelectorAll("[data-total]")) {
    const value = analysis.totals[dd.dataset.total];
    if (value === undefined) continue;
    dd.dataset.value = String(value);
    dd.textContent = human(value);
    dd.title = `${exact(value)} exactly`;
    dd.parentElement.style.setProperty("--metric", metricColor(dd.dataset.total)); // the total's frame
  }
  const line = root.querySelector("[data-role=shapes]");
  if (line) {
    line.textContent =
      `Input ${shape(analysis.input_shape)} → output ${shape(analysis.output_shape)}; ` +
      `MAC in bytes (float32): ${human(analysis.totals.mac_bytes)}B.`;
  }
}

const ROWS = [
  ["params", "Parameters"],
  ["madds", "Multiply-adds"],
  ["mac", "MAC (memory access cost)"],
  ["elementwise", "Elementwise work"],
];

// "0.42×" or, below a tenth, "1/37.0"
function ratioText(a, b) {
  if (!b) return "–";
  if (!a) return "0";
  const r = a / b;
  return r >= 0.1 ? `${r.toFixed(2)}×` : `1/${(1 / r).toFixed(1)}`;
}

function compareRow(key, name, a, b, fmt) {
  return el(
    "tr",
    { "data-compare": key },
    el("th", { scope: "row" }, name),
    el("td", { "data-value": a }, fmt(a)),
    el("td", { "data-value": b }, fmt(b)),
    el("td", {}, ratioText(a, b)),
  );
}

// `latency`: {block, conv} LatencyReports when measured, else null
export function renderCompare(container, block, conv, latency = null) {
  const { kernel_size: k, in_channels, out_channels, stride } = conv.config;
  const caption =
    `This block against a ${k}x${k} standard convolution (conv-bn-relu) with ${in_channels} input ` +
    `and ${out_channels} output channels, stride ${stride}, on the same input`;
  const head = ["number", "this block", "standard conv", "ratio"].map((text) =>
    el("th", { scope: "col" }, text),
  );
  const count = (v) => `${human(v)} (${exact(v)})`;
  const rows = ROWS.map(([key, name]) => compareRow(key, name, block.totals[key], conv.totals[key], count));
  if (latency) {
    const [a, b] = [latency.block.total.median_us, latency.conv.total.median_us];
    rows.push(compareRow("latency", "Latency (median)", a, b, micros));
  }
  const table = el(
    "table",
    { class: "compare-table" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, rows),
  );
  const hint = !latency && el("p", { class: "hint" }, "Latency: press “Measure latency” below to time both.");
  container.replaceChildren(...[table, hint].filter(Boolean));
}
