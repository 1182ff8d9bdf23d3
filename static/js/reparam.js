// Before/after reparameterization: both diagrams side by side, each form's numbers, the equivalence
// figure max |diff|, and (RepVGG) the merged 3x3 kernel with its branches as heatmaps.

import { renderDiagram } from "./diagram.js";
import { exact, human, micros } from "./format.js";
import { heatmap } from "./charts.js";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// weight[o][j][3][3] tiled into one matrix: row block o, column block j, a blank line between blocks
export function tile(weight) {
  const rows = [];
  weight.forEach((perOut, o) => {
    if (o) rows.push(null);
    const kh = perOut[0].length;
    for (let r = 0; r < kh; r++) {
      const row = [];
      perOut.forEach((k, j) => { if (j) row.push(null); row.push(...k[r]); });
      rows.push(row);
    }
  });
  const width = Math.max(...rows.filter(Boolean).map((r) => r.length));
  return rows.map((r) => r || new Array(width).fill(null));
}

function side(title, analysis, lat, metric) {
  const box = el("div", { class: "reparam-side", "data-side": title.startsWith("Train") ? "before" : "after" });
  box.append(el("h3", {}, title));
  const dl = el("dl", { class: "mini-totals" });
  for (const [key, name] of [["params", "Parameters"], ["madds", "Multiply-adds"], ["mac", "MAC (memory access cost)"]]) {
    const d = el("div");
    d.append(el("dt", {}, name), el("dd", { "data-total": key, "data-value": String(analysis.totals[key]), title: exact(analysis.totals[key]) }, human(analysis.totals[key])));
    dl.append(d);
  }
  const d = el("div");
  d.append(el("dt", {}, "Latency (median)"), el("dd", { "data-total": "latency" }, lat ? micros(lat.total.median_us) : "not measured"));
  dl.append(d);
  const diagram = el("div", { class: "diagram", "data-role": "reparam-diagram" });
  box.append(dl, diagram);
  renderDiagram(diagram, analysis, { metric });
  return box;
}

export function renderReparam(container, report, { metric = "mac", onMeasure } = {}) {
  const lat = report.latency || null;
  const summary = el("div", { class: "reparam-summary" });
  const diff = el("p", { "data-role": "max-abs-diff", "data-value": String(report.max_abs_diff) });
  diff.innerHTML = "Equivalence: max |y<sub>train</sub> − y<sub>deploy</sub>| = ";
  diff.append(el("strong", {}, Number(report.max_abs_diff).toExponential(2)), " on a random input (float32; below 1e-4 means the same function).");
  summary.append(diff);
  if (report.fused?.length) {
    const ul = el("ul", { class: "fused" });
    for (const f of report.fused) ul.append(el("li", {}, f));
    summary.append(el("p", {}, "Folded:"), ul);
  }
  const tools = el("div", { class: "toolbar" });
  const button = el("button", { type: "button", "data-role": "measure-reparam" }, lat ? "Measure again" : "Measure both forms");
  button.addEventListener("click", () => onMeasure && onMeasure());
  tools.append(button);
  if (lat) tools.append(el("span", { class: "speedup", "data-role": "speedup" }, `Deploy form is ${lat.speedup.toFixed(2)}× as fast (${lat.before.device_label || lat.before.device}).`));
  summary.append(tools);
  const pair = el("div", { class: "reparam-pair" });
  pair.append(side("Train-time", report.before, lat?.before, metric), side("Deploy-time", report.after, lat?.after, metric));
  container.replaceChildren(summary, pair);
  if (report.kernel) {
    const k = report.kernel;
    const grid = el("div", { class: "kernels" });
    const note = el("p", { class: "hint" },
      `Kernels ${k.shape.join("×")} (output × input per group × 3 × 3)${k.truncated ? `, first ${k.slice.out_channels[1]} outputs and ${k.slice.in_channels_per_group[1]} inputs shown` : ""}: each 3×3 cell is the kernel from input j (columns) to output o (rows). The fused kernel is the sum of the branches: the 1x1 lands on the centre, the identity on the diagonal.`);
    container.append(el("h3", {}, "Merged kernel"), note, grid);
    const parts = [["fused", k.fused], ...Object.entries(k.branches || {})];
    // all cells in the grid first, so that each chart is drawn at its final width
    const cells = parts.map(([name]) => grid.appendChild(el("div", { class: "chart kernel-chart", "data-kernel": name })));
    for (const [i, [name, part]] of parts.entries()) {
      const cell = cells[i];
      if (part) heatmap(cell, tile(part.weight), name === "fused" ? "Fused 3x3 (deploy)" : `${name} (BN folded)`);
      else cell.textContent = `${name}: absent here (no identity branch when stride is 2 or channels differ).`;
    }
  }
}
