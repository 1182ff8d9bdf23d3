// The /guidelines page: draw each experiment from the page data, then measure them one by one.

import { ApiError } from "./api.js";
import * as api from "./guidelines-api.js";
import { macChart, speedChart } from "./guidelines-charts.js";
import { renderDiagrams } from "./guidelines-diagram.js";
import { initSweep } from "./guidelines-sweep.js";
import { renderTable } from "./guidelines-table.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const names = data.guidelines.map((g) => g.guideline);
const reports = new Map(data.guidelines.map((g) => [g.guideline, g]));
const deviceNames = data.devices.map((d) => d.name);
const form = document.querySelector('[data-role="controls"]');
const progress = document.querySelector('[data-role="progress"]');
const MAX_RETRIES = 3;

// --- state, kept in the URL so that any view is a link ---------------------------------------------

function intParam(params, key, lo, hi, fallback) {
  const raw = params.get(key);
  if (raw == null || raw === "") return fallback;
  const v = Number(raw);
  return Number.isInteger(v) && v >= lo && v <= hi ? v : fallback;
}

function readState() {
  const q = new URLSearchParams(window.location.search);
  const device = deviceNames.includes(q.get("device")) ? q.get("device") : deviceNames[0];
  const wm = intParam(q, "width_multiplier", 1, 4, 1);
  const widthMultiplier = data.width_multipliers.includes(wm) ? wm : 1;
  return {
    device,
    width_multiplier: widthMultiplier,
    batch: intParam(q, "batch", 1, data.max_batch, 1),
    threads: intParam(q, "threads", 1, data.max_threads, null),
    g2_groups: intParam(q, "g2_groups", 1, 16, 1),
    g2_channels: intParam(q, "g2_channels", 1, 2048, 128 * widthMultiplier),
  };
}

let state = readState();

function writeUrl() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v != null) q.set(k, String(v));
  window.history.replaceState(null, "", `${window.location.pathname}?${q}${window.location.hash}`);
}

function syncControls() {
  form.elements.device.value = state.device;
  form.elements.width_multiplier.value = String(state.width_multiplier);
  form.elements.batch.value = String(state.batch);
  form.elements.threads.value = state.threads == null ? "" : String(state.threads);
  form.elements.threads.disabled = state.device !== "cpu";
}

// --- one guideline's section -------------------------------------------------------------------------

function section(name) {
  const root = document.getElementById(name);
  const part = (role) => root.querySelector(`[data-role="${role}"]`);
  return { root, part };
}

function render(name) {
  const report = reports.get(name);
  const { part } = section(name);
  renderDiagrams(part("diagrams"), report);
  speedChart(part("speed-chart"), report);
  macChart(part("mac-chart"), report);
  renderTable(part("table"), report);
  const verdict = part("verdict");
  verdict.textContent = report.ordering.statement;
  verdict.dataset.reproduces = String(report.ordering.reproduces);
}

function setBusy(name, busy, text, isError = false) {
  const { part } = section(name);
  part("busy").hidden = !busy;
  part("measure").disabled = busy;
  const status = part("status-text");
  status.textContent = text;
  status.classList.toggle("gl-error", isError);
}

// --- fetching: counts first (fast), then measurements one guideline at a time ------------------------

let generation = 0;
let controller = new AbortController();

const sleep = (ms) => new Promise((resolve) => { window.setTimeout(resolve, ms); });

async function withRetry(request) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await request();
    } catch (err) {
      // 429: the device queue is full; wait as the server asks, a few times
      if (!(err instanceof ApiError) || err.status !== 429 || attempt >= MAX_RETRIES) throw err;
      await sleep(1000 * (err.retryAfter || 1));
    }
  }
}

async function loadCounts(gen, signal) {
  await Promise.all(names.map(async (name) => {
    const report = await api.report(name, state, false, { signal });
    if (gen === generation) {
      reports.set(name, report);
      render(name);
    }
  }));
}

async function measure(name, gen, signal) {
  const started = performance.now();
  const label = name.toUpperCase();
  const tick = () => `Measuring ${label} on ${state.device}: ${reports.get(name).rows.length} rows, `
    + `${((performance.now() - started) / 1000).toFixed(1)} s…`;
  setBusy(name, true, tick());
  const timer = window.setInterval(() => setBusy(name, true, tick()), 200);
  try {
    const asked = state;
    const report = await withRetry(() => api.report(name, asked, true, { signal }));
    if (gen !== generation) return false;
    reports.set(name, report);
    render(name);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const cached = report.rows.every((r) => r.measured.cached) ? " (from the cache)" : "";
    setBusy(name, false, `Measured on ${report.device_label} in ${seconds} s${cached}.`);
    return true;
  } catch (err) {
    if (err.name === "AbortError" || gen !== generation) return false;
    setBusy(name, false, `Not measured: ${err instanceof ApiError ? err.message : "the request failed"}.`, true);
    return false;
  } finally {
    window.clearInterval(timer);
  }
}

async function measureAll(gen, signal) {
  let done = 0;
  for (const [i, name] of names.entries()) {
    if (gen !== generation) return;
    progress.textContent = `Measuring guideline ${i + 1} of ${names.length} (${name.toUpperCase()}) `
      + `on ${state.device}…`;
    if (await measure(name, gen, signal)) done += 1;
  }
  if (gen === generation) {
    progress.textContent = `${done} of ${names.length} guidelines measured on ${state.device}, `
      + `width ×${state.width_multiplier}, batch ${state.batch}.`;
  }
}

async function run({ countsFirst }) {
  controller.abort();
  controller = new AbortController();
  generation += 1;
  const gen = generation;
  const { signal } = controller;
  for (const name of names) setBusy(name, false, "Waiting to be measured.");
  try {
    if (countsFirst) await loadCounts(gen, signal);
  } catch (err) {
    if (err.name === "AbortError" || gen !== generation) return;
    progress.textContent = `Could not load the experiments: ${err instanceof ApiError ? err.message : "request failed"}.`;
    return;
  }
  await measureAll(gen, signal);
}

// --- controls ----------------------------------------------------------------------------------------

function stateFromForm() {
  const threads = form.elements.threads.value;
  return {
    ...state,
    device: form.elements.device.value,
    width_multiplier: Number(form.elements.width_multiplier.value),
    batch: Number(form.elements.batch.value),
    threads: threads === "" ? null : Number(threads),
  };
}

let sweep = null;

function apply(force) {
  if (!form.checkValidity()) {
    const bad = [...form.elements].find((e) => e.validity && !e.validity.valid);
    progress.textContent = `${bad ? bad.name : "A control"}: ${bad ? bad.validationMessage : "invalid value"}`;
    return;
  }
  const next = stateFromForm();
  const countsChanged = next.width_multiplier !== state.width_multiplier || next.batch !== state.batch;
  const changed = countsChanged || next.device !== state.device || next.threads !== state.threads;
  if (!changed && !force) return;
  if (next.width_multiplier !== state.width_multiplier) next.g2_channels = 128 * next.width_multiplier;
  state = next;
  syncControls();
  writeUrl();
  if (sweep && countsChanged) sweep.setChannels(state.g2_channels);
  run({ countsFirst: countsChanged });
}

form.addEventListener("change", () => apply(false));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  apply(true);
});

for (const name of names) {
  section(name).part("measure").addEventListener("click", () => {
    measure(name, generation, controller.signal);
  });
}

// --- start: paint from the page data, then measure in the background ---------------------------------

syncControls();
const sweepRoot = document.querySelector('[data-role="sweep"]');
if (sweepRoot) {
  sweep = initSweep(sweepRoot, () => state, (change) => {
    state = { ...state, ...change };
    writeUrl();
  });
  sweep.load();
}
const defaults = state.width_multiplier === data.guidelines[0].width_multiplier
  && state.batch === data.guidelines[0].batch;
if (defaults) names.forEach(render);
run({ countsFirst: !defaults });
