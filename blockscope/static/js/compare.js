// Page wiring for /compare and /embed/compare: both sides' state from the URL (`a`, `a.in_channels`,
// ..., `predict`, `guess`, `by`), their controls, the comparison asked of /api/compare on every change,
// the measurement only when asked for (both sides in one job), and predict-first: the figures stay
// hidden until the student has said which side will be faster and by about how much.

import * as api from "./api.js";
import { FIGURE } from "./colors.js";
import {
  buildControls,
  fillKinds,
  NETWORK,
  paramsOf,
  showErrors,
  sideEntries,
  sideFromQuery,
} from "./compare-controls.js";
import { guessVerdict, renderRoofDots } from "./compare-predict.js";
import {
  fitDiagrams,
  renderClaim,
  renderDiagrams,
  renderLatency,
  renderPairs,
  renderTotals,
  shapeLine,
} from "./compare-views.js";
import { el, pageData, role } from "./dom.js";
import { heightReporter } from "./embed-height.js";
import { studentText } from "./format.js";
import { explain } from "./latency.js";
import { Latest } from "./latest.js";
import { isTrue, urlFor, writeURL } from "./url-state.js";

const data = pageData();
const { query = {}, embed, controls: withControls } = data;
// An embed tells the page around it how tall it is (static/js/embed-host.js resizes the iframe).
const postHeight = heightReporter(embed);
const catalog = { blocks: data.blocks, networks: data.networks };
const SIDES = ["a", "b"];
const GUESSES = ["a", "b", "same"];

const state = {
  a: sideFromQuery("a", query, catalog, "conv"),
  b: sideFromQuery("b", query, catalog, "depthwise_separable"),
  predict: isTrue(query.predict),
  guess: GUESSES.includes(query.guess) ? query.guess : null,
  by: Number(query.by) >= 1 ? Number(query.by) : null,
  comparison: null,
  measured: null, // the comparison with latency, for the sides on screen
};
// a guess is whole with its factor ("about the same" needs none)
const whole = (guess, by) => Boolean(guess && (by || guess === "same"));
state.revealed = !state.predict || whole(state.guess, state.by);

const requests = new Latest();
const measuring = new Latest();

function entries() {
  const out = { ...sideEntries("a", state.a, catalog), ...sideEntries("b", state.b, catalog) };
  if (state.predict) out.predict = 1;
  if (state.predict && state.revealed && state.guess) {
    out.guess = state.guess;
    if (state.guess !== "same") out.by = state.by;
  }
  if (embed && withControls) out.controls = 1;
  return out;
}

// The /api/compare query of the sides on screen.
const apiQuery = () => {
  const out = { ...sideEntries("a", state.a, catalog), ...sideEntries("b", state.b, catalog) };
  return new URLSearchParams(Object.entries(out).map(([k, v]) => [k, String(v)])).toString();
};

// ----- drawing -----

const banner = role("errors");

function showError(text) {
  banner.textContent = text || "";
  banner.hidden = !text;
}

function draw() {
  const c = state.measured ?? state.comparison;
  if (!c) return;
  for (const side of SIDES) {
    role(`title-${side}`).textContent = c[side].title;
    role(`shape-${side}`).textContent = shapeLine(c[side]);
  }
  role("sides").classList.toggle("networks", Boolean(c.a.network || c.b.network));
  renderDiagrams([role("diagram-a"), role("diagram-b")], c, role("scale-note"));
  renderTotals(role("totals"), role("sentences"), c);
  renderClaim(role("claim"), c);
  renderLatency(role("latency"), c);
  renderRoofDots(role("roofline"), c);
  if (role("pairs")) renderPairs(role("pairs"), c);
  const title = role("embed-title");
  if (title) title.textContent = `${c.a.title} against ${c.b.title}`;
  document.title = `${c.a.title} against ${c.b.title} · BlockScope`;
  predictView();
}

function predictView() {
  const panel = role("predict");
  const hide = state.predict && !state.revealed;
  panel.hidden = !state.predict;
  role("figures").hidden = hide;
  if (hide) role("claim").hidden = true;
  const chosen = panel.querySelector("input[name=guess]:checked");
  role("reveal").disabled = !whole(chosen?.value, role("guess-by").value);
  role("scale-note").hidden = hide; // its colour scale's top is a figure too
  role("reveal").hidden = state.revealed;
  const result = role("guess-result");
  result.textContent = state.revealed && state.guess ? guessVerdict(state, state.measured) : "";
}

// ----- the comparison, on every change -----

function refresh() {
  writeURL(entries());
  // what the sides were before: an answer or a measurement still on its way is theirs, not these
  requests.next();
  measuring.next();
  const status = role("measure-status");
  status.textContent = "";
  status.classList.remove("busy");
  role("measure").disabled = false;
  state.measured = null;
  document.body.dataset.busy = "1";
  requests.run(
    (signal) => api.getJSON(`/api/compare?${apiQuery()}`, { signal }),
    (c) => {
      state.comparison = c;
      showError("");
      showErrors(forms(), {});
      draw();
      delete document.body.dataset.busy;
      if (state.predict && state.revealed && state.guess) measure();
    },
    (err) => {
      delete document.body.dataset.busy;
      const placed =
        err instanceof api.ApiError && err.status === 422 ? showErrors(forms(), err.byParam()) : null;
      showError(placed ? placed.join("; ") : studentText(err.message));
    },
  );
}

const forms = () => ({ a: role("controls-a"), b: role("controls-b") });

function measure() {
  measuring.next();
  const button = role("measure");
  const status = role("measure-status");
  button.disabled = true;
  status.textContent = "Measuring both sides on this server, in alternating rounds…";
  status.classList.add("busy");
  measuring.run(
    (signal) =>
      api.getJSON(`/api/compare?${apiQuery()}&measure=true`, {
        signal,
        fresh: true,
        retry: true,
        onWait: (s) => {
          status.textContent = `The server is busy; asking again in ${s} s…`;
        },
      }),
    (c) => {
      state.measured = c;
      status.textContent = "";
      status.classList.remove("busy");
      button.disabled = false;
      button.textContent = "Measure again";
      draw();
    },
    (err) => {
      status.textContent = explain(err);
      status.classList.remove("busy");
      button.disabled = false;
    },
  );
}

// ----- controls -----

let typing = null;
function sideChanged(side, name, value, final) {
  const s = state[side];
  if (name === "form") s.form = value;
  else s.values[name] = value;
  clearTimeout(typing);
  typing = setTimeout(refresh, final ? 0 : 400);
}

function kindChanged(side, kind) {
  const before = state[side];
  const values = {};
  // the parameters both kinds take keep their values (channels, input size)
  const sameFamily = kind.startsWith(NETWORK) === before.kind.startsWith(NETWORK);
  for (const p of paramsOf(kind, catalog)) {
    values[p.name] = sameFamily && p.name in before.values ? before.values[p.name] : p.default;
  }
  state[side] = { kind, values, form: "train" };
  buildSide(side);
  refresh();
}

function buildSide(side) {
  const select = role(`kind-${side}`);
  const form = role(`controls-${side}`);
  if (!select || !form) return;
  fillKinds(select, catalog, state[side].kind);
  select.onchange = () => kindChanged(side, select.value);
  buildControls(form, side, state[side], catalog, (name, value, final) =>
    sideChanged(side, name, value, final),
  );
}

function swap() {
  [state.a, state.b] = [state.b, state.a];
  if (state.guess === "a" || state.guess === "b") state.guess = state.guess === "a" ? "b" : "a";
  SIDES.forEach(buildSide);
  refresh();
}

// ----- presets, predict-first, embed -----

function presets() {
  const root = role("presets");
  if (!root) return;
  root.replaceChildren(
    ...data.presets.map((p) => {
      const q = { ...p.query };
      if (state.predict) q.predict = 1;
      const link = el("a", { class: "cmp-preset", href: urlFor("/compare", q), title: p.claim }, p.title);
      link.addEventListener("click", (e) => {
        e.preventDefault();
        const query = Object.fromEntries(Object.entries(p.query).map(([k, v]) => [k, String(v)]));
        for (const side of SIDES) state[side] = sideFromQuery(side, query, catalog, state[side].kind);
        if (state.predict) resetGuess();
        SIDES.forEach(buildSide);
        refresh();
      });
      return link;
    }),
  );
}

function resetGuess() {
  state.guess = null;
  state.by = null;
  state.revealed = false;
  for (const r of document.querySelectorAll("input[name=guess]")) r.checked = false;
  role("guess-by").value = "";
}

function wirePredict() {
  const toggle = role("predict-switch");
  if (toggle) {
    toggle.checked = state.predict;
    toggle.addEventListener("change", () => {
      state.predict = toggle.checked;
      if (state.predict) resetGuess();
      else state.revealed = true;
      writeURL(entries());
      presets();
      predictView();
    });
  }
  const panel = role("predict");
  for (const r of panel.querySelectorAll("input[name=guess]")) {
    r.checked = r.value === state.guess;
    r.addEventListener("change", predictView);
  }
  role("guess-by").value = state.by ? String(state.by) : "";
  role("guess-by").addEventListener("change", predictView);
  role("reveal").addEventListener("click", () => {
    state.guess = panel.querySelector("input[name=guess]:checked")?.value ?? null;
    state.by = Number(role("guess-by").value) || null;
    if (!whole(state.guess, state.by)) return;
    state.revealed = true;
    writeURL(entries());
    draw();
    measure();
  });
}

function snippet(controls) {
  const q = new URLSearchParams(apiQuery());
  if (controls) q.set("controls", "1");
  if (state.predict) q.set("predict", "1");
  const frame = el("iframe", {
    src: `${window.location.origin}/embed/compare?${q}`,
    title: "BlockScope: compare two blocks",
    width: "100%",
    height: controls ? 2200 : 1700,
    style: `border:1px solid ${FIGURE.line};border-radius:6px;display:block`,
    loading: "lazy",
    "data-blockscope": "",
  });
  const script = el("script", { src: `${window.location.origin}/static/js/embed-host.js`, async: true });
  return `${frame.outerHTML}\n${script.outerHTML}`;
}

function wireEmbed() {
  const button = role("embed-button");
  if (!button) return;
  const panel = role("embed-panel");
  const text = role("embed-snippet");
  const withControlsBox = role("embed-controls");
  const fill = () => {
    text.value = snippet(withControlsBox.checked);
  };
  button.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
    fill();
  });
  withControlsBox.addEventListener("change", fill);
}

// ----- start -----

SIDES.forEach(buildSide);
presets();
wirePredict();
wireEmbed();
role("swap")?.addEventListener("click", swap);
role("measure").addEventListener("click", measure);
new ResizeObserver(() => {
  fitDiagrams([role("diagram-a"), role("diagram-b")]);
  postHeight();
}).observe(document.body);
refresh();
