// The quantization page's node profile: for each variant of the block, where the float32 and the
// int8 graph spend their time node by node (ONNX Runtime's profiler), each node marked by what it
// does, with the server's sentence on why int8 is or is not faster here. Words and figures come from
// the report; the classes' colours from palette.css (through quantization.css).

import { el } from "./dom.js";
import { micros, percent } from "./format.js";

// Every class the server gives a node (blockscope/analysis/quantization.py NODE_CLASSES), in the
// order the bars stack them, with what the badge says.
export const CLASSES = {
  integer: "integer",
  convert: "convert",
  layout: "layout",
  float: "float fallback",
};

const FORMS = ["float32", "int8"];

// The float32 graph has no integer to fall back from: its float nodes are plain float.
const label = (cls, form) => (cls === "float" && form === "float32" ? "float" : CLASSES[cls]);

export function badge(cls, form) {
  return el("span", { class: "qz-badge", "data-class": cls }, label(cls, form));
}

const nodes = (n) => `${n} node${n === 1 ? "" : "s"}`;

// One bar per form, its length to scale with the slower form's sum of node medians, stacked by class.
function shares(variant) {
  const p = variant.profile;
  const longest = Math.max(...FORMS.map((f) => p[f].sum_us));
  const rows = FORMS.map((form) => {
    const f = p[form];
    const bar = el("div", { class: "qz-share-bar" });
    bar.style.width = `${(100 * f.sum_us) / longest}%`;
    for (const cls of Object.keys(CLASSES)) {
      const share = f.share_by_class[cls];
      if (!share) continue;
      const segment = el("span", {
        class: "qz-share",
        "data-class": cls,
        title: `${label(cls, form)}: ${percent(share, 0)} (${micros(f.us_by_class[cls])})`,
      });
      segment.style.width = `${100 * share}%`;
      bar.append(segment);
    }
    const parts = Object.keys(CLASSES)
      .filter((cls) => f.count_by_class[cls])
      .map(
        (cls) => `${label(cls, form)} ${percent(f.share_by_class[cls], 0)} (${nodes(f.count_by_class[cls])})`,
      );
    return el(
      "div",
      { class: "qz-share-row", "data-form": form },
      el("span", { class: "qz-share-form" }, form),
      el("div", { class: "qz-share-track" }, bar),
      el("span", { class: "qz-share-total" }, micros(f.sum_us)),
      el("p", { class: "qz-share-words", "data-role": "share-words" }, parts.join(" · ")),
    );
  });
  const words = FORMS.map((form) => `${form} ${micros(p[form].sum_us)}`).join(", ");
  return el(
    "div",
    {
      class: "qz-shares",
      "data-role": "share-bars",
      role: "img",
      "aria-label": `Time per node class, bars to scale: ${words}`,
    },
    ...rows,
  );
}

// A node's name with a chance to break after each underscore: the optimizer's names run long
// ("_inlfunc_HardSwish_token_0_HS_X_QuantizeLinear") and would otherwise break mid-word.
const breakable = (name) => name.split("_").flatMap((part, i) => (i ? ["_", el("wbr"), part] : [part]));

function table(variant, form) {
  const f = variant.profile[form];
  // the badge sits beside the op type, not in a column of its own, so that a phone shows the
  // figures without scrolling the table sideways
  const rows = f.nodes.map((n) =>
    el(
      "tr",
      { "data-class": n.class },
      el(
        "th",
        { scope: "row" },
        el("span", { class: "qz-op" }, n.op_type, " ", badge(n.class, form)),
        el("span", { class: "qz-node-name" }, ...breakable(n.name)),
      ),
      el("td", {}, n.median_us.toFixed(1)),
      el("td", {}, percent(n.share, 1)),
    ),
  );
  const caption =
    `${form} graph: ${nodes(f.nodes.length)}, ${micros(f.sum_us)} in all ` +
    `(medians of ${f.runs} profiled runs).`;
  const head = [
    el("th", { scope: "col", class: "qz-text" }, "op type, class and node"),
    el("th", { scope: "col" }, "median µs"),
    el("th", { scope: "col" }, "share"),
  ];
  return el(
    "div",
    {
      class: "qz-table-wrap",
      role: "region",
      "aria-label": `${variant.name} variant, ${form} graph node by node`,
      tabindex: "0",
    },
    el(
      "table",
      { class: "qz-table qz-node-table", "data-role": "node-table", "data-form": form },
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, ...head)),
      el("tbody", {}, ...rows),
    ),
  );
}

function variantProfile(variant, measured) {
  const title = `${variant.name} variant (${variant.activations.join(", ")})`;
  const parts = [el("h3", {}, title)];
  parts.push(el("p", { class: "qz-why", "data-role": "int8-why" }, variant.int8_text ?? "Not measured yet."));
  if (variant.profile) {
    parts.push(shares(variant));
    parts.push(el("div", { class: "qz-profile-tables" }, ...FORMS.map((form) => table(variant, form))));
  } else if (measured) {
    parts.push(
      el(
        "p",
        { class: "qz-explain" },
        "Not profiled: this block is too slow to profile within the time one measurement may take.",
      ),
    );
  }
  return el("div", { class: "qz-profile", "data-variant": variant.name }, ...parts);
}

export function renderProfiles(container, report) {
  container.replaceChildren(...report.variants.map((v) => variantProfile(v, report.measured)));
}
