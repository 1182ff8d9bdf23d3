// One side's controls on /compare: what it is (a block kind or a whole network) and its parameters,
// from the schema the page was handed. Every control's name is the parameter's, with the side's prefix
// in its id, so that both sides' controls live on one page. The state they edit lives in the URL as
// `a`, `a.in_channels`, ... (compare.js reads and writes it).

import { el } from "./dom.js";
import { isTrue } from "./url-state.js";

export const NETWORK = "network:";
export const NETWORK_PARAMS = ["height", "width", "batch"];

// The parameters of a side's kind: a block's schema, or a network's input size.
export function paramsOf(kind, catalog) {
  if (kind.startsWith(NETWORK)) {
    const net = catalog.networks.find((n) => n.kind === kind);
    const size = net?.input_size ?? 224;
    return [
      { name: "height", type: "integer", default: size, min: 1, help: "Input height." },
      { name: "width", type: "integer", default: size, min: 1, help: "Input width." },
      { name: "batch", type: "integer", default: 1, min: 1, help: "Batch size." },
    ];
  }
  return catalog.blocks.find((b) => b.kind === kind)?.params ?? [];
}

export const deployable = (kind, catalog) => Boolean(catalog.blocks.find((b) => b.kind === kind)?.deployable);

// A side's values from the page's query (`side.name`), typed by its kind's schema; a value that does
// not parse stays a string, so that the server's 422 names it.
export function sideFromQuery(side, query, catalog, fallback) {
  const kind = query[side] || fallback;
  const values = {};
  for (const p of paramsOf(kind, catalog)) {
    const raw = query[`${side}.${p.name}`];
    if (raw === undefined || raw === "") values[p.name] = p.default;
    else if (p.type === "integer") values[p.name] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
    else if (p.type === "boolean") values[p.name] = isTrue(raw);
    else values[p.name] = raw;
  }
  const form = query[`${side}.form`] === "deployed" && deployable(kind, catalog) ? "deployed" : "train";
  return { kind, values, form };
}

// The query entries of a side: its kind, and the values that differ from the defaults.
export function sideEntries(side, state, catalog) {
  const out = { [side]: state.kind };
  for (const p of paramsOf(state.kind, catalog)) {
    const v = state.values[p.name];
    if (v !== undefined && v !== p.default) out[`${side}.${p.name}`] = v;
  }
  if (state.form === "deployed") out[`${side}.form`] = "deployed";
  return out;
}

function control(side, p, value, onChange) {
  const id = `cmp-${side}-${p.name}`;
  const send = (v, final = true) => onChange(p.name, v, final);
  let input;
  if (p.choices) {
    input = el(
      "select",
      { id, name: p.name },
      ...p.choices.map((c) => el("option", { value: c }, String(c))),
    );
    input.value = String(value);
    input.addEventListener("change", () => send(p.type === "integer" ? Number(input.value) : input.value));
  } else if (p.type === "boolean") {
    input = el("input", { id, name: p.name, type: "checkbox" });
    input.checked = Boolean(value);
    input.addEventListener("change", () => send(input.checked));
  } else {
    input = el("input", {
      id,
      name: p.name,
      type: "number",
      inputmode: "numeric",
      min: p.min ?? null,
      max: p.max ?? null,
      value: String(value),
    });
    const read = () => (/^-?\d+$/.test(input.value) ? Number(input.value) : input.value);
    input.addEventListener("input", () => send(read(), false));
    input.addEventListener("change", () => send(read()));
  }
  return el(
    "div",
    { class: `cmp-control control-${p.type}`, "data-param": p.name },
    el("label", { for: id, title: p.help }, p.name),
    input,
    el("p", { class: "control-error", role: "alert", "data-error": p.name, hidden: true }),
  );
}

// Fill `form` with the side's controls. onChange(name, value, final); name "form" for the form.
export function buildControls(form, side, state, catalog, onChange) {
  const rows = paramsOf(state.kind, catalog).map((p) => control(side, p, state.values[p.name], onChange));
  if (deployable(state.kind, catalog)) {
    const p = {
      name: "form",
      type: "string",
      choices: ["train", "deployed"],
      help: "Training-time or deployed.",
    };
    rows.unshift(control(side, p, state.form, onChange));
  }
  form.replaceChildren(...rows);
  form.onsubmit = (e) => e.preventDefault();
}

// The "what" select: every block kind, then every network.
export function fillKinds(select, catalog, current) {
  const option = (x) => el("option", { value: x.kind }, x.title);
  select.replaceChildren(
    el("optgroup", { label: "Blocks" }, ...catalog.blocks.map(option)),
    el("optgroup", { label: "Whole networks" }, ...catalog.networks.map(option)),
  );
  select.value = current;
}

// Mark the controls a 422 names (`a.groups`) and clear the others; returns the messages not placed.
export function showErrors(forms, byParam) {
  for (const form of Object.values(forms)) {
    for (const p of form?.querySelectorAll("[data-error]") ?? []) {
      p.hidden = true;
      p.textContent = "";
    }
  }
  const rest = [];
  for (const [name, message] of Object.entries(byParam)) {
    const [side, param] = name.split(/\.(.*)/s);
    const slot = param && forms[side]?.querySelector(`[data-error="${param}"]`);
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
    } else {
      rest.push(`${name}: ${message}`);
    }
  }
  return rest;
}
