// Page wiring for /blocks/{kind} and /embed/{kind}: the state from the URL, controls from the
// schema, and the table of views (explorer-views.js) run against each new analysis: the fast views
// at once, the rest in the next task, the ones that make the server build blocks debounced, and
// measurements only when asked for. Beside each analysis it fetches the same block at g = 1 (the
// reference every total's change is given against, and the top of the held colour scale); with
// "keep multiply-adds fixed" (ShuffleNet V2's G2) the channel controls hold the g = 1 block's
// widths and the block analysed is the one the server widened for the chosen group count.

import * as api from "./api.js";
import { Controls } from "./controls.js";
import { metricMax } from "./diagram.js";
import { el, pageData, role } from "./dom.js";
import { wireDownloads } from "./downloads.js";
import { snippet } from "./embed.js";
import { heightReporter } from "./embed-height.js";
import { VIEWS } from "./explorer-views.js";
import { METRICS, signedPercent, studentText } from "./format.js";
import { loadDevices } from "./latency.js";
import { Latest, pause } from "./latest.js";
import { plotted } from "./plot.js";
import { blockValues, isTrue, nonDefault, writeURL } from "./url-state.js";
import { advice, channelStep, validGroups } from "./valid.js";

const { kind, spec, embed, controls: withControls = !embed, query = {} } = pageData();
// An embed tells the page around it how tall it is (static/js/embed-host.js resizes the iframe).
const postHeight = heightReporter(embed);
const schema = spec.params;
const gp = spec.group_param;
const COMMON = new Set(["batch", "height", "width", "seed"]);
// G2's switch only where the group count is the lesson (the kind has the group-count sweep)
const canFix = (spec.widen || []).length > 0 && spec.views.includes("sweep");

// The page's state, in one object. The controls (values, metric, compare, device, fixed, scale) are
// all in the URL; the analysis on screen and what the views loaded for it are replaced together.
const state = {
  values: blockValues(schema, query),
  metric: query.metric in METRICS && query.metric !== "elementwise" ? query.metric : "mac",
  compare: isTrue(query.compare) && spec.views.includes("compare"),
  device: query.device || "cpu",
  fixed: canFix && isTrue(query.fixed_madds),
  scale: query.scale === "each" ? "each" : "fixed",
  series: null, // fixed multiply-adds: the server's points for the g = 1 block in `values`
  seriesKey: "",
  block: null, // the values analysed (the widened channels when multiply-adds are held)
  analysis: null,
  reference: null, // the same block at g = 1 (kinds with a group count)
  scaleRef: null, // the analysis the held colour scale also spans
  scaleMax: null,
  scaleOf: "",
  loaded: {}, // view name -> what that view loaded for the analysis on screen
};

const requests = new Latest(); // analyses asked for: only the newest answer is shown
const onScreen = new Latest(); // everything drawn from the analysis on screen

function urlEntries() {
  const entries = { ...nonDefault(schema, state.values) };
  if (state.fixed) entries.fixed_madds = 1;
  if (state.metric !== "mac") entries.metric = state.metric;
  if (state.scale !== "fixed") entries.scale = state.scale;
  if (state.compare) entries.compare = 1;
  if (state.device !== "cpu") entries.device = state.device;
  if (embed && query.view) entries.view = query.view;
  if (embed && withControls) entries.controls = 1;
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

// Each view with the page it draws on; views this page does not show, or that do not apply to this
// kind (the registry's list), are left out.
const views = VIEWS.flatMap((view) => {
  if (!spec.views.includes(view.name)) return [];
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
      if (view.follow) followUp(entry, data);
    },
    (err) => page.status(view.failed(err, options)),
  );
  const again = view.button && role(view.button, page.root);
  if (again) again.disabled = false;
}

// What a view learns after it is drawn (a slower proof the server runs once), drawn when it comes.
function followUp(entry, data) {
  const { view, page } = entry;
  onScreen.run(
    (signal) => view.follow(page, data, signal),
    (more) => {
      if (!more || state.loaded[view.name] !== data) return; // nothing new, or reloaded meanwhile
      state.loaded[view.name] = more;
      page.status(view.done?.(more, page) ?? "");
      draw(entry);
    },
    (err) => page.status(view.followFailed?.(err) ?? ""),
  );
}

// ----- only what is on screen loads: a class dragging sliders asks the server for little -----

const near = new Set(); // views whose section is on screen or close to it
const offscreen = new Set(); // views the analysis on screen has not loaded, nobody being able to see them
const watcher =
  "IntersectionObserver" in window
    ? new IntersectionObserver(
        (records) => {
          for (const record of records) {
            const entry = views.find((e) => e.page.root === record.target);
            if (!entry) continue;
            if (!record.isIntersecting) {
              near.delete(entry);
              continue;
            }
            near.add(entry);
            if (offscreen.delete(entry)) catchUp(entry);
          }
        },
        { rootMargin: "25% 0px" },
      )
    : null;
const onScreenNow = (entry) => !watcher || near.has(entry);

function catchUp(entry) {
  if (!state.analysis) return;
  entry.page.status("");
  document.body.dataset.busy = "1";
  onScreen.run(
    async () => {
      await show(entry);
      await plotted();
    },
    () => {
      if (!staging) delete document.body.dataset.busy;
    },
  );
}
let staging = false; // a new analysis's views are being drawn

const stage = (name) => views.filter((entry) => entry.view.stage === name);
for (const entry of stage("later")) watcher?.observe(entry.page.root);

// The held colour scale spans the block on screen and its reference (g = 1, or the defaults).
function computeScale() {
  if (state.scale === "each" || !state.analysis) {
    state.scaleMax = null;
    return;
  }
  const metric = state.metric === "latency" ? "mac" : state.metric;
  state.scaleMax = metricMax([state.analysis, state.scaleRef], metric) || null;
  state.scaleOf = gp
    ? `the largest op of this block or of the same block at ${gp} = 1`
    : "the largest op of this block or of the block at its defaults";
}

function showAnalysis({ values, analysis, reference, scaleRef }) {
  showRefusal(null);
  syncControls();
  if (analysis === state.analysis && reference === state.reference) return; // the same answer
  onScreen.next();
  state.block = values;
  state.analysis = analysis;
  state.reference = reference;
  state.scaleRef = scaleRef;
  state.loaded = {};
  computeScale();
  syncControls();
  document.body.dataset.busy = "1"; // cleared when every view has caught up (tests wait on it)
  offscreen.clear();
  staging = true;
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
        if (!onScreenNow(entry) && applies(entry)) {
          offscreen.add(entry); // loaded when scrolled to
          entry.page.status("Computed when this part of the page is on screen.");
          continue;
        }
        await show(entry); // one after the other: each makes the server build and trace blocks
      }
      await plotted(); // the charts, too, once Plotly has arrived
    },
    () => {
      staging = false;
      delete document.body.dataset.busy;
    },
  );
}

// A refusal in words a student can act on: the server's message, and the values that would work.
function messagesFor(byParam) {
  const out = {};
  for (const [name, msg] of Object.entries(byParam)) {
    out[name] = [studentText(msg), advice(spec, state.values, name)].filter(Boolean).join(" ");
  }
  return out;
}

function showRefusal(err) {
  const byParam = err instanceof api.ApiError ? messagesFor(err.byParam()) : {};
  const known = Object.keys(byParam).filter((k) => schema.some((p) => p.name === k));
  const beside = known.filter((name) => controls?.wrap(name));
  controls?.showErrors(err ? byParam : {});
  const text = known.length
    ? known.map((name) => `${name}: ${byParam[name]}`).join(" ")
    : studentText(err?.message ?? "");
  const diagram = role("diagram");
  if (err && !state.analysis && diagram) {
    diagram.textContent =
      beside.length === known.length && known.length
        ? `This block cannot be built with ${known.join(", ")} as set: see the message beside the control.`
        : `This block cannot be built as set. ${text}`;
  }
  document.body.classList.toggle("stale", Boolean(err));
  const banner = role("errors");
  if (banner) {
    const show = Boolean(err) && !(beside.length && beside.length === known.length);
    banner.hidden = !show;
    banner.textContent = show ? `This block cannot be built as set. ${text}` : "";
  } else if (err && !known.length) {
    controls?.showErrors({ [schema[0].name]: studentText(err.message) });
  }
  postHeight();
}

// The values analysed: with multiply-adds held, the server's widths for the chosen group count
// (a group count it has no widths for moves to the nearest one it has).
function blockOf(values) {
  if (!state.fixed || !state.series) return { ...values };
  const points = state.series.points;
  const g = values[gp];
  const point =
    points.find((p) => p.g === g) ?? points.reduce((a, b) => (Math.abs(b.g - g) < Math.abs(a.g - g) ? b : a));
  if (point.g !== g) {
    state.values[gp] = point.g;
    controls?.set(gp, point.g);
    writeURL(urlEntries());
  }
  return { ...values, ...point.channels, [gp]: point.g };
}

const referenceValues = () => ({ ...state.values, [gp]: 1 });

async function ensureSeries(signal) {
  const key = JSON.stringify(referenceValues());
  if (state.series && state.seriesKey === key) return;
  const series = await api.fixedMadds(kind, referenceValues(), { signal });
  state.series = series;
  state.seriesKey = key;
}

const defaults = () => Object.fromEntries(schema.map((p) => [p.name, p.default]));

async function analyseAll(signal) {
  if (state.fixed) await ensureSeries(signal);
  const values = blockOf(state.values);
  const quiet = (promise) => promise.catch(() => null);
  const [analysis, reference, scaleRef] = await Promise.all([
    api.analyse(kind, values, { signal }),
    gp ? quiet(api.analyse(kind, referenceValues(), { signal })) : null,
    gp ? null : quiet(api.analyse(kind, defaults(), { signal })),
  ]);
  return { values, analysis, reference, scaleRef: reference ?? scaleRef };
}

function update() {
  requests.next();
  requests.run(analyseAll, showAnalysis, showRefusal);
}

// ----- embed chrome, snippet and downloads -----

const configText = (separator, join) =>
  Object.entries(nonDefault(schema, state.values))
    .map(([k, v]) => `${k}${separator}${v}`)
    .join(join);

function chosenViews() {
  // the view checkboxes only: the "with the controls" box sits in the same fieldset
  return [...document.querySelectorAll('[data-role="embed-views"] input[name="embed_view"]:checked')].map(
    (box) => box.value,
  );
}

function updateSnippet() {
  const area = role("embed-snippet");
  if (!area) return;
  const withBoxes = role("embed-controls")?.checked ?? false;
  area.value = snippet(kind, spec.title, window.location.search, chosenViews(), { controls: withBoxes });
  const copied = role("embed-copied");
  if (copied) copied.textContent = "";
}

function updateLinks() {
  const config = role("embed-config");
  if (config) config.textContent = configText("=", ", ");
  const open = role("open-full");
  if (open) {
    const params = new URLSearchParams(window.location.search);
    params.delete("view");
    params.delete("controls");
    const search = params.toString();
    open.href = `/blocks/${kind}${search ? `?${search}` : ""}`;
  }
  updateSnippet();
}

wireDownloads(() => ({
  name: `${kind}-${configText("", "-") || "default"}`,
  analysis: state.analysis,
  latency: state.loaded.latency?.byNode ?? null,
  diagram: role("diagram")?.querySelector("svg"),
}));

if (embed) new ResizeObserver(postHeight).observe(document.body);

// ----- controls -----

let typing = null;
function onChange(name, value, { final }) {
  state.values[name] = value;
  writeURL(urlEntries());
  syncControls();
  markPreset();
  clearTimeout(typing);
  if (final) update();
  else typing = setTimeout(update, 60); // while dragging: when the slider rests a moment
}

const form = role("controls");
const shownSchema = embed ? schema.filter((p) => !COMMON.has(p.name)) : schema;
const controls = form && withControls ? new Controls(form, shownSchema, state.values, onChange) : null;

// The sliders offer only what the block accepts: the group count steps through the divisors of the
// channels (with multiply-adds held, through the group counts the server found widths for), and a
// channel slider through multiples of g where g must divide it.
function syncControls() {
  if (!controls || !gp) return;
  const g = state.values[gp];
  if (state.fixed && state.series) {
    const gs = state.series.points.map((p) => p.g);
    controls.setChoices(gp, gs, g, `Group counts that hold the multiply-adds within ${tolerance()}`);
  } else if (!state.fixed) {
    controls.setChoices(gp, validGroups(spec, state.values), g);
  }
  for (const name of Object.keys(spec.group_divides || {})) {
    const step = state.fixed ? 1 : channelStep(spec, name, state.values);
    if (Number.isInteger(state.values[name])) controls.setStep(name, step, state.values[name]);
  }
  showFixedReadout();
}

const tolerance = () => `±${((state.series?.tolerance ?? 0.02) * 100).toFixed(0)}%`;

// ----- keep multiply-adds fixed (G2) -----

function showFixedReadout() {
  const out = role("fixed-readout");
  if (!out) return;
  out.hidden = !state.fixed;
  for (const name of spec.widen || []) {
    controls?.wrap(name)?.classList.toggle("reference-width", state.fixed);
  }
  if (!state.fixed || !state.series) return;
  const point = state.series.points.find((p) => p.g === state.values[gp]);
  if (!point) return;
  const widths = Object.entries(point.channels)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  out.textContent =
    `${gp} = ${point.g}: ${widths} (the channel controls are the ${gp} = 1 widths); ` +
    `multiply-adds ${signedPercent(point.madds_deviation ?? 0, 2)} vs ${gp} = 1.`;
}

function fixedSwitch() {
  if (!controls || !canFix) return;
  const wrap = controls.wrap(gp);
  if (!wrap) return;
  const box = el("input", { type: "checkbox", name: "fixed_madds", "data-state": "fixed" });
  box.checked = state.fixed;
  const note = el("small", { class: "fixed-error", "data-role": "fixed-error", hidden: true });
  const label = el(
    "label",
    { class: "switch fixed-switch" },
    box,
    " keep multiply-adds fixed (G2): channels widen with g",
  );
  const readout = el("p", {
    class: "fixed-readout",
    "data-role": "fixed-readout",
    "aria-live": "polite",
    hidden: true,
  });
  (wrap.querySelector(".help") ?? wrap.querySelector(".control-inputs")).after(label, readout, note);
  box.addEventListener("change", async () => {
    note.hidden = true;
    try {
      await setFixed(box.checked);
    } catch (err) {
      box.checked = state.fixed;
      note.hidden = false;
      note.textContent = `Cannot hold the multiply-adds here: ${studentText(err.message)}`;
    }
  });
}

async function setFixed(on) {
  if (on === state.fixed) return;
  if (on) {
    // anchor at the g = 1 block with (nearly) the multiply-adds of the block on screen
    const sweep = await api.sweep(kind, state.block ?? state.values);
    const reference = sweep.fixed_madds.reference;
    if (!reference) {
      throw new Error(
        sweep.fixed_madds.target_madds
          ? "the g = 1 block to hold its multiply-adds at is over this server's memory limit"
          : "this block has no channels to widen",
      );
    }
    Object.assign(state.values, reference);
  } else if (state.block) {
    for (const name of spec.widen) state.values[name] = state.block[name]; // keep the block on screen
  }
  state.fixed = on;
  state.series = null;
  for (const name of spec.widen) controls?.set(name, state.values[name]);
  writeURL(urlEntries());
  syncControls();
  markPreset();
  update();
}

// ----- presets: a paper's settings, one click each -----

function presetMatches(preset) {
  return !state.fixed && Object.entries(preset.values).every(([k, v]) => state.values[k] === v);
}

function markPreset() {
  for (const button of document.querySelectorAll("[data-preset]")) {
    const preset = spec.presets[Number(button.dataset.preset)];
    button.setAttribute("aria-pressed", String(presetMatches(preset)));
  }
}

function presetButtons() {
  const box = role("presets");
  if (!box || !spec.presets?.length || !controls) {
    if (box) box.hidden = true;
    return;
  }
  const buttons = spec.presets.map((preset, i) =>
    el(
      "button",
      { type: "button", "data-preset": i, title: preset.source, "aria-pressed": "false" },
      preset.label,
    ),
  );
  box.replaceChildren(
    el("p", { class: "presets-title" }, "Published settings"),
    el("p", { class: "hint" }, spec.presets[0].source),
    el("div", { class: "preset-buttons" }, buttons),
  );
  box.hidden = false;
  box.addEventListener("click", (event) => {
    const button = event.target.closest("[data-preset]");
    if (!button) return;
    const preset = spec.presets[Number(button.dataset.preset)];
    state.fixed = false;
    const fixedBox = document.querySelector("input[name=fixed_madds]");
    if (fixedBox) fixedBox.checked = false;
    Object.assign(state.values, preset.values);
    for (const [name, value] of Object.entries(preset.values)) controls.set(name, value);
    writeURL(urlEntries());
    syncControls();
    markPreset();
    update();
  });
}

fixedSwitch();
presetButtons();
markPreset();

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
    computeScale();
    views.forEach(draw);
  });
}

const scaleSelect = document.querySelector("select[name=scale]");
if (scaleSelect) {
  scaleSelect.value = state.scale;
  scaleSelect.addEventListener("change", () => {
    state.scale = scaleSelect.value === "each" ? "each" : "fixed";
    writeURL(urlEntries());
    computeScale();
    views.filter((entry) => entry.view.name === "diagram").forEach(draw);
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

// A view's button (drawn with the page or by the view itself) loads it again, measuring; once it
// says "Measure again" (data-again), the server measures anew instead of answering from its cache.
for (const entry of views) {
  if (!entry.view.button) continue;
  entry.page.root.addEventListener("click", (event) => {
    const button = event.target.closest(`[data-role="${entry.view.button}"]`);
    if (state.analysis && button) load(entry, { measure: true, again: Boolean(button.dataset.again) });
  });
}

const embedButton = role("embed-button");
embedButton?.addEventListener("click", () => {
  const panel = role("embed-panel");
  panel.hidden = !panel.hidden;
  embedButton.setAttribute("aria-expanded", String(!panel.hidden));
  updateSnippet();
});
role("embed-panel")?.addEventListener("change", updateSnippet);
role("embed-copy")?.addEventListener("click", async () => {
  const area = role("embed-snippet");
  const copied = role("embed-copied");
  area.select();
  try {
    await navigator.clipboard.writeText(area.value);
    copied.textContent = "Copied. Paste it into your course page's HTML.";
  } catch {
    copied.textContent = "Select the text above and copy it (Ctrl+C, or ⌘C on a Mac).";
  }
});

for (const entry of views) entry.page.root.hidden = !applies(entry);
writeURL(urlEntries());
syncControls();
update();
