// Page wiring for /blocks/{kind} and /embed/{kind}: the state from the URL, controls from the
// schema, and the table of views (explorer-views.js) run against each new analysis: the fast views
// at once, the rest in the next task, the ones that make the server build blocks debounced, and
// measurements only when asked for.

import * as api from "./api.js";
import { Controls } from "./controls.js";
import { pageData, role } from "./dom.js";
import { wireDownloads } from "./downloads.js";
import { snippet } from "./embed.js";
import { VIEWS } from "./explorer-views.js";
import { METRICS } from "./format.js";
import { loadDevices } from "./latency.js";
import { Latest, pause } from "./latest.js";
import { blockValues, nonDefault, writeURL } from "./url-state.js";

const { kind, spec, embed, query = {} } = pageData();
const schema = spec.params;

// The page's state, in one object. The controls (values, metric, compare, device) are all in the
// URL; the analysis on screen and what the views loaded for it are replaced together.
const state = {
  values: blockValues(schema, query),
  metric: query.metric in METRICS && query.metric !== "elementwise" ? query.metric : "mac",
  compare: ["1", "true"].includes(query.compare),
  device: query.device || "cpu",
  analysis: null,
  loaded: {}, // view name -> what that view loaded for the analysis on screen
};

const requests = new Latest(); // analyses asked for: only the newest answer is shown
const onScreen = new Latest(); // everything drawn from the analysis on screen

function urlEntries() {
  const entries = { ...nonDefault(schema, state.values) };
  if (state.metric !== "mac") entries.metric = state.metric;
  if (state.compare) entries.compare = 1;
  if (state.device !== "cpu") entries.device = state.device;
  if (embed && query.view) entries.view = query.view;
  return entries;
}

// ----- the views -----

function statusLine(name, root) {
  const line = role(`${name}-status`, root);
  return (text, busy = false) => {
    if (line) {
      line.textContent = text || "";
      line.classList.toggle("busy", busy);
    } else if (text && !busy) {
      root.textContent = text; // a view without a status line says what went wrong in its place
    }
  };
}

// Each view with the page it draws on; views this page does not show are left out.
const views = VIEWS.flatMap((view) => {
  const root = view.root ? role(view.root) : document.getElementById(`view-${view.name}`);
  if (!root) return [];
  const part = (name) => role(name, root);
  return [{ view, page: { kind, spec, state, root, part, status: statusLine(view.name, root) } }];
});

const applies = ({ view, page }) => view.applies?.(page) ?? true;
const waitsForData = ({ view }) => Boolean(view.load) && !view.onDemand && !(view.name in state.loaded);

// Draw a view from what the page has (nothing yet when it still waits for its data).
function draw(entry) {
  const { view, page } = entry;
  const on = applies(entry);
  page.root.hidden = !on;
  if (!on || !state.analysis || waitsForData(entry)) return;
  view.draw(page, state.loaded[view.name]);
}

// Draw a view, loading first what it needs.
async function show(entry) {
  if (applies(entry) && state.analysis && waitsForData(entry)) await load(entry);
  else draw(entry);
}

async function load(entry, options = {}) {
  const { view, page } = entry;
  const button = view.button && role(view.button, page.root);
  if (button) button.disabled = true;
  await onScreen.run(
    async (signal) => {
      const text = await view.loading?.(page, options);
      signal.throwIfAborted();
      if (text) page.status(text, true);
      return view.load(page, signal, options);
    },
    (data) => {
      state.loaded[view.name] = data;
      page.status(view.done?.(data, page) ?? "");
      if (view.shares) views.forEach(draw);
      else draw(entry);
    },
    (err) => page.status(view.failed(err, options)),
  );
  if (button) button.disabled = false;
}

const stage = (name) => views.filter((entry) => entry.view.stage === name);

function showAnalysis(analysis) {
  showRefusal(null);
  if (analysis === state.analysis) return; // back to the values on screen: the same answer
  onScreen.next();
  state.analysis = analysis;
  state.loaded = {};
  document.body.dataset.busy = "1"; // cleared when every view has caught up (tests wait on it)
  stage("first").forEach(show);
  onScreen.run(
    async (signal) => {
      await pause(0, signal);
      updateLinks();
      stage("soon").forEach(show);
      document.body.dataset.ready = "1"; // every view that needs no more data is drawn
      await pause(250, signal); // a slider still moving starts over before the server builds more
      for (const entry of stage("later")) {
        signal.throwIfAborted();
        await show(entry); // one after the other: each makes the server build and trace blocks
      }
    },
    () => delete document.body.dataset.busy,
  );
}

function showRefusal(err) {
  const byParam = err instanceof api.ApiError ? err.byParam() : {};
  const known = Object.keys(byParam).filter((k) => schema.some((p) => p.name === k));
  controls?.showErrors(err ? byParam : {});
  const diagram = role("diagram");
  if (err && !state.analysis && diagram) {
    diagram.textContent = known.length
      ? `The server refused ${known.join(", ")}: see the message beside the control.`
      : `The server refused this configuration: ${err.message}`;
  }
  document.body.classList.toggle("stale", Boolean(err));
  const banner = role("errors");
  if (banner) {
    banner.hidden = !err;
    banner.textContent = err ? `The server refused this configuration: ${err.message}` : "";
  } else if (err && !known.length) {
    controls?.showErrors({ [schema[0].name]: err.message });
  }
}

function update() {
  requests.next();
  requests.run((signal) => api.analyse(kind, state.values, { signal }), showAnalysis, showRefusal);
}

// ----- embed chrome, snippet and downloads -----

const configText = (separator, join) =>
  Object.entries(nonDefault(schema, state.values))
    .map(([k, v]) => `${k}${separator}${v}`)
    .join(join);

function updateSnippet() {
  const area = role("embed-snippet");
  const select = role("embed-view");
  const chosen = select ? [...select.selectedOptions].map((o) => o.value) : [];
  if (area) area.value = snippet(kind, spec.title, window.location.search, chosen);
}

function updateLinks() {
  const config = role("embed-config");
  if (config) config.textContent = configText("=", ", ");
  const open = role("open-full");
  if (open) {
    const search = window.location.search.replace(/([?&])view=[^&]*&?/, "$1").replace(/[?&]$/, "");
    open.href = `/blocks/${kind}${search}`;
  }
  updateSnippet();
}

wireDownloads(() => ({
  name: `${kind}-${configText("", "-") || "default"}`,
  analysis: state.analysis,
  latency: state.loaded.latency?.byNode ?? null,
  diagram: role("diagram")?.querySelector("svg"),
}));

// ----- controls -----

let typing = null;
function onChange(name, value, { final }) {
  state.values[name] = value;
  writeURL(urlEntries());
  clearTimeout(typing);
  if (final) update();
  else typing = setTimeout(update, 30);
}

const form = role("controls");
const controls = form ? new Controls(form, schema, state.values, onChange) : null;

const metricSelect = document.querySelector("select[name=metric]");
if (metricSelect) {
  metricSelect.value = state.metric;
  metricSelect.addEventListener("change", () => {
    state.metric = metricSelect.value;
    writeURL(urlEntries());
    if (state.metric === "latency" && !state.loaded.latency) {
      const hint = role("latency-status");
      if (hint) hint.textContent = "Press “Measure latency” to colour the diagram by latency share.";
    }
    views.forEach(draw);
  });
}

const compareBox = document.querySelector("input[name=compare]");
if (compareBox) {
  compareBox.checked = state.compare;
  compareBox.addEventListener("change", () => {
    state.compare = compareBox.checked;
    writeURL(urlEntries());
    views.filter((entry) => entry.view.name === "compare").forEach(show);
  });
}

const deviceSelect = document.querySelector("select[name=device]");
loadDevices(deviceSelect, state.device);
deviceSelect?.addEventListener("change", () => {
  state.device = deviceSelect.value;
  writeURL(urlEntries());
});

// A view's button (drawn with the page or by the view itself) loads it again, measuring.
for (const entry of views) {
  if (!entry.view.button) continue;
  entry.page.root.addEventListener("click", (event) => {
    if (state.analysis && event.target.closest(`[data-role="${entry.view.button}"]`))
      load(entry, { measure: true });
  });
}

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

for (const entry of views) entry.page.root.hidden = !applies(entry);
writeURL(urlEntries());
update();
