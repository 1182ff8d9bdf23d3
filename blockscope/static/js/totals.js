// Totals (always visible) with their change against a reference block (the same block at g = 1, its
// deployed form, a standard convolution: the lesson's), the kind's lesson, the compact totals kept
// beside the controls on a narrow screen, and the side-by-side comparison with a standard convolution.

import { metricColor } from "./colors.js";
import { el } from "./dom.js";
import { exact, human, micros, shape, signedPercent } from "./format.js";
import { medianVerdict } from "./latency.js";

// A change as a signed percentage ("−2.9%", "+0.02%"); from zero, the amount itself ("+200,704").
function changeText(before, value) {
  // a change under 0.1% keeps two decimals, as the lesson's sentences do (never "±0.0%" for a change)
  if (before) return signedPercent(value / before - 1, Math.abs(value / before - 1) < 0.001 ? 2 : 1);
  return value ? `+${exact(value)}` : "±0";
}

// `reference`: {analysis, label} (label as in "−2.9% vs g=1"), or null where there is none.
export function renderTotals(root, analysis, reference = null) {
  for (const dd of root.querySelectorAll("[data-total]")) {
    const key = dd.dataset.total;
    const value = analysis.totals[key];
    if (value === undefined) continue;
    dd.dataset.value = String(value);
    dd.textContent = exact(value);
    dd.title = `${human(value)}; ${exact(value)} exactly`;
    const total = dd.parentElement;
    total.style.setProperty("--metric", metricColor(key)); // the total's frame
    let delta = total.querySelector(`[data-delta="${key}"]`);
    if (!delta) {
      delta = el("p", { class: "delta", "data-delta": key });
      dd.after(delta);
    }
    const before = reference?.analysis?.totals[key];
    delta.hidden = before === undefined;
    if (before !== undefined) {
      const ratio = before ? value / before - 1 : 0;
      delta.textContent =
        (reference.same ?? reference.analysis === analysis)
          ? `the ${reference.label} block itself`
          : `${changeText(before, value)} vs ${reference.label} (${exact(before)})`;
      delta.dataset.value = String(ratio);
    }
  }
  const line = root.querySelector("[data-role=shapes]");
  if (line) {
    line.textContent =
      `Input ${shape(analysis.input_shape)} → output ${shape(analysis.output_shape)}; ` +
      `MAC in bytes (float32): ${exact(analysis.totals.mac_bytes)} B (${human(analysis.totals.mac_bytes)}B).`;
  }
}

// MAC split into weights (each op reads its parameters once) and activations (feature maps read
// and written): grouping shrinks the first, widening grows the second.
export function macParts(analysis) {
  const weights = analysis.nodes.reduce((sum, n) => sum + (n.params || 0), 0);
  return { weights, activations: analysis.totals.mac - weights };
}

// How `after` compares with `before`, from the numbers themselves (blockscope/wording.py's
// `direction`, and the amounts of blockscope/lessons.py's `amount`: the page and the server agree).
export function direction(before, after, up = "rose", down = "fell", same = "unchanged") {
  if (after > before) return up;
  if (after < before) return down;
  return same;
}

export function amount(before, after) {
  if (!before || !after) return before ? "100.0%" : "";
  const r = after / before;
  if (r >= 2) return `${r.toFixed(1)}×`;
  if (r <= 0.5) return `${(1 / r).toFixed(1)}×`;
  const pct = Math.abs(r - 1) * 100;
  if (pct < 0.01) return "less than 0.01%";
  return pct < 0.1 ? `${pct.toFixed(2)}%` : `${pct.toFixed(1)}%`;
}

// "MAC rose 12.0% (1,241,216 → 1,390,080)", "multiply-adds unchanged (512)"
export function moveText(label, before, after) {
  const word = direction(before, after);
  if (word === "unchanged") return `${label} unchanged (${exact(after)})`;
  const how = amount(before, after);
  return `${label} ${word}${how ? ` ${how}` : ""} (${exact(before)} → ${exact(after)})`;
}

// ShuffleNet V2's G2 in the explorer ("keep multiply-adds fixed"): the widened block against the
// g = 1 block it was widened from, every direction word computed from the numbers.
// ctx: {param (the group parameter), g, widen (names)}.
export function fixedSentence(analysis, reference, ctx) {
  const p = ctx.param;
  const parts = macParts(analysis);
  const refParts = macParts(reference);
  if (analysis === reference || ctx.g === 1) {
    return (
      `At ${p} = 1 the multiply-adds are the ones held. Move ${p}: the channels widen so that the ` +
      `multiply-adds stay, and the MAC of the wider feature maps shows what G2 is about.`
    );
  }
  const widened = (ctx.widen || [])
    .map((name) => `${name} ${reference.config[name]} → ${analysis.config[name]}`)
    .join(", ");
  const mac = direction(reference.totals.mac, analysis.totals.mac);
  const verdict =
    mac === "rose"
      ? "as ShuffleNet V2's G2 says: at equal multiply-adds, more groups cost more memory access."
      : "which G2 does not predict at this setting: look at the weights' share.";
  return (
    `From ${p} = 1 to ${p} = ${ctx.g}, the multiply-adds stay within ` +
    `${signedPercent(analysis.totals.madds / reference.totals.madds - 1)} because the channels widen ` +
    `(${widened}). ${moveText("The weights' MAC", refParts.weights, parts.weights)}, ` +
    `${moveText("the activations' MAC", refParts.activations, parts.activations)}, ` +
    `so ${moveText("MAC", reference.totals.mac, analysis.totals.mac)}, ${verdict}`
  );
}

// The kind's lesson (blockscope/lessons.py, filled in by the server from this analysis): its claim,
// then its sentences; `extra`, a sentence of the page's own (G2 at fixed multiply-adds), first.
export function renderLesson(container, analysis, extra = null) {
  const lesson = analysis.lesson;
  const sentences = [extra, ...(lesson?.sentences ?? [])].filter(Boolean);
  container.hidden = !lesson && !extra;
  container.replaceChildren(
    ...(lesson ? [el("p", { class: "lesson-claim" }, el("strong", {}, "Lesson: "), lesson.claim)] : []),
    ...sentences.map((text) => el("p", { class: "lesson-sentence", "data-role": "lesson-sentence" }, text)),
    ...(lesson ? [el("p", { class: "lesson-source" }, `Source: ${lesson.source}.`)] : []),
  );
}

// The reference the totals' changes are given against: with multiply-adds held, the g = 1 block the
// channels were widened from; otherwise the lesson's own (the same block at g = 1, the deployed form,
// a standard convolution), or the page's g = 1 block when the lesson has none.
export function totalsReference(spec, state) {
  const ref = state.analysis?.lesson?.reference;
  if (!state.fixed && ref) return { analysis: { totals: ref.totals }, label: ref.label, same: ref.same };
  return state.reference ? { analysis: state.reference, label: `${spec.group_param}=1` } : null;
}

// The compact totals kept beside the controls on a narrow screen (explorer.css shows them there):
// every slider move is seen where it is made.
export function renderSummary(container, analysis, reference = null) {
  if (!container) return;
  const items = ROWS.filter(([key]) => key !== "elementwise").map(([key, name]) => {
    const value = analysis.totals[key];
    const before = reference?.analysis?.totals[key];
    const same = reference?.same ?? reference?.analysis === analysis;
    const delta = before === undefined || same ? "" : `${changeText(before, value)} vs ${reference.label}`;
    return el(
      "div",
      { class: "live-total", "data-live": key },
      el("dt", {}, name),
      el("dd", { "data-value": value, title: `${human(value)}` }, exact(value)),
      delta ? el("dd", { class: "delta" }, delta) : null,
    );
  });
  container.replaceChildren(el("dl", {}, items));
  container.hidden = false;
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
  // which is faster: a verdict only from clean data whose intervals are apart (latency.js)
  const verdict =
    latency && medianVerdict(["this block", latency.block], ["the standard conv", latency.conv]);
  const said =
    verdict &&
    el(
      "p",
      { class: "verdict", "data-role": "compare-verdict", "data-judged": String(verdict.judged) },
      verdict.text,
    );
  container.replaceChildren(...[table, hint, said].filter(Boolean));
}
