// The quantization page's words and tables: verdicts, each function's kernels and errors, and the
// block's two variants. Every sentence is built from the report; nothing about the outcome is fixed.

import { el } from "./dom.js";
import { micros } from "./format.js";

const ratio = (s) => (s?.value == null ? "–" : `${s.value.toFixed(2)}×`);
const interval = (s) => {
  if (!s?.ci95) return "";
  const [lo, hi] = s.ci95;
  return hi == null ? `≥ ${lo.toFixed(2)}` : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
};
const disturbed = (latency) => latency && Object.values(latency).some((t) => t.quality.disturbed);

const AGREEMENT = {
  agrees: "agrees with the paper",
  disagrees: "disagrees with the paper",
  inconclusive: "cannot tell (no measurable difference)",
};

export function renderVerdicts(container, report) {
  container.replaceChildren(
    ...report.verdicts.map((v) => {
      const speed = v.speed ? AGREEMENT[v.speed] : "not measured yet";
      const note = [el("strong", {}, `Speed: ${speed}. Quantization error: ${AGREEMENT[v.error]}.`), v.text];
      const pair = report.activations.filter((a) => a.name === v.hard || a.name === v.smooth);
      if (pair.some((a) => disturbed(a.latency)))
        note.push(
          " ",
          el(
            "span",
            { class: "qz-disturbed" },
            "Disturbed: other work ran on the measuring cores, or the samples spread widely.",
          ),
        );
      return el("p", { class: "qz-verdict", "data-agrees": v.speed ?? "", "data-role": "verdict" }, ...note);
    }),
  );
}

function cells(...values) {
  return values.map((v, i) => (i === 0 ? el("th", { scope: "row" }, v) : el("td", {}, v)));
}

function timing(latency, key) {
  const t = latency?.[key];
  if (!t) return "–";
  const [lo, hi] = t.quality.ci95_us;
  const disturbed = t.quality.disturbed ? " disturbed" : "";
  return `${micros(t.total.median_us)} (${micros(lo)}–${micros(hi)})${disturbed}`;
}

export function renderActivationTable(table, report) {
  const head = [
    "function",
    "runs on",
    "ops after ONNX Runtime's optimizer",
    "max error (steps)",
    "mean error (steps)",
    "bound (steps)",
    "float32 median (95% interval)",
    "int8 median (95% interval)",
    "int8 speedup (95% interval)",
  ];
  const rows = report.activations.map((a) =>
    el(
      "tr",
      { "data-name": a.name },
      ...cells(
        a.title,
        el(
          "span",
          { class: a.native ? "qz-native" : "qz-fallback" },
          a.native ? "integer kernels" : "float fallback",
        ),
        el("span", {}, a.ops.join(" → ")),
        a.max_error_steps.toFixed(3),
        a.mean_error_steps.toFixed(3),
        a.bound_steps.toFixed(3),
        timing(a.latency, "float32"),
        timing(a.latency, "int8"),
        speedupCell(a.int8_speedup),
      ),
    ),
  );
  const q = report.input;
  const caption =
    `Input: scale ${q.scale.toPrecision(4)}, zero point ${q.zero_point} (${q.dtype}), codes span ` +
    `[${q.range[0].toPrecision(4)}, ${q.range[1].toPrecision(4)}]; error in units of each output's scale.`;
  fill(table, caption, head, rows);
}

const speedupCell = (s) => (s ? `${ratio(s)} (${interval(s)})` : "–");

function fill(table, caption, head, rows) {
  table.replaceChildren(
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows),
  );
}

const counts = (ops) =>
  Object.entries(ops)
    .map(([op, n]) => `${op} ×${n}`)
    .join(", ") || "none";

export function renderBlockTable(table, report) {
  const head = [
    "variant",
    "activations",
    "relative error",
    "max |error|",
    "integer kernels",
    "float ops left",
    "float32 median",
    "int8 median",
    "int8 speedup (95% interval)",
  ];
  const rows = report.variants.map((v) =>
    el(
      "tr",
      { "data-variant": v.name },
      ...cells(
        `${v.name}${v.configured ? " (as configured)" : ""}`,
        v.activations.join(", "),
        `${(v.rel_error * 100).toFixed(2)}%`,
        v.max_abs_error.toPrecision(3),
        el("span", {}, counts(v.integer_kernels)),
        el("span", {}, counts(v.float_ops)),
        timing(v.latency, "float32"),
        timing(v.latency, "int8"),
        speedupCell(v.int8_speedup),
      ),
    ),
  );
  const caption = `Input ${report.input_shape.join("×")}; errors against each variant's own float32 form.`;
  fill(table, caption, head, rows);
}

export function blockVerdict(report) {
  const s = report.hard_over_smooth;
  if (!s) return "Not measured yet.";
  const [hard, smooth] = ["hard", "smooth"].map((n) => report.variants.find((v) => v.name === n));
  let word = "not measurably different from";
  if (s.measurable) word = s.value > 1 ? "faster than" : "slower than";
  return (
    `In int8 on ${report.device}, the hard variant is ${word} the smooth one: smooth / hard = ${ratio(s)} ` +
    `(95% interval ${interval(s)}). int8 against float32: ${ratio(hard.int8_speedup)} for hard, ` +
    `${ratio(smooth.int8_speedup)} for smooth (above 1: int8 is faster). Relative output error: ` +
    `${(hard.rel_error * 100).toFixed(2)}% (hard) and ${(smooth.rel_error * 100).toFixed(2)}% (smooth).`
  );
}
