// The per-op table: sortable by any column (click or Enter on the heading), exportable as CSV.

import { el } from "./dom.js";
import { exact, micros, shape } from "./format.js";

const share = (v) => (v == null ? "–" : `${(v * 100).toFixed(1)}%`);

export function columns(latency) {
  const cols = [
    { key: "id", name: "id", get: (n) => n.id },
    { key: "op", name: "op", get: (n) => n.op },
    { key: "label", name: "label", get: (n) => n.label },
    { key: "module", name: "module", get: (n) => n.module },
    {
      key: "output_shape",
      name: "output shape",
      get: (n) => shape(n.output_shape),
      sortBy: (n) => n.output_shape.reduce((a, b) => a * b, 1),
    },
    { key: "params", name: "params", get: (n) => n.params, num: true },
    { key: "madds", name: "multiply-adds", get: (n) => n.madds, num: true },
    { key: "mac", name: "MAC (memory access cost)", get: (n) => n.mac, num: true },
    { key: "elementwise", name: "elementwise", get: (n) => n.elementwise, num: true },
  ];
  if (latency) {
    const median = (n) => latency.get(n.id)?.median_us ?? null;
    cols.push({ key: "median_us", name: "latency median (µs)", get: median, num: true, fmt: micros });
    cols.push({
      key: "share",
      name: "latency share",
      get: (n) => latency.get(n.id)?.share ?? null,
      num: true,
      fmt: share,
    });
  }
  return cols;
}

function compare(x, y) {
  return typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
}

class NodeTable {
  constructor(container) {
    this.container = container;
    this.sort = { key: null, dir: 1 };
  }

  render(analysis, latency = null) {
    this.analysis = analysis;
    this.latency = latency;
    const cols = columns(latency);
    const rows = [...analysis.nodes];
    const col = cols.find((c) => c.key === this.sort.key);
    if (col) {
      const key = col.sortBy || col.get;
      rows.sort((a, b) => compare(key(a), key(b)) * this.sort.dir);
    }
    const head = el(
      "tr",
      {},
      cols.map((c) => this.heading(c)),
    );
    const body = rows.map((n) => {
      const cells = cols.map((c) => {
        const v = c.get(n);
        const text = c.fmt ? c.fmt(v) : c.num ? exact(v) : v;
        return el("td", c.num ? { class: "num", "data-value": v ?? "" } : {}, text);
      });
      return el("tr", { "data-node-id": n.id }, cells);
    });
    const table = el("table", { class: "node-table" }, el("thead", {}, head), el("tbody", {}, body));
    this.container.replaceChildren(table);
  }

  heading(c) {
    const sorted = c.key === this.sort.key;
    const order = sorted ? (this.sort.dir > 0 ? "ascending" : "descending") : "none";
    const arrow = sorted ? (this.sort.dir > 0 ? " ▲" : " ▼") : "";
    const button = el("button", { type: "button", "data-sort": c.key }, c.name + arrow);
    button.addEventListener("click", () => {
      this.sort = { key: c.key, dir: sorted ? -this.sort.dir : c.num ? -1 : 1 };
      this.render(this.analysis, this.latency);
      this.container.querySelector(`button[data-sort="${c.key}"]`)?.focus();
    });
    return el("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": order }, button);
  }
}

// The table in `container`, keeping the order the reader chose while the analysis changes.
const tables = new WeakMap();
export function renderNodeTable(container, analysis, latency = null) {
  if (!tables.has(container)) tables.set(container, new NodeTable(container));
  tables.get(container).render(analysis, latency);
}

export function toCSV(analysis, latency = null) {
  const cols = columns(latency);
  const cell = (v) => {
    const text = v == null ? "" : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [cols.map((c) => cell(c.key)).join(",")];
  for (const n of analysis.nodes) lines.push(cols.map((c) => cell(c.get(n))).join(","));
  return `${lines.join("\n")}\n`;
}
