// Page wiring for /networks/{name} and its chrome-less twin /embed/networks/{name}: the input size
// from the URL, the paper's table with bars, the stages and the totals from /api/networks/{name}, the
// deployed form beside the training-time one, and the ONNX links. Every control's value is in the URL.
// Latency is measured on request only (a button), never on load: the network's, row by row, and the
// two forms' speed against each other.

import { ApiError, getJSON, query } from "./api.js";
import { METRIC_COLORS } from "./colors.js";
import { el, pageData, role } from "./dom.js";
import { exact, human, micros, percent } from "./format.js";
import {
  explain,
  howMeasured,
  medianWithInterval,
  qualityNotes,
  speedVerdict,
  TOO_NOISY,
} from "./latency.js";
import { Latest } from "./latest.js";
import { renderStages } from "./network-diagram.js";
import { paperShape, renderNetworkTable } from "./network-table.js";
import { renderNetworkRoofline } from "./roofline-pages.js";
import { writeURL } from "./url-state.js";

const { name, embed, query: initial = {}, input_size: size } = pageData();
const DEFAULTS = { height: size, width: size, batch: 1 };
const SIZE_KEYS = Object.keys(DEFAULTS);

const whole = (raw, fallback) => (/^\d+$/.test(raw ?? "") ? Number(raw) : fallback);
const state = Object.fromEntries(SIZE_KEYS.map((k) => [k, whole(initial[k], DEFAULTS[k])]));
// the measured row the roofline picks out (null: the one that took the most time)
let rooflineRow = whole(initial.roofline_row, null);

const analyses = new Latest(); // only the newest size's answers are drawn
const checks = new Latest(); // the equivalence check of the size on screen
const measurements = new Latest(); // the network's latency at the size on screen
const timings = new Latest(); // both forms timed at the size on screen

const base = `/api/networks/${encodeURIComponent(name)}`;
const apiURL = (suffix, extra = {}) => `${base}${suffix}?${query({ ...state, ...extra })}`;

function urlEntries() {
  const entries = {};
  for (const key of SIZE_KEYS) if (state[key] !== DEFAULTS[key]) entries[key] = state[key];
  if (rooflineRow != null) entries.roofline_row = rooflineRow;
  return entries;
}

// "+0.3%", "−1.1%", or "exactly" when equal
function deviation(ours, published) {
  if (ours === published) return "exactly";
  const d = ours / published - 1;
  return `${d > 0 ? "+" : "−"}${Math.abs(100 * d).toFixed(1)}%`;
}

// A paper's rounded figure, to three digits at most: 300 M, 4.23 G, 1.4 G.
function rounded(value) {
  for (const [suffix, size] of [
    ["G", 1e9],
    ["M", 1e6],
  ]) {
    if (value >= size) return `${Number((value / size).toPrecision(3))} ${suffix}`;
  }
  return exact(value);
}

function publishedText(analysis, deployed) {
  const p = analysis.published;
  const totals = p.form === "deploy" ? deployed : analysis.totals;
  if (!totals) return "";
  // multiply-adds depend on the input: compared only at the size the paper used
  const atPaperSize = analysis.height === size && analysis.width === size && analysis.batch === 1;
  const parts = [];
  if (p.params != null) {
    const figure = p.params_exact ? exact(p.params) : rounded(p.params);
    parts.push(`${figure} parameters (ours: ${exact(totals.params)}, ${deviation(totals.params, p.params)})`);
  }
  if (p.madds != null && atPaperSize) {
    const ours = `ours: ${human(totals.madds, 2)}, ${deviation(totals.madds, p.madds)}`;
    parts.push(`${rounded(p.madds)} multiply-adds (${ours})`);
  } else if (p.madds != null) {
    parts.push(`${rounded(p.madds)} multiply-adds at ${size}×${size}, batch 1 (set that size to compare)`);
  }
  const form = p.form === "deploy" ? " for the deployed form" : "";
  return `Published${form}: ${parts.join("; ")}. Source: ${p.source}.`;
}

// ----- drawing -----

function renderTotals(analysis) {
  for (const box of document.querySelectorAll(".net-totals .total[data-metric]")) {
    box.style.setProperty("--metric", METRIC_COLORS[box.dataset.metric]);
  }
  for (const dd of document.querySelectorAll("[data-total]")) {
    const value = analysis.totals[dd.dataset.total];
    dd.dataset.value = String(value);
    dd.textContent = human(value);
    dd.title = `${exact(value)} exactly`;
  }
  const line = role("shapes");
  if (line) {
    line.textContent =
      `Training-time form (BatchNorms not folded). Input ${analysis.input_shape.join("×")} → output ` +
      `${analysis.output_shape.join("×")}; ` +
      `${analysis.rows.length} rows, MAC in bytes (float32): ${human(analysis.totals.mac_bytes)}B.`;
  }
}

function formsTable(report) {
  const metrics = [
    ["params", "Parameters"],
    ["madds", "Multiply-adds"],
    ["mac", "MAC (memory access cost)"],
    ["elementwise", "Elementwise work"],
  ];
  const change = (a, b) => (a === 0 ? "–" : `${((100 * (b - a)) / a).toFixed(1)}%`);
  return el(
    "table",
    { class: "forms-table" },
    el(
      "caption",
      {},
      `${report.fused} merges: every Conv+BN folded into one conv with bias` +
        (name.startsWith("repvgg") ? ", each RepVGG block's three branches into one 3×3 conv." : "."),
    ),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["", "training-time", "deployed", "change"].map((t) => el("th", { scope: "col" }, t)),
      ),
    ),
    el(
      "tbody",
      {},
      metrics.map(([key, label]) =>
        el(
          "tr",
          { "data-metric": key },
          el("th", { scope: "row" }, label),
          el("td", { "data-form": "train", "data-value": report.before[key] }, exact(report.before[key])),
          el("td", { "data-form": "deploy", "data-value": report.after[key] }, exact(report.after[key])),
          el("td", {}, change(report.before[key], report.after[key])),
        ),
      ),
    ),
  );
}

function equivalenceText(eq) {
  const same = eq.max_rel_diff < 1e-3;
  return (
    `On a random ${eq.input_shape.join("×")} input (seed ${eq.seed}) ` +
    "with randomised BatchNorm statistics, " +
    `the largest difference between the two outputs is ${eq.max_abs_diff.toExponential(1)}, ` +
    `${eq.max_rel_diff.toExponential(1)} of the largest output: ` +
    (same ? "the deployed network computes the same function (float32 rounding)." : "they differ.")
  );
}

// ----- measured latency -----

function latencySummary(analysis) {
  const m = analysis.measured;
  const total = el(
    "p",
    { class: "latency-total", "data-role": "latency-total", "data-median": m.total.median_us },
    "End to end: ",
    el("strong", {}, medianWithInterval(m)),
    ` at ${paperShape(analysis.input_shape)}, batch ${analysis.batch}.`,
  );
  const judged = m.sum_versus_whole;
  const ops = el(
    "p",
    { class: "hint", "data-role": "sum-versus-whole", "data-verdict": judged?.verdict ?? "" },
    `Every op timed alone, summed: ${micros(m.sum_of_nodes_us)}, the latency column of the table. `,
    sumVersusWhole(m),
  );
  const how = el("p", { class: "hint", "data-role": "how-measured" }, `Measured on ${howMeasured(m)}.`);
  role("latency").replaceChildren(total, ...qualityNotes(m), ops, how);
}

// The sum of the ops against the whole, worded from the server's judgement (service/networks.py):
// which is larger only from a clean measurement whose figures are apart.
function sumVersusWhole(m) {
  const judged = m.sum_versus_whole;
  const whole = micros(m.total.median_us);
  if (!judged || judged.verdict === "too_noisy") {
    const why = m.quality?.disturbed
      ? "the server was busy while measuring"
      : "the sum's spread and the whole's 95% interval overlap";
    return `Against ${whole} end to end: ${why}, so which is larger is ${TOO_NOISY}.`;
  }
  const pct = percent(Math.abs(judged.ratio - 1), 0);
  if (judged.verdict === "sum_more") {
    return `That is ${pct} more than the ${whole} end to end: each op timed alone pays its own call.`;
  }
  return (
    `That is ${pct} less than the ${whole} end to end: the whole pass also spends time between ` +
    "its ops, which no op timed alone is charged for."
  );
}

function formsSpeed(report) {
  const lat = report.latency;
  const where = lat.before.device_label || lat.before.device;
  const { judged, text } = speedVerdict(
    lat.comparison,
    [lat.before, lat.after],
    "the deployed network",
    "the training-time one",
  );
  const verdict = el(
    "p",
    { class: "speedup", "data-role": "speedup", "data-measurable": String(judged) },
    `On ${where}, ${text}`,
  );
  const each = el(
    "p",
    { class: "hint" },
    `Training-time: ${medianWithInterval(lat.before)}; deployed: ${medianWithInterval(lat.after)}, ` +
      `end to end at ${report.height}×${report.width}, batch ${report.batch}, timed in alternating rounds.`,
  );
  role("forms-speed").replaceChildren(
    verdict,
    ...qualityNotes(lat.before, "Training-time"),
    ...qualityNotes(lat.after, "Deployed"),
    each,
  );
}

// A measurement on request (`suffix`: the route after /api/networks/{name}): `button` waits, `box`
// says what happens, then `draw`s the answer. "Measure again" asks the server for a fresh one.
function measureOnClick(button, box, line, suffix, draw) {
  const again = button.dataset.again === "1";
  const url = apiURL(suffix, again ? { measure: true, fresh: true } : { measure: true });
  button.disabled = true;
  box.replaceChildren(
    el("p", { class: "status", role: "status" }, "Measuring on the server: a few seconds…"),
  );
  line.next();
  line
    .run(
      (signal) => getJSON(url, { signal, fresh: true }), // fresh: never from the page's cache
      (answer) => {
        draw(answer);
        button.dataset.again = "1";
        button.textContent = "Measure again";
      },
      (err) => {
        box.replaceChildren(
          el("p", { class: "error-banner", role: "alert", "data-role": "refused" }, explain(err)),
        );
      },
    )
    .finally(() => {
      button.disabled = false;
    });
}

const MEASURE_BUTTONS = [
  ["measure", "latency", "Measure latency"],
  ["measure-forms", "forms-speed", "Time both forms on this server"],
];

// A new size: what was measured at the old one goes, and the buttons measure anew.
function forgetMeasurements() {
  measurements.next();
  timings.next();
  for (const [button, box, label] of MEASURE_BUTTONS) {
    const b = role(button);
    if (b) {
      delete b.dataset.again;
      b.disabled = false;
      b.textContent = label;
    }
    role(box)?.replaceChildren();
  }
  const roofline = role("roofline");
  if (roofline) {
    roofline.hidden = true;
    roofline.replaceChildren();
  }
}

// The measured rows on the roofline; picking a row redraws it and keeps the choice in the URL.
function showRoofline(analysis) {
  renderNetworkRoofline(role("roofline"), analysis, rooflineRow, (index) => {
    rooflineRow = index;
    writeURL(urlEntries());
    showRoofline(analysis);
  });
}

function updateLinks() {
  for (const form of ["train", "deploy"]) {
    const link = role(`onnx-${form}`);
    if (link) link.href = apiURL("/onnx", { form });
  }
  const open = role("open-full");
  if (open) open.href = `/networks/${encodeURIComponent(name)}${window.location.search}`;
}

function showRefusal(err) {
  const banner = role("errors");
  const byParam = err instanceof ApiError ? err.byParam() : {};
  for (const key of SIZE_KEYS) {
    const input = document.querySelector(`[data-role="controls"] input[name="${key}"]`);
    input?.classList.toggle("invalid", Boolean(err && byParam[key]));
  }
  if (banner) {
    banner.hidden = !err;
    banner.textContent = err ? `The server refused this size: ${err.message}` : "";
  }
  document.body.classList.toggle("stale", Boolean(err));
  if (err) {
    delete document.body.dataset.busy;
    document.body.dataset.ready = "1";
  }
}

function show(analysis) {
  showRefusal(null);
  renderNetworkTable(role("table"), analysis);
  const sizeLine = role("size-line");
  if (sizeLine) sizeLine.textContent = `at ${paperShape(analysis.input_shape)}, batch ${analysis.batch}`;
  updateLinks();
  if (embed) {
    document.body.dataset.ready = "1";
    delete document.body.dataset.busy;
    return;
  }
  renderTotals(analysis);
  renderStages(role("stages"), analysis);
  const published = role("published");
  published.textContent = publishedText(analysis, null);
  document.body.dataset.ready = "1";
  const forms = role("forms");
  const status = role("equivalence-status");
  status.textContent = "";
  checks.next();
  forms.textContent = "Folding the BatchNorms…";
  analyses.run(
    (signal) => getJSON(apiURL("/reparam"), { signal }),
    (report) => {
      forms.replaceChildren(formsTable(report));
      published.textContent = publishedText(analysis, report.after);
      delete document.body.dataset.busy;
    },
    (err) => {
      forms.textContent = `The deployed form could not be analysed: ${err.message}`;
      delete document.body.dataset.busy;
    },
  );
}

function update() {
  analyses.next();
  forgetMeasurements();
  document.body.dataset.busy = "1";
  delete document.body.dataset.ready;
  analyses.run((signal) => getJSON(apiURL(""), { signal }), show, showRefusal);
}

// ----- controls -----

const form = role("controls");
if (form) {
  for (const key of SIZE_KEYS) {
    const input = form.querySelector(`input[name="${key}"]`);
    if (input) input.value = String(state[key]);
  }
  let typing = null;
  const onChange = (delay) => {
    const next = {};
    for (const key of SIZE_KEYS) next[key] = whole(form.querySelector(`input[name="${key}"]`)?.value, null);
    if (SIZE_KEYS.some((k) => next[k] === null)) return; // half-typed: wait for a whole number
    if (SIZE_KEYS.every((k) => next[k] === state[k])) return;
    Object.assign(state, next);
    writeURL(urlEntries());
    updateLinks();
    clearTimeout(typing);
    typing = setTimeout(update, delay);
  };
  form.addEventListener("input", () => onChange(400));
  form.addEventListener("change", () => onChange(0));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onChange(0);
  });
}

role("equivalence")?.addEventListener("click", (event) => {
  const button = event.currentTarget;
  const status = role("equivalence-status");
  button.disabled = true;
  status.textContent = "Building both forms with random weights and running them…";
  checks.next();
  checks
    .run(
      (signal) => getJSON(apiURL("/reparam", { equivalence: true }), { signal }),
      (report) => {
        status.textContent = equivalenceText(report.equivalence);
        status.dataset.maxRelDiff = String(report.equivalence.max_rel_diff);
      },
      (err) => {
        status.textContent = `The check was refused: ${err.message}`;
      },
    )
    .finally(() => {
      button.disabled = false;
    });
});

role("measure")?.addEventListener("click", (event) => {
  measureOnClick(event.currentTarget, role("latency"), measurements, "", (analysis) => {
    renderNetworkTable(role("table"), analysis);
    latencySummary(analysis);
    showRoofline(analysis);
  });
});

role("measure-forms")?.addEventListener("click", (event) => {
  measureOnClick(event.currentTarget, role("forms-speed"), timings, "/reparam", formsSpeed);
});

writeURL(urlEntries());
update();
