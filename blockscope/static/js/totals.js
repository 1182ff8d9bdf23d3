// Totals (always visible) with their change against a reference block (the same block at g = 1),
// the sentence that says what moved and why, and the side-by-side comparison with a standard
// convolution.

import { metricColor } from "./colors.js";
import { el } from "./dom.js";
import { change, exact, human, micros, percent, shape, signedPercent } from "./format.js";

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
        reference.analysis === analysis
          ? `the ${reference.label} block itself`
          : `${signedPercent(ratio)} vs ${reference.label} (${exact(before)})`;
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

const arrow = (a, b) => `${exact(a)} → ${exact(b)}`;

// One or two sentences, computed from the numbers, on what moved between `reference` and `analysis`
// and why. ctx: {param (the group parameter), g, refG, fixed (multiply-adds held), widen (names)}.
export function whySentence(analysis, reference, ctx = {}) {
  const mac = analysis.totals.mac;
  const parts = macParts(analysis);
  const share = (x, of) => percent(of ? x / of : 0);
  if (!reference || !ctx.param) {
    return (
      `Of this block's MAC (${exact(mac)}), weights are ${exact(parts.weights)} ` +
      `(${share(parts.weights, mac)}) and activations, the feature maps each op reads and writes, ` +
      `${exact(parts.activations)} (${share(parts.activations, mac)}).`
    );
  }
  const ref = reference.totals;
  const refParts = macParts(reference);
  const p = ctx.param;
  if (reference === analysis || ctx.g === ctx.refG) {
    return (
      `At ${p} = ${ctx.g} every output channel reads every input channel. Weights are ` +
      `${share(refParts.weights, ref.mac)} of MAC and activations ${share(refParts.activations, ref.mac)}: ` +
      `more groups divide the weights and the multiply-adds by ${p}, not the activations. ` +
      (ctx.fixed
        ? `With multiply-adds held, more groups widen the channels instead: move ${p} and watch MAC rise.`
        : `Move ${p} and watch MAC barely move.`)
    );
  }
  const from = `From ${p} = ${ctx.refG} to ${p} = ${ctx.g}`;
  if (ctx.fixed) {
    const widened = (ctx.widen || [])
      .map((name) => `${name} ${reference.config[name]} → ${analysis.config[name]}`)
      .join(", ");
    return (
      `${from}, multiply-adds stay within ${signedPercent(analysis.totals.madds / ref.madds - 1)} ` +
      `because the channels widen (${widened}). ` +
      `The weights change ${change(refParts.weights, parts.weights)} ` +
      `(${arrow(refParts.weights, parts.weights)}), but the wider feature maps make the activations ` +
      `${change(refParts.activations, parts.activations)} ` +
      `(${arrow(refParts.activations, parts.activations)}), ` +
      `so MAC is ${change(ref.mac, mac)} (${arrow(ref.mac, mac)}). ` +
      "ShuffleNet V2's G2: at equal multiply-adds, more groups cost more memory access."
    );
  }
  return (
    `${from}, multiply-adds are ${change(ref.madds, analysis.totals.madds)} and the weights ` +
    `${change(refParts.weights, parts.weights)} (${arrow(refParts.weights, parts.weights)}), ` +
    `but MAC is only ${change(ref.mac, mac)} (${arrow(ref.mac, mac)}): ` +
    `activations, ${share(refParts.activations, ref.mac)} ` +
    `of MAC at ${p} = ${ctx.refG}, are feature maps that grouping does not shrink ` +
    `(${arrow(refParts.activations, parts.activations)}).`
  );
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
