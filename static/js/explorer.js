// Page wiring for /blocks/{kind} and /embed/{kind}: state from the URL, controls from the schema,
// fast views (totals, diagram) first on every change, slower ones (sweep, reparam) debounced, and
// latency only when asked for.

import * as api from "./api.js";
import { drawCurves, FUNCTIONS } from "./activation.js";
import { barsWithWhiskers, latencyChart, metricChart, sweepCharts } from "./charts.js";
import { Controls } from "./controls.js";
import { renderDiagram } from "./diagram.js";
import { save, svgText, svgToPNG } from "./downloads.js";
import { snippet } from "./embed.js";
import { METRICS, metricLabel } from "./format.js";
import * as lat from "./latency.js";
import { renderReparam } from "./reparam.js";
import { renderShuffle } from "./shuffle.js";
import { blockValues, nonDefault, writeURL } from "./state.js";
import { NodeTable, toCSV } from "./table.js";
import { renderCompare, renderTotals } from "./totals.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const { kind, spec, embed } = data;
const schema = spec.params;
const q = data.query || {};
const $ = (sel) => document.querySelector(sel);
const role = (name) => document.querySelector(`[data-role="${name}"]`);
const section = (name) => document.getElementById(`view-${name}`);

const state = {
  values: blockValues(schema, q),
  metric: q.metric in METRICS && q.metric !== "elementwise" ? q.metric : "mac",
  compare: ["1", "true"].includes(q.compare),
  device: q.device || "cpu",
};
let analysis = null;        // the analysis on screen
let latency = null;         // {report, map} for the analysis on screen, once measured
let reparamReport = null;
const table = role("table") ? new NodeTable(role("table")) : null;

function urlEntries() {
  const entries = { ...nonDefault(schema, state.values) };
  if (state.metric !== "mac") entries.metric = state.metric;
  if (state.compare) entries.compare = 1;
  if (state.device !== "cpu") entries.device = state.device;
  if (embed && q.view) entries.view = q.view;
  return entries;
}

function status(name, text, busy = false) {
  const box = role(name);
  if (!box) return;
  box.textContent = text || "";
  box.classList.toggle("busy", busy);
}

// ----- fast path: analysis -> totals, diagram, table, chart -----
let seq = 0;
async function update() {
  const mine = ++seq;
  let result;
  try {
    result = await api.analyse(kind, state.values);
  } catch (err) {
    if (mine !== seq || err.name === "AbortError") return;
    showRefusal(err);
    return;
  }
  if (mine !== seq) return;
  showRefusal(null);
  if (result !== analysis) {
    analysis = result;
    latency = null;
    renderFast();
    setTimeout(() => { if (analysis === result) renderSlow(); }, 0);
    scheduleLater();
  }
}

function showRefusal(err) {
  const byParam = err instanceof api.ApiError ? err.byParam() : {};
  const known = Object.keys(byParam).filter((k) => schema.some((p) => p.name === k));
  const message = err ? (known.length ? "" : err.message) : "";
  controls?.showErrors(err ? byParam : {});
  if (err && !analysis && role("diagram")) {
    role("diagram").textContent = known.length
      ? `The server refused ${known.join(", ")}: see the message beside the control.`
      : `The server refused this configuration: ${err.message}`;
  }
  document.body.classList.toggle("stale", Boolean(err));
  const banner = role("errors");
  if (banner) {
    banner.hidden = !err;
    banner.textContent = err ? `The server refused this configuration: ${err.message}` : "";
  } else if (message) {
    controls?.showErrors({ [schema[0].name]: message });
  }
}

function renderFast() {
  const totals = section("totals");
  if (totals) renderTotals(totals, analysis);
  const box = role("diagram");
  if (box) renderDiagram(box, analysis, { metric: state.metric, latency: latency?.map, tip: role("tip") });
  document.body.dataset.ready = "1";
}

function renderSlow() {
  table?.render(analysis, latency?.map);
  if (role("metric-chart")) metricChart(role("metric-chart"), analysis, state.metric, latency?.map);
  const shuffle = section("shuffle");
  if (shuffle) {
    shuffle.hidden = !analysis.permutations.length;
    if (analysis.permutations.length) renderShuffle(role("shuffle"), analysis.permutations);
  }
  const config = role("embed-config");
  if (config) config.textContent = Object.entries(nonDefault(schema, state.values)).map(([k, v]) => `${k}=${v}`).join(", ");
  const open = role("open-full");
  if (open) open.href = `/blocks/${kind}${window.location.search.replace(/([?&])view=[^&]*&?/, "$1").replace(/[?&]$/, "")}`;
  if (state.compare) renderComparison();
  updateSnippet();
}

// ----- slower views, debounced: sweep, reparam -----
let laterTimer = null;
function scheduleLater() {
  clearTimeout(laterTimer);
  // one after the other: both make the server build and trace blocks
  document.body.dataset.busy = "1";  // cleared when every view has caught up (tests wait on it)
  laterTimer = setTimeout(async () => {
    const shown = analysis;
    await loadSweep();
    await loadReparam();
    if (shown === analysis) delete document.body.dataset.busy;
  }, 250);
}

async function loadSweep() {
  const box = section("sweep");
  if (!box || !spec.group_param) return;
  const shown = analysis;
  status("sweep-status", `Computing the sweep of ${spec.group_param}…`, true);
  try {
    const sw = await api.sweep(kind, state.values);
    if (shown !== analysis) return;
    status("sweep-status", "");
    sweepCharts(role("sweep-channels"), role("sweep-madds"), sw);
  } catch (err) {
    if (shown === analysis) status("sweep-status", api.unavailable(err, "The sweep") || `Sweep unavailable: ${err.message}`);
  }
}

async function loadReparam(measure = false) {
  const box = section("reparam");
  if (!box) return;
  const shown = analysis;
  status("reparam-status", measure ? `Measuring both forms on ${await lat.deviceLabel(state.device)}…` : "Folding the block…", true);
  try {
    const report = await api.reparam(kind, measure ? { ...state.values, device: state.device } : state.values, measure);
    if (shown !== analysis) return;
    reparamReport = report;
    status("reparam-status", "");
    renderReparam(role("reparam"), report, { metric: state.metric === "latency" ? "mac" : state.metric, onMeasure: () => loadReparam(true) });
  } catch (err) {
    if (shown !== analysis) return;
    status("reparam-status", api.unavailable(err, "Reparameterization") || (measure ? lat.explain(err) : `Cannot fold this block: ${err.message}`));
  }
}

// ----- comparison with a standard convolution -----
function convValues() {
  const v = state.values;
  const k = [1, 3, 5, 7].includes(v.kernel_size) ? v.kernel_size : 3;
  return {
    in_channels: v.in_channels, out_channels: v.out_channels ?? v.in_channels, kernel_size: k,
    stride: v.stride ?? 1, batch: v.batch, height: v.height, width: v.width, seed: v.seed,
  };
}

let compareLatency = null;
async function renderComparison() {
  const box = role("compare");
  if (!box) return;
  box.hidden = !state.compare;
  if (!state.compare || !analysis) return;
  const shown = analysis;
  try {
    const conv = await api.analyse("conv", convValues());
    if (shown !== analysis) return;
    const both = compareLatency && compareLatency.block === latency?.report ? compareLatency : null;
    renderCompare(box, analysis, conv, both);
  } catch (err) {
    box.textContent = `No standard convolution to compare with: ${err.message}`;
  }
}

// ----- latency, on demand -----
async function measure() {
  if (!analysis) return;
  const shown = analysis;
  const button = role("measure");
  const label = await lat.deviceLabel(state.device);
  status("latency-status", `Measuring on ${label}…`, true);
  if (button) button.disabled = true;
  try {
    const report = await api.latency(kind, state.values, { device: state.device });
    if (shown !== analysis) return;
    latency = { report, map: lat.byNode(report) };
    status("latency-status", `Measured on ${report.device_label || report.device}: ${report.threads ?? "?"} threads, ${report.warmup} warm-up and ${report.repeats} timed runs, ${report.dtype || "float32"}${report.cached ? " (cached)" : ""}.`);
    latencyChart(role("latency-chart"), report);
    if (state.compare) {
      const conv = await api.latency("conv", convValues(), { device: state.device });
      compareLatency = { block: report, conv };
    }
    renderFast();
    renderSlow();
  } catch (err) {
    status("latency-status", lat.explain(err));
  } finally {
    if (button) button.disabled = false;
  }
}

async function measureActivations() {
  const names = Object.keys(FUNCTIONS);
  const reports = [];
  const button = role("measure-activations");
  if (button) button.disabled = true;
  try {
    for (const name of names) {
      status("activation-status", `Measuring ${name} on ${await lat.deviceLabel(state.device)}…`, true);
      reports.push(await api.latency(kind, { ...state.values, function: name }, { device: state.device }));
    }
    status("activation-status", `Each function on ${reports[0].device_label || reports[0].device}, input ${analysis.input_shape.join("×")}.`);
    barsWithWhiskers(role("activation-latency"), names, reports, "Measured latency per function (median, whiskers p25–p75)");
  } catch (err) {
    status("activation-status", lat.explain(err));
  } finally {
    if (button) button.disabled = false;
  }
}

// ----- embed snippet and downloads -----
function selectedViews() {
  const select = role("embed-view");
  return select ? [...select.selectedOptions].map((o) => o.value) : [];
}

function updateSnippet() {
  const area = role("embed-snippet");
  if (area) area.value = snippet(kind, spec.title, window.location.search, selectedViews());
}

function wireDownloads() {
  const name = () => `${kind}-${Object.entries(nonDefault(schema, state.values)).map(([k, v]) => `${k}${v}`).join("-") || "default"}`;
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", async () => {
      const svg = role("diagram")?.querySelector("svg");
      if (!analysis) return;
      const type = button.dataset.download;
      if (type === "svg" && svg) save(`${name()}.svg`, new Blob([svgText(svg)], { type: "image/svg+xml" }));
      if (type === "png" && svg) save(`${name()}.png`, await svgToPNG(svg));
      if (type === "csv") save(`${name()}.csv`, new Blob([toCSV(analysis, latency?.map)], { type: "text/csv" }));
      if (type === "json") save(`${name()}.json`, new Blob([JSON.stringify(analysis, null, 2)], { type: "application/json" }));
    });
  }
}

// ----- wiring -----
let timer = null;
function onChange(name, value, { final }) {
  state.values[name] = value;
  writeURL(urlEntries());
  clearTimeout(timer);
  if (final) update(); else timer = setTimeout(update, 30);
}

const form = role("controls");
const controls = form ? new Controls(form, schema, state.values, onChange) : null;

const metricSelect = $("select[name=metric]");
if (metricSelect) {
  metricSelect.value = state.metric;
  metricSelect.addEventListener("change", () => {
    state.metric = metricSelect.value;
    writeURL(urlEntries());
    if (state.metric === "latency" && !latency) status("latency-status", "Press “Measure latency” to colour the diagram by latency share.");
    if (analysis) { renderFast(); renderSlow(); }
    if (reparamReport) renderReparam(role("reparam"), reparamReport, { metric: state.metric === "latency" ? "mac" : state.metric, onMeasure: () => loadReparam(true) });
  });
}

const compareBox = $("input[name=compare]");
if (compareBox) {
  compareBox.checked = state.compare;
  compareBox.addEventListener("change", () => {
    state.compare = compareBox.checked;
    writeURL(urlEntries());
    renderComparison();
  });
}

const deviceSelect = $("select[name=device]");
lat.loadDevices(deviceSelect, state.device);
deviceSelect?.addEventListener("change", () => { state.device = deviceSelect.value; writeURL(urlEntries()); });
role("measure")?.addEventListener("click", measure);
role("measure-activations")?.addEventListener("click", measureActivations);

const embedButton = role("embed-button");
embedButton?.addEventListener("click", () => {
  const panel = role("embed-panel");
  panel.hidden = !panel.hidden;
  embedButton.setAttribute("aria-expanded", String(!panel.hidden));
  updateSnippet();
});
role("embed-view")?.addEventListener("change", updateSnippet);
role("embed-copy")?.addEventListener("click", () => {
  const area = role("embed-snippet");
  area.select();
  navigator.clipboard?.writeText(area.value).catch(() => {});
});
wireDownloads();

if (section("sweep") && !spec.group_param) section("sweep").hidden = true;
if (section("activation")) {
  if (kind === "activation") drawCurves(role("activation-chart"), state.values.function);
  else section("activation").hidden = true;
}
if (controls && kind === "activation") {
  form.addEventListener("change", () => drawCurves(role("activation-chart"), state.values.function));
}
writeURL(urlEntries());
update();
