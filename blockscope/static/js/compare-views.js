// What /compare draws from the server's comparison: both diagrams at one scale, the totals with their
// ratios, the course preset's claim beside what this server computed and measured, the latency ratio
// with its interval, both sides' roofline dots in one chart, and the ops paired. Every sentence is the
// server's (blockscope/comparisons.py) or computed here from the figures shown beside it.

import { metricMax, renderDiagram } from "./diagram.js";
import { el } from "./dom.js";
import { exact, human, micros, shape } from "./format.js";
import { howMeasured, medianWithInterval, qualityNotes } from "./latency.js";
import { renderStages } from "./network-diagram.js";

const TOTAL_ROWS = [
  ["params", "Parameters"],
  ["madds", "Multiply-adds"],
  ["mac", "MAC (memory access cost)"],
  ["mac_bytes", "MAC in bytes (float32)"],
  ["elementwise", "Elementwise work"],
  ["weights", "of MAC: the weights"],
  ["activations", "of MAC: the feature maps"],
];

// a / b as a student reads it: "8.69", "0.48", "–"
export const ratioText = (r) =>
  r == null ? "–" : r >= 10 ? r.toFixed(1) : r >= 0.01 || r === 0 ? r.toFixed(2) : r.toPrecision(3);
const signed = (v) => (v > 0 ? `+${exact(v)}` : v < 0 ? `−${exact(-v)}` : "0");

// --- diagrams ---------------------------------------------------------------------------------------

const MIN_ZOOM = 0.45;

// Both block diagrams at one zoom (and one colour scale), each as wide as its column allows.
export function renderDiagrams(containers, data, note) {
  const sides = [data.a, data.b];
  const blocks = sides.map((s) => s.analysis).filter(Boolean);
  const scaleMax = metricMax(blocks, "mac") || 1;
  sides.forEach((s, i) => {
    const box = containers[i];
    if (s.analysis) renderDiagram(box, s.analysis, { metric: "mac", scaleMax });
    else renderStages(box, s.network);
  });
  fitDiagrams(containers);
  note.textContent =
    blocks.length === 2
      ? `Both diagrams are drawn at one scale, coloured by MAC (memory access cost) on one colour scale ` +
        `(full colour = ${exact(scaleMax)} elements, the largest op of either side).`
      : "A whole network is drawn stage by stage: each box as tall as its output is wide, with its share " +
        "of the multiply-adds.";
}

// One zoom for both: the largest that lets each diagram fit its column, but never below MIN_ZOOM
// (a diagram wider than that scrolls sideways).
export function fitDiagrams(containers) {
  const svgs = containers.map((c) => c.querySelector("svg.block-diagram"));
  if (svgs.some((s) => !s)) return;
  const natural = svgs.map((s) => s.viewBox.baseVal.width);
  const heights = svgs.map((s) => s.viewBox.baseVal.height);
  const room = Math.min(...containers.map((c, i) => (c.clientWidth || 1) / natural[i]));
  const zoom = Math.max(MIN_ZOOM, Math.min(1, room));
  svgs.forEach((s, i) => {
    s.setAttribute("width", String(Math.round(natural[i] * zoom)));
    s.setAttribute("height", String(Math.round(heights[i] * zoom)));
    s.parentElement.dataset.zoom = zoom.toFixed(3);
  });
}

// --- totals -----------------------------------------------------------------------------------------

export function renderTotals(root, list, data) {
  const head = el(
    "tr",
    {},
    el("th", { scope: "col" }, "Total"),
    el("th", { scope: "col", class: "num" }, "A"),
    el("th", { scope: "col", class: "num" }, "B"),
    el("th", { scope: "col", class: "num" }, "B − A"),
    el("th", { scope: "col", class: "num", title: "A's total over B's" }, "A / B"),
  );
  const rows = TOTAL_ROWS.map(([key, label]) => {
    const d = data.diff[key];
    const cell = (v, side) =>
      el("td", { class: "num", "data-label": side }, exact(v), el("small", {}, human(v)));
    return el(
      "tr",
      { "data-total": key },
      el("th", { scope: "row" }, label),
      cell(d.a, "A"),
      cell(d.b, "B"),
      el("td", { class: "num", "data-label": "B − A" }, signed(d.delta)),
      el(
        "td",
        { class: "num ratio", "data-label": "A / B", "data-ratio": d.ratio ?? "" },
        ratioText(d.ratio),
      ),
    );
  });
  root.replaceChildren(
    el("table", { class: "cmp-table cmp-totals" }, el("thead", {}, head), el("tbody", {}, ...rows)),
  );
  list.replaceChildren(...data.sentences.map((s) => el("li", {}, s)));
}

// --- the preset's claim against this server ----------------------------------------------------------

export function renderClaim(root, data) {
  const p = data.preset;
  root.hidden = !p;
  if (!p) {
    root.replaceChildren();
    return;
  }
  const measured = data.latency
    ? p.measured
    : "Not measured yet: press “Measure both” to set this server's timing beside the claim.";
  root.replaceChildren(
    el("h2", {}, p.title),
    el(
      "div",
      { class: "cmp-claim-grid" },
      el(
        "div",
        { class: "cmp-claim-side" },
        el("h3", {}, "The claim"),
        el("p", { "data-role": "claim-text" }, p.claim),
        el("p", { class: "hint" }, `Source: ${p.source}`),
      ),
      el(
        "div",
        { class: "cmp-claim-side" },
        el("h3", {}, "What this server computed and measured"),
        el("p", { "data-role": "claim-counted" }, p.counted),
        el("p", { "data-role": "claim-measured" }, measured),
      ),
    ),
  );
}

// --- latency ----------------------------------------------------------------------------------------

const inside = (ci) => ci[0] != null && ci[1] != null && ci[0] <= 1 && 1 <= ci[1];

export function renderLatency(root, data) {
  const lat = data.latency;
  if (!lat) {
    root.replaceChildren(el("p", { class: "hint" }, "Not measured yet."));
    return;
  }
  const ci = lat.ratio_ci95;
  const headline = lat.disturbed
    ? "Measured while the machine was busy: no verdict"
    : !lat.measurable || inside(ci)
      ? "No measurable difference"
      : lat.ratio > 1
        ? "B is faster"
        : "A is faster";
  root.replaceChildren(
    el(
      "p",
      { class: "cmp-ratio", "data-role": "ratio" },
      el("strong", {}, headline),
      ` · time of A over B ${ratioText(lat.ratio)} (95% interval ${ratioText(ci[0])} to ${ratioText(ci[1])})`,
    ),
    el("p", { "data-role": "latency-sentence" }, lat.sentence),
    el(
      "dl",
      { class: "cmp-medians" },
      el("dt", {}, "A, end to end"),
      el("dd", {}, medianWithInterval(lat.a)),
      el("dt", {}, "B, end to end"),
      el("dd", {}, medianWithInterval(lat.b)),
    ),
    ...qualityNotes(lat.a, "A"),
    ...qualityNotes(lat.b, "B"),
    el("p", { class: "hint" }, `Measured on ${howMeasured(lat.a)}; both in one job, in alternating rounds.`),
    ...(lat.per_node
      ? []
      : [
          el(
            "p",
            { class: "hint", "data-role": "no-per-node" },
            "Timing every op alone as well would have taken longer than one measurement may: both sides " +
              "were timed end to end only.",
          ),
        ]),
  );
}

// --- the ops, paired --------------------------------------------------------------------------------

export function renderPairs(root, data) {
  const timed = Boolean(data.latency?.per_node);
  const head = el(
    "tr",
    {},
    el("th", { scope: "col" }, "A"),
    el("th", { scope: "col" }, "B"),
    el("th", { scope: "col" }, "Paired by"),
    el("th", { scope: "col", class: "num" }, "Multiply-adds A → B"),
    el("th", { scope: "col", class: "num" }, "MAC A → B"),
    timed ? el("th", { scope: "col", class: "num" }, "Time alone A → B") : null,
  );
  const op = (id, kind) => (id ? el("span", {}, el("code", {}, id), el("small", {}, ` ${kind}`)) : "—");
  const pair = (c) => `${human(c.a)} → ${human(c.b)}`;
  const rows = data.pairs.map((p) =>
    el(
      "tr",
      { "data-match": p.match ?? "one-side" },
      el("td", { "data-label": "A" }, op(p.a, p.op_a)),
      el("td", { "data-label": "B" }, op(p.b, p.op_b)),
      el(
        "td",
        { "data-label": "Paired by" },
        p.match === "name" ? "name" : p.match === "role" ? "kind of op" : p.a ? "A only" : "B only",
      ),
      el("td", { class: "num", "data-label": "Multiply-adds" }, pair(p.counts.madds)),
      el("td", { class: "num", "data-label": "MAC" }, pair(p.counts.mac)),
      timed
        ? el(
            "td",
            { class: "num", "data-label": "Time alone" },
            `${micros(p.latency_us?.a)} → ${micros(p.latency_us?.b)}`,
          )
        : null,
    ),
  );
  const table = el(
    "table",
    { class: "cmp-table cmp-pairs" },
    el("thead", {}, head),
    el("tbody", {}, ...rows),
  );
  if (data.pairs.length <= LONG) {
    root.replaceChildren(table);
    return;
  }
  // a whole network's hundreds of ops: counted in the summary, listed on request
  const count = (match) => data.pairs.filter((p) => p.match === match).length;
  const summary =
    `${data.pairs.length} rows: ${count("name")} ops paired by name, ${count("role")} by kind of op, ` +
    `${count(null)} on one side only (show them)`;
  root.replaceChildren(el("details", { class: "cmp-long" }, el("summary", {}, summary), table));
}

const LONG = 40; // pairs beyond which the table starts folded

export const shapeLine = (side) =>
  `input ${shape(side.input_shape)} → output ${shape((side.analysis ?? side.network).output_shape)}`;
