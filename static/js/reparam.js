// Before/after reparameterization: both diagrams side by side, each form's numbers, the equivalence
// figure max |diff|, and (RepVGG) the merged 3x3 kernel with its branches as heatmaps.

import { heatmap } from "./charts.js";
import { renderDiagram } from "./diagram.js";
import { el } from "./dom.js";
import { exact, human, micros } from "./format.js";

// weight[o][j][3][3] tiled into one matrix: row block o, column block j, a blank line between blocks
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

const SIDE_TOTALS = [
  ["params", "Parameters"],
  ["madds", "Multiply-adds"],
  ["mac", "MAC (memory access cost)"],
];

function side(name, title, analysis, lat, metric) {
  const totals = SIDE_TOTALS.map(([key, label]) => {
    const value = analysis.totals[key];
    const dd = el("dd", { "data-total": key, "data-value": value, title: exact(value) }, human(value));
    return el("div", {}, el("dt", {}, label), dd);
  });
  const latency = el("dd", { "data-total": "latency" }, lat ? micros(lat.total.median_us) : "not measured");
  totals.push(el("div", {}, el("dt", {}, "Latency (median)"), latency));
  const diagram = el("div", { class: "diagram", "data-role": "reparam-diagram" });
  const box = el("div", { class: "reparam-side", "data-side": name }, el("h3", {}, title));
  box.append(el("dl", { class: "mini-totals" }, totals), diagram);
  renderDiagram(diagram, analysis, { metric });
  return box;
}

function summary(report) {
  const lat = report.latency;
  const diff = el(
    "p",
    { "data-role": "max-abs-diff", "data-value": report.max_abs_diff },
    "Equivalence: max |y",
    el("sub", {}, "train"),
    " − y",
    el("sub", {}, "deploy"),
    "| = ",
    el("strong", {}, Number(report.max_abs_diff).toExponential(2)),
    " on a random input (float32; below 1e-4 means the same function).",
  );
  const box = el("div", { class: "reparam-summary" }, diff);
  if (report.fused?.length) {
    box.append(
      el("p", {}, "Folded:"),
      el(
        "ul",
        { class: "fused" },
        report.fused.map((f) => el("li", {}, f)),
      ),
    );
  }
  const button = el("button", { type: "button", "data-role": "measure-reparam" });
  button.textContent = lat ? "Measure again" : "Measure both forms";
  const tools = el("div", { class: "toolbar" }, button);
  if (lat) {
    const where = lat.before.device_label || lat.before.device;
    const text = `Deploy form is ${lat.speedup.toFixed(2)}× as fast (${where}).`;
    tools.append(el("span", { class: "speedup", "data-role": "speedup" }, text));
  }
  box.append(tools);
  return box;
}

function kernels(container, k) {
  const shown = k.truncated
    ? `, first ${k.slice.out_channels[1]} outputs and ${k.slice.in_channels_per_group[1]} inputs shown`
    : "";
  const note =
    `Kernels ${k.shape.join("×")} (output × input per group × 3 × 3)${shown}: each 3×3 cell is the ` +
    "kernel from input j (columns) to output o (rows). The fused kernel is the sum of the branches: " +
    "the 1x1 lands on the centre, the identity on the diagonal.";
  const parts = [["fused", k.fused], ...Object.entries(k.branches || {})];
  // all cells in the grid first, so that each chart is drawn at its final width
  const cells = parts.map(([name]) => el("div", { class: "chart kernel-chart", "data-kernel": name }));
  container.append(
    el("h3", {}, "Merged kernel"),
    el("p", { class: "hint" }, note),
    el("div", { class: "kernels" }, cells),
  );
  for (const [i, [name, part]] of parts.entries()) {
    if (part)
      heatmap(cells[i], tile(part.weight), name === "fused" ? "Fused 3x3 (deploy)" : `${name} (BN folded)`);
    else
      cells[i].textContent = `${name}: absent here (no identity branch when stride is 2 or channels differ).`;
  }
}

// The "Measure both forms" button it draws has data-role="measure-reparam"; the page listens for it.
export function renderReparam(container, report, { metric = "mac" } = {}) {
  const lat = report.latency || null;
  const pair = el(
    "div",
    { class: "reparam-pair" },
    side("before", "Train-time", report.before, lat?.before, metric),
    side("after", "Deploy-time", report.after, lat?.after, metric),
  );
  container.replaceChildren(summary(report), pair);
  if (report.kernel) kernels(container, report.kernel);
}
