// The quantization page's words and tables: verdicts, each function's kernels and errors, and the
// block's two variants. Every sentence is built from the report; nothing about the outcome is fixed.

import { el } from "./dom.js";
import { micros, speedWords } from "./format.js";
import { ratioSeparates, speedThan, TOO_NOISY } from "./latency.js";

const interval = (s) => {
  if (!s?.ci95) return "";
  const [lo, hi] = s.ci95;
  return hi == null ? `≥ ${lo.toFixed(2)}` : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
};
const disturbed = (latency) => latency && Object.values(latency).some((t) => t.quality.disturbed);

// A speedup judged as the server judges it (service/quantization.py `_agreement`): words only when
// no timing it compares was disturbed and its 95% interval excludes 1.
const clean = (s, ...timings) =>
  s?.value != null && ratioSeparates(s.ci95) && timings.every((t) => t && !t.quality.disturbed);

const SPEED = {
  agrees: "agrees with the paper",
  disagrees: "disagrees with the paper",
  too_noisy: TOO_NOISY,
};

// The error claim by both statistics, mean and maximum (service/quantization.py `_error`).
export function errorWords(v) {
  const by = v.error_statistics ?? {};
  if (v.error === "agrees") return "agrees with the paper by both the mean and the maximum error";
  if (v.error === "disagrees") return "disagrees with the paper by both the mean and the maximum error";
  const [yes, no] = by.mean ? ["mean", "maximum"] : ["maximum", "mean"];
  return `the ${yes} error agrees with the paper, the ${no} error does not`;
}

export function renderVerdicts(container, report) {
  container.replaceChildren(
    ...report.verdicts.map((v) => {
      const speed = v.speed ? SPEED[v.speed] : "not measured yet";
      const note = [el("strong", {}, `Speed: ${speed}. Quantization error: ${errorWords(v)}.`), " ", v.text];
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
      return el(
        "p",
        { class: "qz-verdict", "data-agrees": v.speed ?? "", "data-error": v.error, "data-role": "verdict" },
        ...note,
      );
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
    "int8 against float32 (95% interval)",
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
        speedupCell(a.int8_speedup, a.latency),
      ),
    ),
  );
  const q = report.input;
  const caption =
    `Input: scale ${q.scale.toPrecision(4)}, zero point ${q.zero_point} (${q.dtype}), codes span ` +
    `[${q.range[0].toPrecision(4)}, ${q.range[1].toPrecision(4)}]; error in units of each output's scale.`;
  fill(table, caption, head, rows);
}

// int8 against float32: "1.5× faster (1.42–1.58)" from clean data, else the ratio and "too noisy".
function speedupCell(s, latency) {
  if (!s) return "–";
  if (!clean(s, latency?.float32, latency?.int8))
    return `ratio ${s.value?.toFixed(2) ?? "–"} (${interval(s)}): too noisy`;
  return `${speedWords(s.value)} (${interval(s)})`;
}

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
    "int8 against float32 (95% interval)",
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
        speedupCell(v.int8_speedup, v.latency),
      ),
    ),
  );
  const caption = `Input ${report.input_shape.join("×")}; errors against each variant's own float32 form.`;
  fill(table, caption, head, rows);
}

// int8 against float32 for one variant, in words only from clean data
function int8Words(v) {
  const s = v.int8_speedup;
  if (!clean(s, v.latency?.float32, v.latency?.int8)) return `too noisy to judge for ${v.name}`;
  return `${speedWords(s.value)} for ${v.name}`;
}

const median = (latency) => micros(latency?.int8?.total.median_us);

// The block's verdict: the hard variant against the smooth one in int8, judged by the server
// (report.speed) from clean data only; the figures are always shown.
export function blockVerdict(report) {
  const s = report.hard_over_smooth;
  if (!s) return "Not measured yet.";
  const [hard, smooth] = ["hard", "smooth"].map((n) => report.variants.find((v) => v.name === n));
  const where = `In int8 on ${report.device}`;
  let speed;
  if (report.speed === "agrees" || report.speed === "disagrees") {
    speed =
      `${where}, the hard variant is ${speedThan(s.value, "the smooth one")}: ${median(hard.latency)} ` +
      `against ${median(smooth.latency)} (95% interval of the speedup ${interval(s)}).`;
  } else {
    const why =
      disturbed(hard.latency) || disturbed(smooth.latency)
        ? "the server was busy while measuring"
        : `the 95% interval of their speed ratio, ${interval(s)}, holds 1`;
    speed =
      `${where}, the hard variant took ${median(hard.latency)} and the smooth one ` +
      `${median(smooth.latency)}: ${why}, so which is faster is ${TOO_NOISY}.`;
  }
  return (
    `${speed} int8 against float32: ${int8Words(hard)}, ${int8Words(smooth)} (why, node by node: below). ` +
    "Relative output error: " +
    `${(hard.rel_error * 100).toFixed(2)}% (hard) and ${(smooth.rel_error * 100).toFixed(2)}% (smooth).`
  );
}
