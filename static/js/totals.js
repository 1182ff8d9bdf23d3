// Totals (always visible) and the side-by-side comparison with a standard convolution.

import { exact, human, micros, shape } from "./format.js";

export function renderTotals(root, analysis) {
  for (const dd of root.querySelectorAll("[data-total]")) {
    const value = analysis.totals[dd.dataset.total];
    if (value === undefined) continue;
    dd.dataset.value = String(value);
    dd.textContent = human(value);
    dd.title = `${exact(value)} exactly`;
  }
  const line = root.querySelector("[data-role=shapes]");
  if (line) {
    line.textContent = `Input ${shape(analysis.input_shape)} → output ${shape(analysis.output_shape)}; ` +
      `MAC in bytes (float32): ${human(analysis.totals.mac_bytes)}B.`;
  }
}

const ROWS = [
  ["params", "Parameters"],
  ["madds", "Multiply-adds"],
  ["mac", "MAC (memory access cost)"],
  ["elementwise", "Elementwise work"],
];

function ratio(a, b) {
  if (!b) return "–";
  if (!a) return "0";
  const r = a / b;
  return r >= 0.1 ? `${r.toFixed(2)}×` : `1/${(1 / r).toFixed(1)}`;
}

// `latency`: {block, conv} LatencyReports when measured, else null
export function renderCompare(container, block, conv, latency = null) {
  const table = document.createElement("table");
  table.className = "compare-table";
  const k = conv.config.kernel_size;
  table.innerHTML = `<caption>This block against a ${k}x${k} standard convolution (conv-bn-relu) with
    ${conv.config.in_channels} input and ${conv.config.out_channels} output channels, stride ${conv.config.stride},
    on the same input</caption><thead><tr><th scope="col">number</th><th scope="col">this block</th>
    <th scope="col">standard conv</th><th scope="col">ratio</th></tr></thead>`;
  const body = document.createElement("tbody");
  const row = (name, key, a, b, fmt) => {
    const tr = document.createElement("tr");
    tr.dataset.compare = key;
    for (const [text, attrs] of [[name, { scope: "row" }], [fmt(a), { "data-value": a }], [fmt(b), { "data-value": b }], [ratio(a, b), {}]]) {
      const cell = document.createElement(attrs.scope ? "th" : "td");
      for (const [k2, v] of Object.entries(attrs)) cell.setAttribute(k2, v);
      cell.textContent = text;
      tr.append(cell);
    }
    body.append(tr);
  };
  for (const [key, name] of ROWS) row(name, key, block.totals[key], conv.totals[key], (v) => `${human(v)} (${exact(v)})`);
  if (latency) row("Latency (median)", "latency", latency.block.total.median_us, latency.conv.total.median_us, micros);
  table.append(body);
  container.replaceChildren(table);
  if (!latency) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = "Latency: press “Measure latency” below to time both.";
    container.append(p);
  }
}
