// The /guidelines page: draw each experiment from the page data with the last measurement this server
// made of it (when and on what), and measure them one by one when the reader asks.

import * as api from "./api.js";
import { pageData, role } from "./dom.js";
import { macChart, speedChart } from "./guidelines-charts.js";
import { renderDiagrams } from "./guidelines-diagram.js";
import { initSweep } from "./guidelines-sweep.js";
import { renderTable } from "./guidelines-table.js";
import { keptText, verdictText } from "./guidelines-verdict.js";
import { Latest } from "./latest.js";
import { renderExplanation, renderRowsRoofline } from "./roofline-pages.js";
import { writeURL } from "./url-state.js";

const data = pageData();
const names = data.guidelines.map((g) => g.guideline);
const reports = new Map(data.guidelines.map((g) => [g.guideline, g]));
const deviceNames = data.devices.map((d) => d.name);
const form = role("controls");
const progress = role("progress");

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

function syncControls() {
  form.elements.device.value = state.device;
  form.elements.width_multiplier.value = String(state.width_multiplier);
  form.elements.batch.value = String(state.batch);
  form.elements.threads.value = state.threads == null ? "" : String(state.threads);
  form.elements.threads.disabled = state.device !== "cpu";
}

// --- one guideline's section -------------------------------------------------------------------------

const part = (name, key) => role(key, document.getElementById(name));

function render(name) {
  const report = reports.get(name);
  renderDiagrams(part(name, "diagrams"), report);
  speedChart(part(name, "speed-chart"), report);
  macChart(part(name, "mac-chart"), report);
  renderTable(part(name, "table"), report);
  const verdict = part(name, "verdict");
  verdict.textContent = verdictText(report);
  verdict.dataset.reproduces = String(report.ordering.reproduces);
  verdict.dataset.verdict = report.ordering.verdict ?? "";
  renderExplanation(part(name, "explanation"), report.explanation);
  renderRowsRoofline(part(name, "roofline"), report);
}

function setBusy(name, busy, text, isError = false) {
  part(name, "busy").hidden = !busy;
  part(name, "measure").disabled = busy;
  const status = part(name, "status-text");
  status.textContent = text;
  status.classList.toggle("gl-error", isError);
}

// --- fetching: counts first (fast), then measurements one guideline at a time ------------------------

const measuring = new Latest(); // a change of settings starts over; older answers are dropped

const failure = (err) => (err instanceof api.ApiError ? err.message : "the request failed");

function loadCounts(signal) {
  return Promise.all(
    names.map(async (name) => {
      reports.set(name, await api.guideline(name, state, false, { signal }));
      render(name);
    }),
  );
}

// Measures one guideline in the current generation; true when it was measured.
async function measure(name) {
  const started = performance.now();
  const asked = state;
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const rows = reports.get(name).rows.length;
  const tick = () =>
    setBusy(name, true, `Measuring ${name.toUpperCase()} on ${asked.device}: ${rows} rows, ${seconds()} s…`);
  let measured = false;
  await measuring.run(
    async (signal) => {
      tick();
      const timer = window.setInterval(tick, 200);
      try {
        // the device queue may be full: wait as the server asks (api.js's one policy)
        return await api.guideline(name, asked, true, { signal, retry: true });
      } finally {
        window.clearInterval(timer);
      }
    },
    (report) => {
      reports.set(name, report);
      render(name);
      const cached = report.rows.every((r) => r.measured.cached) ? " (from the cache)" : "";
      const kept = keptText(report.stored, report.stored ? ago(report.stored.measured_at) : "");
      setBusy(name, false, `Measured on ${report.device_label} in ${seconds()} s${cached}.${kept}`);
      measured = true;
    },
    (err) => setBusy(name, false, `Not measured: ${failure(err)}.`, true),
  );
  return measured;
}

// "3 min ago" from a measurement's ISO time
function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return "at an unknown time";
  if (seconds < 90) return "just now";
  const minutes = seconds / 60;
  if (minutes < 90) return `${Math.round(minutes)} min ago`;
  const hours = minutes / 60;
  if (hours < 36) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

// Each experiment with its last measurement on this server, if any: nothing is measured on arrival
// (a class opening the page would fill the measuring queue); "Measure" measures now.
async function showLast(signal) {
  let found = 0;
  await Promise.all(
    names.map(async (name) => {
      const { report } = await api.guidelineLast(name, state, { signal });
      if (!report) {
        setBusy(name, false, "Not measured yet with these settings.");
        return;
      }
      reports.set(name, report);
      render(name);
      const when = ago(report.rows[0].measured.measured_at);
      setBusy(
        name,
        false,
        `Last measured ${when} on ${report.device_label}. Measure again for a figure of now.`,
      );
      found += 1;
    }),
  );
  return found;
}

function look({ countsFirst }) {
  measuring.next();
  const asked = state;
  measuring.run(
    async (signal) => {
      if (countsFirst) await loadCounts(signal);
      return showLast(signal);
    },
    (found) => {
      const settings = `${asked.device}, width ×${asked.width_multiplier}, batch ${asked.batch}`;
      progress.textContent = found
        ? `Showing the last measurements made on this server (${found} of ${names.length}; ${settings}). ` +
          "Press “Measure all four” to measure now."
        : `Not measured yet with these settings (${settings}): press “Measure all four”, or one ` +
          "experiment's own button.";
    },
    (err) => {
      progress.textContent = `Could not load the experiments: ${failure(err)}.`;
    },
  );
}

function run({ countsFirst }) {
  measuring.next();
  for (const name of names) setBusy(name, false, "Waiting to be measured.");
  const asked = state;
  measuring.run(
    async (signal) => {
      if (countsFirst) await loadCounts(signal);
      let done = 0;
      for (const [i, name] of names.entries()) {
        signal.throwIfAborted();
        const which = `${i + 1} of ${names.length} (${name.toUpperCase()})`;
        progress.textContent = `Measuring guideline ${which} on ${asked.device}…`;
        if (await measure(name)) done += 1;
      }
      return done;
    },
    (done) => {
      progress.textContent =
        `${done} of ${names.length} guidelines measured on ${asked.device}, ` +
        `width ×${asked.width_multiplier}, batch ${asked.batch}.`;
    },
    (err) => {
      progress.textContent = `Could not load the experiments: ${failure(err)}.`;
    },
  );
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
    const why = bad ? bad.validationMessage : "invalid value";
    progress.textContent = `${bad ? bad.name : "A control"}: ${why}`;
    return;
  }
  const next = stateFromForm();
  const countsChanged = next.width_multiplier !== state.width_multiplier || next.batch !== state.batch;
  const changed = countsChanged || next.device !== state.device || next.threads !== state.threads;
  if (!changed && !force) return;
  if (next.width_multiplier !== state.width_multiplier) next.g2_channels = 128 * next.width_multiplier;
  state = next;
  syncControls();
  writeURL(state);
  if (sweep && countsChanged) sweep.setChannels(state.g2_channels);
  if (force) run({ countsFirst: countsChanged });
  else look({ countsFirst: countsChanged });
}

form.addEventListener("change", () => apply(false));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  apply(true);
});

for (const name of names) part(name, "measure").addEventListener("click", () => measure(name));

// --- start: paint from the page data and the last measurements --------------------------------------

syncControls();
const sweepRoot = role("sweep");
if (sweepRoot) {
  sweep = initSweep(
    sweepRoot,
    () => state,
    (change) => {
      state = { ...state, ...change };
      writeURL(state);
    },
  );
  sweep.load();
}
const first = data.guidelines[0];
const defaults = state.width_multiplier === first.width_multiplier && state.batch === first.batch;
if (defaults) names.forEach(render);
look({ countsFirst: !defaults });
