// One labelled control per parameter of /api/blocks' schema: a slider with a number box for
// integers, a select for choices, a checkbox for booleans. The control's `name` is the parameter's.
// Sliders offer only values the block accepts: the group count's slider steps through a list
// (setChoices: the divisors of the channels), a channel slider through multiples of g (setStep).
// The number box beside a slider takes any value, which the server then checks.

import { el } from "./dom.js";

// Sliders span the useful range; the number box beside accepts anything up to the server's limit.
function sliderMax(p) {
  if (p.max == null) return Math.max(8, p.default * 4);
  return Math.min(p.max, Math.max(64, p.default * 4));
}

const SLIDERLESS = new Set(["seed"]);

function parse(p, raw) {
  if (p.type === "boolean") return Boolean(raw);
  if (p.type === "integer") return /^-?\d+$/.test(String(raw)) ? Number(raw) : String(raw);
  return String(raw);
}

// The index of the entry of `list` nearest to `value`.
function nearestIndex(list, value) {
  let best = 0;
  list.forEach((v, i) => {
    if (Math.abs(v - value) < Math.abs(list[best] - value)) best = i;
  });
  return best;
}

export class Controls {
  // onChange(name, value, {final}): final is false while a slider is still being dragged
  constructor(form, schema, values, onChange) {
    this.form = form;
    this.schema = schema;
    this.onChange = onChange;
    this.inputs = new Map(); // name -> {slider, number, select, box, text, choices}
    form.replaceChildren(...schema.map((p) => this.build(p, values[p.name])));
    form.addEventListener("submit", (e) => e.preventDefault());
  }

  wrap(name) {
    return this.form.querySelector(`.control[data-param="${name}"]`);
  }

  build(p, value) {
    const id = `ctl-${p.name}`;
    const wrap = el("div", { class: `control control-${p.type}`, "data-param": p.name });
    const label = el("label", { for: id }, p.name);
    const range = p.choices || p.type !== "integer" ? "" : ` (${p.min ?? "…"}–${p.max ?? "…"})`;
    // the range is hidden once the slider lists the values that work (setChoices): one thing said
    const help = el(
      "small",
      { id: `${id}-help`, class: "help" },
      p.help,
      el("span", { class: "help-range", "data-role": `${p.name}-range` }, range),
    );
    const error = el("p", { id: `${id}-error`, class: "control-error", role: "alert", hidden: true });
    const describedBy = `${id}-help ${id}-error`;
    const entry = {};
    this.inputs.set(p.name, entry);
    let inputs;
    if (p.choices) {
      const select = el("select", { id, name: p.name, "aria-describedby": describedBy });
      for (const c of p.choices) select.append(el("option", { value: String(c) }, String(c)));
      select.value = String(value);
      select.addEventListener("change", () => this.emit(p, select.value, true));
      entry.select = select;
      inputs = [select];
    } else if (p.type === "boolean") {
      const box = el("input", { id, name: p.name, type: "checkbox", "aria-describedby": describedBy });
      box.checked = Boolean(value);
      box.addEventListener("change", () => this.emit(p, box.checked, true));
      entry.box = box;
      wrap.append(box, label, help, error);
      return wrap;
    } else if (p.type === "integer") {
      const number = el("input", {
        type: "number",
        min: p.min,
        max: p.max,
        step: 1,
        inputmode: "numeric",
        "aria-describedby": describedBy,
        "data-param": p.name,
      });
      number.value = String(value);
      entry.number = number;
      if (SLIDERLESS.has(p.name)) {
        number.id = id;
        number.name = p.name;
        inputs = [number];
      } else {
        const slider = el("input", {
          id,
          name: p.name,
          type: "range",
          min: p.min ?? 0,
          max: sliderMax(p),
          step: 1,
          "aria-describedby": describedBy,
        });
        slider.value = String(value);
        entry.slider = slider;
        entry.param = p;
        number.setAttribute("aria-label", `${p.name} (exact value)`);
        const sliderValue = () =>
          entry.choices ? entry.choices[Number(slider.value)] : Number(slider.value);
        slider.addEventListener("input", () => {
          number.value = String(sliderValue());
          this.emit(p, sliderValue(), false);
        });
        slider.addEventListener("change", () => this.emit(p, sliderValue(), true));
        inputs = [slider, number];
      }
      number.addEventListener("input", () => {
        if (number.value === "") return;
        this.placeSlider(p.name, Number(number.value));
        this.emit(p, number.value, false);
      });
      number.addEventListener("change", () => this.emit(p, number.value, true));
    } else {
      const text = el("input", { id, name: p.name, type: "text", "aria-describedby": describedBy });
      text.value = String(value);
      text.addEventListener("change", () => this.emit(p, text.value, true));
      entry.text = text;
      inputs = [text];
    }
    wrap.append(label, el("div", { class: "control-inputs" }, inputs), help, error);
    return wrap;
  }

  emit(p, raw, final) {
    this.onChange(p.name, parse(p, raw), { final });
  }

  // Move a slider to `value` (its nearest allowed position) without telling anyone.
  placeSlider(name, value) {
    const { slider, choices } = this.inputs.get(name) ?? {};
    if (!slider || !Number.isFinite(value)) return;
    if (choices) {
      const i = nearestIndex(choices, value);
      slider.value = String(i);
      slider.setAttribute("aria-valuetext", String(choices[i]));
    } else {
      slider.value = String(value);
    }
  }

  // Show `value` in the control of `name` (a preset, or the page changing a value itself).
  set(name, value) {
    const entry = this.inputs.get(name);
    if (!entry) return;
    if (entry.select) entry.select.value = String(value);
    if (entry.box) entry.box.checked = Boolean(value);
    if (entry.text) entry.text.value = String(value);
    if (entry.number) entry.number.value = String(value);
    this.placeSlider(name, Number(value));
  }

  // The slider of `name` steps through `choices` only (ascending), listed under it after `label`;
  // its number box still takes any value.
  setChoices(name, choices, value, label = "Values that work here") {
    const entry = this.inputs.get(name);
    if (!entry?.slider || !choices.length) return;
    entry.choices = [...choices];
    const { slider } = entry;
    slider.min = "0";
    slider.max = String(choices.length - 1);
    slider.step = "1";
    slider.dataset.choices = choices.join(",");
    this.placeSlider(name, Number(value));
    const wrap = this.wrap(name);
    let note = wrap.querySelector(".choices-note");
    if (!note) {
      note = el("small", { class: "choices-note", "data-role": `${name}-choices` });
      wrap.querySelector(".control-inputs").after(note);
    }
    note.textContent = `${label}: ${choices.join(", ")}`;
    const range = wrap.querySelector(".help-range");
    if (range) range.hidden = true;
  }

  // A channel slider moves in multiples of `step` (the group count, where it must divide the channels).
  setStep(name, step, value) {
    const entry = this.inputs.get(name);
    if (!entry?.slider) return;
    const { slider, param } = entry;
    const top = sliderMax(param);
    slider.step = String(step);
    slider.min = String(step > 1 ? step : (param.min ?? 0));
    slider.max = String(step > 1 ? Math.max(step, Math.floor(top / step) * step) : top);
    slider.value = String(value);
  }

  // Show the server's refusal next to the control it names (unknown names: the first control).
  showErrors(byParam) {
    for (const wrap of this.form.querySelectorAll(".control")) {
      const name = wrap.dataset.param;
      const msg = byParam[name];
      const box = wrap.querySelector(".control-error");
      box.hidden = !msg;
      box.textContent = msg || "";
      wrap.classList.toggle("invalid", Boolean(msg));
      for (const input of wrap.querySelectorAll("input, select")) {
        if (msg) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
  }
}
