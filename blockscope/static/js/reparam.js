// Before/after reparameterization, to be read at a glance: both diagrams at one scale and one
// colour scale (side by side where both fit, stacked where they do not), every fused box marked
// and linked to the boxes it replaces (hover or focus one to light up the other side), each form's
// numbers, the equivalence figure max |diff|, the measured speedup with its interval, and (RepVGG)
// the fused kernel drawn as the sum of its branches on one colour scale, with channel axes.

import { heatmap } from "./charts.js";
import { metricMax, renderDiagram } from "./diagram.js";
import { el } from "./dom.js";
import { exact, human, micros } from "./format.js";
import { qualityNotes, speedVerdict } from "./latency.js";

const SIDE_TOTALS = [
  ["params", "Parameters"],
  ["madds", "Multiply-adds"],
  ["mac", "MAC (memory access cost)"],
];

const MIN_ZOOM = 0.8; // below this the labels get too small: the diagram scrolls instead
const GAP = 16;

// "rbr_dense.conv + rbr_dense.bn + rbr_identity -> rbr_reparam" -> {sources, target}
function parseFused(text) {
  const [left, target] = text.split("->").map((s) => s.trim());
  return { sources: left.split("+").map((s) => s.trim()), target };
}

// Node id -> mark, for both forms: the fused box (after) and each box it replaces (before), the
// branch sums that disappear with them included.
export function fuseMarks(report) {
  const before = new Map();
  const after = new Map();
  const afterIds = new Set(report.after.nodes.map((n) => n.id));
  for (const text of report.fused || []) {
    const { sources, target } = parseFused(text);
    const within = (module) => sources.some((s) => module === s || module.startsWith(`${s}.`));
    const members = report.before.nodes.filter((n) => n.module && within(n.module)).map((n) => n.id);
    // adds that only join members (RepVGG's branch sums) are folded with them
    for (const n of report.before.nodes) {
      if (n.op === "add" && !afterIds.has(n.id) && n.inputs.every((i) => members.includes(i)))
        members.push(n.id);
    }
    const fusedIds = report.after.nodes.filter((n) => n.module === target).map((n) => n.id);
    const title = `fused into ${target}: ${sources.join(" + ")}`;
    for (const id of members) before.set(id, { role: "source", key: target, text: "", title });
    for (const id of fusedIds) {
      after.set(id, { role: "fused", key: target, text: `fused ×${members.length}`, title });
    }
  }
  return { before, after };
}

function side(name, title, analysis, lat, options) {
  const totals = SIDE_TOTALS.map(([key, label]) => {
    const value = analysis.totals[key];
    const dd = el("dd", { "data-total": key, "data-value": value, title: human(value) }, exact(value));
    return el("div", {}, el("dt", {}, label), dd);
  });
  const text = lat
    ? `${micros(lat.total.median_us)} (95%: ${micros(lat.quality.ci95_us[0])}–` +
      `${micros(lat.quality.ci95_us[1])})`
    : "not measured";
  const latency = el("dd", { "data-total": "latency" }, text);
  totals.push(el("div", {}, el("dt", {}, "Latency (median)"), latency));
  const diagram = el("div", { class: "diagram", "data-role": "reparam-diagram" });
  const box = el("div", { class: "reparam-side", "data-side": name }, el("h3", {}, title));
  box.append(el("dl", { class: "mini-totals" }, totals), diagram);
  renderDiagram(diagram, analysis, options);
  return box;
}

// A kernel whose largest |w| is under this share of the shared scale's reads as nearly white there.
const FAINT = 0.15;

// The deploy form against the train-time form, timed in rounds: a verdict ("1.4× faster", "8% slower")
// only from clean data (latency.js's `speedVerdict`: neither form flagged `disturbed`, the speedup's
// 95% interval clear of 1); otherwise the page says it cannot judge, and shows the figures all the same.
export function speedupVerdict(lat) {
  const where = lat.before.device_label || lat.before.device;
  const verdict = speedVerdict(
    lat.comparison,
    [lat.before, lat.after],
    "the deploy form",
    "the train-time form",
  );
  return { judged: verdict.judged, text: `On ${where}, ${verdict.text}` };
}

function summary(report) {
  const lat = report.latency;
  const checked = report.max_abs_diff != null;
  const diff = el(
    "p",
    { "data-role": "max-abs-diff", "data-value": checked ? report.max_abs_diff : null },
    "Equivalence: max |y",
    el("sub", {}, "train"),
    " − y",
    el("sub", {}, "deploy"),
    "| = ",
    checked
      ? el("strong", {}, Number(report.max_abs_diff).toExponential(2))
      : el("em", { "data-role": "checking" }, "being checked on the server…"),
    " on a random input (float32; below 1e-4 means the same function).",
  );
  const box = el("div", { class: "reparam-summary" }, diff);
  if (report.fused?.length) {
    box.append(
      el("p", {}, "Folded (hover a marked box in either diagram to see the other side):"),
      el(
        "ul",
        { class: "fused" },
        report.fused.map((f) => el("li", { "data-fuse": parseFused(f).target }, f)),
      ),
    );
  }
  const button = el("button", {
    type: "button",
    "data-role": "measure-reparam",
    "data-again": lat ? "1" : null,
  });
  button.textContent = lat ? "Measure again" : "Measure both forms";
  const tools = el("div", { class: "toolbar" }, button);
  if (lat) {
    const c = lat.comparison;
    const verdict = speedupVerdict(lat);
    const attrs = {
      class: "speedup",
      "data-role": "speedup",
      "data-measurable": c ? String(c.measurable) : null,
      "data-judged": String(verdict.judged),
    };
    tools.append(el("span", attrs, verdict.text));
  }
  box.append(tools);
  if (lat) {
    const notes = [
      ...qualityNotes(lat.before, "Train-time form"),
      ...qualityNotes(lat.after, "Deploy-time form"),
    ];
    if (notes.length) box.append(el("div", { class: "quality", "data-role": "reparam-quality" }, notes));
  }
  return box;
}

const BRANCH_NAMES = { rbr_dense: "3×3 branch", rbr_1x1: "1×1 branch", rbr_identity: "identity branch" };
const partName = (name) => (name === "fused" ? "fused 3×3 (deploy)" : BRANCH_NAMES[name] || name);
const largest = (part) => Math.max(...part.weight.flat(3).map(Math.abs));

// A row of heatmaps joined by "+" and "=": the branches and their sum. `bound` is the shared colour
// scale's |top|; without it each heatmap is scaled to its own largest |w| and shows its own colour bar.
function kernelRow(parts, { bound = null, attr }) {
  const row = el("div", { class: "kernels" });
  const draws = [];
  parts.forEach(([name, part], i) => {
    if (i)
      row.append(
        el("span", { class: "kernel-op", "aria-hidden": "true" }, i === parts.length - 1 ? "=" : "+"),
      );
    const cell = el("div", { class: "chart kernel-chart", [attr]: name });
    row.append(cell);
    if (!part) {
      const why = "no identity branch when stride is 2 or the channels differ";
      cell.textContent = `${partName(name)}: absent here (${why}).`;
      return;
    }
    const top = largest(part);
    const folded = name === "fused" ? "" : ", BN folded";
    const title = bound
      ? `${partName(name)}${folded}: max |w| ${top.toFixed(3)}`
      : `${partName(name)}: own scale ±${top.toFixed(3)}`;
    draws.push(() =>
      heatmap(cell, part.weight, title, {
        bound: bound ?? top,
        showscale: !bound || name === "fused",
        compact: !bound,
      }),
    );
  });
  return { row, draws };
}

// The kernels as one equation: each branch (BN folded), summed, is the fused kernel; one colour scale,
// then the same equation with each kernel on its own scale, where a small branch shows its pattern.
function kernels(container, k) {
  const shown = k.truncated
    ? `, first ${k.slice.out_channels[1]} output and ${k.slice.in_channels_per_group[1]} input channels shown`
    : "";
  const note =
    `Kernels ${k.shape.join("×")} (output channels × input channels per group × 3 × 3)${shown}. Each 3×3 ` +
    "block is the kernel from input channel j (columns) to output channel o (rows), on one colour scale " +
    "for all four: the 1×1 branch lands on each block's centre, the identity on the diagonal blocks, and " +
    "their sum is the fused kernel. The fused bias is the sum of the branches' biases.";
  const parts = [...Object.entries(k.branches || {}), ["fused", k.fused]];
  const present = parts.filter(([, part]) => part);
  const bound = Math.max(...present.map(([, part]) => largest(part)), 1e-12);
  const shared = kernelRow(parts, { bound, attr: "data-kernel" });
  const own = kernelRow(parts, { attr: "data-kernel-own" });
  // how faint the faintest branch is on the shared scale, from the numbers drawn
  const [faintName, faint] = present
    .filter(([name]) => name !== "fused")
    .map(([name, part]) => [name, largest(part)])
    .reduce((a, b) => (b[1] < a[1] ? b : a), ["", Number.POSITIVE_INFINITY]);
  const ownNote = el(
    "p",
    { class: "hint", "data-role": "own-scale-note" },
    "The same kernels, each on its own colour scale (full colour = its own largest |w|): read the " +
      "pattern of each branch here, and how much each adds from the shared scale above.",
  );
  if (faintName) {
    // "nearly white" only where it is: under FAINT of the full colour
    const pale = faint / bound < FAINT ? ", so it looks nearly white there; it is not zero" : "";
    ownNote.append(
      ` On the shared scale the ${partName(faintName)} reaches ±${faint.toFixed(3)}, ` +
        `${((faint / bound) * 100).toFixed(1)}% of the full colour (±${bound.toFixed(3)})${pale}.`,
    );
  }
  container.append(
    el("h3", {}, "Fused kernel = sum of the branches"),
    el("p", { class: "hint" }, note),
    shared.row,
    el("h4", {}, "Each kernel on its own colour scale"),
    ownNote,
    own.row,
  );
  for (const draw of [...shared.draws, ...own.draws]) draw();
}

// Both diagrams at one zoom: side by side when both fit at MIN_ZOOM or more, else stacked.
function fit(pair) {
  const svgs = [...pair.querySelectorAll(".reparam-side svg")];
  if (svgs.length !== 2) return;
  const natural = svgs.map((s) => s.viewBox.baseVal.width);
  const heights = svgs.map((s) => s.viewBox.baseVal.height);
  const avail = pair.clientWidth;
  if (!avail) return;
  const together = (avail - GAP) / (natural[0] + natural[1]);
  const stacked = together < MIN_ZOOM;
  const zoom = stacked
    ? Math.max(MIN_ZOOM, Math.min(1, avail / Math.max(...natural)))
    : Math.min(1, together);
  const wasStacked = pair.classList.contains("stacked");
  pair.classList.toggle("stacked", stacked);
  pair.dataset.zoom = zoom.toFixed(4);
  svgs.forEach((s, i) => {
    s.setAttribute("width", String(Math.round(natural[i] * zoom)));
    s.setAttribute("height", String(Math.round(heights[i] * zoom)));
  });
  if (!stacked) {
    const cols = natural.map((w) => `${Math.max(200, Math.round(w * zoom))}px`);
    pair.style.gridTemplateColumns = cols.join(" ");
  } else {
    pair.style.gridTemplateColumns = "";
    // a diagram wider than the screen scrolls: start at its middle, where the input is
    if (!wasStacked) {
      for (const d of pair.querySelectorAll(".diagram")) d.scrollLeft = (d.scrollWidth - d.clientWidth) / 2;
    }
  }
}

function litNote(container, key) {
  const count = (side) =>
    container.querySelectorAll(`[data-side="${side}"] .node[data-fuse="${key}"]`).length;
  const before = count("before");
  const after = count("after");
  const boxes = (n) => (n === 1 ? "1 box" : `${n} boxes`);
  const into = `${boxes(after)} of the deploy form (${key})`;
  return `Lit up: ${boxes(before)} of the train-time form fold into ${into}.`;
}

// Hovering or focusing a marked box lights up every box with the same mark on both sides.
function link(container) {
  const note = container.querySelector("[data-role=fuse-note]");
  const light = (key, on) => {
    for (const node of container.querySelectorAll(`[data-fuse="${key}"]`))
      node.classList.toggle("linked", on);
    // the merge line is printed once, in the list (lit up with the boxes); the note counts the boxes
    if (note) note.textContent = on ? litNote(container, key) : "";
  };
  for (const node of container.querySelectorAll(".node[data-fuse]")) {
    const key = node.dataset.fuse;
    node.addEventListener("mouseenter", () => light(key, true));
    node.addEventListener("mouseleave", () => light(key, false));
    node.addEventListener("focus", () => light(key, true));
    node.addEventListener("blur", () => light(key, false));
  }
}

const observers = new WeakMap();

// The "Measure both forms" button it draws has data-role="measure-reparam"; the page listens for it.
export function renderReparam(container, report, { metric = "mac" } = {}) {
  const lat = report.latency || null;
  const marks = fuseMarks(report);
  const scaleMax = metricMax([report.before, report.after], metric) || 1;
  const pair = el(
    "div",
    { class: "reparam-pair" },
    side("before", "Train-time", report.before, lat?.before, { metric, scaleMax, marks: marks.before }),
    side("after", "Deploy-time", report.after, lat?.after, { metric, scaleMax, marks: marks.after }),
  );
  const legend = el(
    "p",
    { class: "hint" },
    `Both diagrams: one scale, and one colour scale (full colour = ${exact(scaleMax)}, ` +
      "the largest op of either " +
      "form). Dashed boxes are folded away; the thick box is what they fuse into.",
  );
  const fuseNote = el("p", { class: "fuse-note", "data-role": "fuse-note", "aria-live": "polite" });
  container.replaceChildren(summary(report), legend, pair, fuseNote);
  if (report.kernel) kernels(container, report.kernel);
  fit(pair);
  link(container);
  observers.get(container)?.disconnect();
  let width = pair.clientWidth;
  const observer = new ResizeObserver(() => {
    if (pair.clientWidth === width) return;
    width = pair.clientWidth;
    requestAnimationFrame(() => fit(pair)); // after this layout, never inside it
  });
  observer.observe(pair);
  observers.set(container, observer);
}
