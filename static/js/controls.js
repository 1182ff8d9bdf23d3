// One labelled control per parameter of /api/blocks' schema: a slider with a number box for
// integers, a select for choices, a checkbox for booleans. The control's `name` is the parameter's.

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

export class Controls {
  // onChange(name, value, {final}): final is false while a slider is still being dragged
  constructor(form, schema, values, onChange) {
    this.form = form;
    this.schema = schema;
    this.onChange = onChange;
    form.replaceChildren(...schema.map((p) => this.build(p, values[p.name])));
    form.addEventListener("submit", (e) => e.preventDefault());
  }

  build(p, value) {
    const id = `ctl-${p.name}`;
    const wrap = el("div", { class: `control control-${p.type}`, "data-param": p.name });
    const label = el("label", { for: id }, p.name);
    const range = p.choices || p.type !== "integer" ? "" : ` (${p.min ?? "…"}–${p.max ?? "…"})`;
    const help = el("small", { id: `${id}-help`, class: "help" }, p.help + range);
    const error = el("p", { id: `${id}-error`, class: "control-error", role: "alert", hidden: true });
    const describedBy = `${id}-help ${id}-error`;
    let inputs;
    if (p.choices) {
      const select = el("select", { id, name: p.name, "aria-describedby": describedBy });
      for (const c of p.choices) select.append(el("option", { value: String(c) }, String(c)));
      select.value = String(value);
      select.addEventListener("change", () => this.emit(p, select.value, true));
      inputs = [select];
    } else if (p.type === "boolean") {
      const box = el("input", { id, name: p.name, type: "checkbox", "aria-describedby": describedBy });
      box.checked = Boolean(value);
      box.addEventListener("change", () => this.emit(p, box.checked, true));
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
        number.setAttribute("aria-label", `${p.name} (exact value)`);
        slider.addEventListener("input", () => {
          number.value = slider.value;
          this.emit(p, slider.value, false);
        });
        slider.addEventListener("change", () => this.emit(p, slider.value, true));
        inputs = [slider, number];
      }
      number.addEventListener("input", () => {
        const slider = inputs.length > 1 ? inputs[0] : null;
        if (slider && number.value !== "") slider.value = number.value;
        if (number.value !== "") this.emit(p, number.value, false);
      });
      number.addEventListener("change", () => this.emit(p, number.value, true));
    } else {
      const text = el("input", { id, name: p.name, type: "text", "aria-describedby": describedBy });
      text.value = String(value);
      text.addEventListener("change", () => this.emit(p, text.value, true));
      inputs = [text];
    }
    wrap.append(label, el("div", { class: "control-inputs" }, inputs), help, error);
    return wrap;
  }

  emit(p, raw, final) {
    this.onChange(p.name, parse(p, raw), { final });
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
