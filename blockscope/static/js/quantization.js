// The /quantization page (and /embed/quantization): read the controls from the URL, ask for the
// activations' integer functions at once; the timings on arrival and when the reader asks.

import { ApiError, getJSON, query } from "./api.js";
import { pageData, role } from "./dom.js";
import { Latest, pause } from "./latest.js";
import { drawCurves, drawSpeed } from "./quantization-charts.js";
import { renderProfiles } from "./quantization-profile.js";
import {
  blockVerdict,
  renderActivationTable,
  renderBlockTable,
  renderVerdicts,
} from "./quantization-tables.js";
import { isTrue, writeURL } from "./url-state.js";

const data = pageData();
const form = role("controls");
const status = role("status");
const paramError = role("param-error");
const SECTIONS = ["verdict", "curves", "speed", "block", "profile"];
const MEASURE_AFTER_MS = 600; // measurements wait until the controls have been still this long

// --- state, kept in the URL --------------------------------------------------------------------------

function readState() {
  const q = new URLSearchParams(window.location.search);
  const num = (key) => (q.get(key) === null || q.get(key) === "" ? null : Number(q.get(key)));
  const calibrate = q.get("range_min") !== null || q.get("range_max") !== null;
  const views = (q.get("view") || "").split(",").filter((v) => SECTIONS.includes(v));
  return {
    scale: num("scale") ?? data.defaults.scale,
    zero_point: num("zero_point") ?? data.defaults.zero_point,
    calibrate,
    range_min: num("range_min") ?? -8,
    range_max: num("range_max") ?? 8,
    size: num("size") ?? data.defaults.size,
    device: data.devices.some((d) => d.name === q.get("device")) ? q.get("device") : data.devices[0].name,
    kind: data.kinds.includes(q.get("kind")) ? q.get("kind") : data.kinds[0],
    calibration: num("calibration") ?? 8,
    view: views,
    controls: isTrue(q.get("controls")),
  };
}

let state = readState();

function activationQuery(measure) {
  const base = { size: state.size, device: state.device, measure };
  if (state.calibrate) return { ...base, range_min: state.range_min, range_max: state.range_max };
  return { ...base, scale: state.scale, zero_point: state.zero_point };
}

function writeState() {
  const q = activationQuery(null);
  const entries = {
    ...q,
    size: state.size === data.defaults.size ? null : state.size,
    device: state.device === data.devices[0].name ? null : state.device,
    scale: state.calibrate || state.scale === data.defaults.scale ? null : state.scale,
    zero_point: state.calibrate || state.zero_point === data.defaults.zero_point ? null : state.zero_point,
    kind: state.kind === data.kinds[0] ? null : state.kind,
    calibration: state.calibration === 8 ? null : state.calibration,
    view: state.view.length ? state.view.join(",") : null,
    controls: state.controls ? 1 : null,
  };
  writeURL(entries);
}

function syncControls() {
  form.elements.scale.value = String(state.scale);
  form.elements.zero_point.value = String(state.zero_point);
  role("zero-point-value").textContent = String(state.zero_point);
  form.elements.calibrate.checked = state.calibrate;
  form.elements.range_min.value = String(state.range_min);
  form.elements.range_max.value = String(state.range_max);
  for (const name of ["range_min", "range_max"]) form.elements[name].disabled = !state.calibrate;
  for (const name of ["scale", "zero_point"]) form.elements[name].disabled = state.calibrate;
  form.elements.size.value = String(state.size);
  form.elements.device.value = state.device;
  role("kind").value = state.kind;
  role("calibration").value = String(state.calibration);
  role("explorer-link").href = `/blocks/${state.kind}`;
}

// --- drawing -------------------------------------------------------------------------------------

function drawActivations(report) {
  renderVerdicts(role("verdicts"), report);
  const e = report.engine;
  role("engine").textContent = e.available
    ? `Engine: ${e.engine}, ${e.provider} on ${e.device}.`
    : `Engine: ${e.engine} cannot run int8 on ${e.device}: ${e.reason}. ` +
      "The curves and errors are computed on the CPU; nothing was timed.";
  drawCurves(role("curves"), report.activations);
  renderActivationTable(role("activation-table"), report);
  drawSpeed(
    role("speed-chart"),
    report.activations.map((a) => ({ label: a.title, latency: a.latency })),
    `Each function on ${report.size.toLocaleString("en-US")} elements, ${report.device}`,
  );
}

function drawBlock(report) {
  role("scheme").textContent =
    `${report.engine.engine}: ${report.scheme}, calibrated on ${report.calibration} seeded random inputs.`;
  renderBlockTable(role("block-table"), report);
  role("block-verdict").textContent = blockVerdict(report);
  renderProfiles(role("profiles"), report);
  drawSpeed(
    role("block-chart"),
    report.variants.map((v) => ({ label: `${v.name} (${v.activations.join(", ")})`, latency: v.latency })),
    `${report.kind}: float32 and int8 latency, ${report.device}`,
  );
}

// --- fetching --------------------------------------------------------------------------------------

const curves = new Latest();
const measurements = new Latest();

function showError(err) {
  if (err instanceof ApiError && err.status === 422) {
    paramError.textContent = err.message;
    return;
  }
  status.textContent = err instanceof ApiError ? `The server refused: ${err.message}` : "The request failed.";
}

const activationsURL = (measure) => `/api/quantization/activations?${query(activationQuery(measure))}`;
function blockURL(measure) {
  const values = { kind: state.kind, calibration: state.calibration, device: state.device, measure };
  return `/api/quantization/block?${query(values)}`;
}

// The curves and errors at once; the timings on arrival (a class landing on the page shares one
// measurement, which the server keeps a while) and then only when the reader asks, so that moving a
// control never queues seconds of device time.
function load({ measure = true, again = false } = {}) {
  paramError.textContent = "";
  curves.next();
  measurements.next();
  curves.run(
    (signal) => getJSON(activationsURL(false), { signal }),
    (report) => drawActivations(report),
    showError,
  );
  if (!measure) {
    status.textContent =
      "Settings changed: the curves and errors are up to date; press “Measure” to time them.";
    return;
  }
  measurements.run(
    async (signal) => {
      await pause(again ? 0 : MEASURE_AFTER_MS, signal);
      const started = performance.now();
      const tick = () => {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        status.textContent = `Measuring on ${state.device}… ${seconds} s`;
      };
      tick();
      const timer = window.setInterval(tick, 250);
      try {
        const fresh = again ? "&fresh=true" : "";
        const timing = { signal, fresh: true, retry: true };
        const acts = await getJSON(activationsURL(true) + fresh, timing);
        drawActivations(acts);
        signal.throwIfAborted();
        const blockReport = await getJSON(blockURL(true) + fresh, timing);
        return { seconds: (performance.now() - started) / 1000, blockReport };
      } finally {
        window.clearInterval(timer);
      }
    },
    ({ seconds, blockReport }) => {
      measured = measuredKey();
      drawBlock(blockReport);
      status.textContent = `Measured in ${seconds.toFixed(1)} s.`;
    },
    (err) => {
      status.textContent = "";
      showError(err);
    },
  );
}

// --- controls ------------------------------------------------------------------------------------

function readControls() {
  const n = (name) => Number(form.elements[name].value);
  state = {
    ...state,
    scale: n("scale"),
    zero_point: n("zero_point"),
    calibrate: form.elements.calibrate.checked,
    range_min: n("range_min"),
    range_max: n("range_max"),
    size: n("size"),
    device: form.elements.device.value,
    kind: role("kind").value,
    calibration: Number(role("calibration").value),
  };
}

function changed() {
  readControls();
  syncControls();
  writeState();
  load({ measure: false });
}

form.addEventListener("input", changed);
form.addEventListener("submit", (event) => event.preventDefault());
role("kind").addEventListener("change", changed);
role("calibration").addEventListener("change", changed);
// "Measure" times the settings on screen; pressed again on the same settings, it measures anew
const measuredKey = () => activationsURL(true) + blockURL(true);
let measured = null;
role("measure").addEventListener("click", () => load({ again: measured === measuredKey() }));

// An embed shows the sections asked for (default: verdict, curves and speed), and its controls only
// with controls=1.
if (data.embed) {
  const shown = state.view.length ? state.view : ["verdict", "curves", "speed"];
  for (const section of document.querySelectorAll("[data-section]")) {
    const name = section.dataset.section;
    section.hidden = name === "controls" ? !state.controls : !shown.includes(name);
  }
}

syncControls();
load();
