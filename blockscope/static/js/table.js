// The per-op table: the op's id (a sticky first column), then the counts, so that MAC and
// multiply-adds are in view without scrolling, the chosen metric's share of the total, and the
// op's details last; a totals row at the foot. Sortable by any column (click or Enter on the
// heading), exportable as CSV.

import { el } from "./dom.js";
import { exact, METRICS, micros, shape } from "./format.js";

const share = (v) => (v == null ? "–" : `${(v * 100).toFixed(1)}%`);

// metric: the counted metric whose share of the total the "share" column gives (MAC by default)
export function columns(latency, metric = "mac", totals = null) {
  const shareOf = metric in METRICS && metric !== "latency" ? metric : "mac";
  const cols = [
    { key: "id", name: "op", get: (n) => n.id },
    { key: "params", name: "params", get: (n) => n.params, num: true },
    { key: "madds", name: "multiply-adds", get: (n) => n.madds, num: true },
    { key: "mac", name: "MAC", title: "MAC (memory access cost), elements", get: (n) => n.mac, num: true },
    {
      key: "share_of_total",
      name: `% of ${METRICS[shareOf].short}`,
      title: `This op's share of the block's ${METRICS[shareOf].label}`,
      get: (n) => (totals?.[shareOf] ? n[shareOf] / totals[shareOf] : null),
      num: true,
      fmt: share,
      csv: false,
    },
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
  cols.push(
    { key: "op", name: "type", get: (n) => n.op },
    { key: "label", name: "label", get: (n) => n.label },
    { key: "module", name: "module", get: (n) => n.module },
    {
      key: "output_shape",
      name: "output shape",
      get: (n) => shape(n.output_shape),
      sortBy: (n) => n.output_shape.reduce((a, b) => a * b, 1),
    },
  );
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

  render(analysis, latency = null, metric = "mac") {
    this.analysis = analysis;
    this.latency = latency;
    this.metric = metric;
    const cols = columns(latency, metric, analysis.totals);
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
    const cell = (c, v) => {
      const text = c.fmt ? c.fmt(v) : c.num ? exact(v) : v;
      return c.num ? el("td", { class: "num", "data-value": v ?? "" }, text) : el("td", {}, text);
    };
    const body = rows.map((n) => {
      const cells = cols.map((c, i) => (i === 0 ? el("th", { scope: "row" }, c.get(n)) : cell(c, c.get(n))));
      return el("tr", { "data-node-id": n.id }, cells);
    });
    const sums = {
      ...analysis.totals,
      share_of_total: 1,
      median_us: latency ? [...latency.values()].reduce((a, t) => a + t.median_us, 0) : null,
      share: latency ? 1 : null,
    };
    const foot = el(
      "tr",
      { class: "totals-row" },
      cols.map((c, i) =>
        i === 0 ? el("th", { scope: "row" }, "total") : c.num ? cell(c, sums[c.key] ?? null) : el("td", {}),
      ),
    );
    const table = el(
      "table",
      { class: "node-table" },
      el("thead", {}, head),
      el("tbody", {}, body),
      el("tfoot", {}, foot),
    );
    this.container.replaceChildren(table);
  }

  heading(c) {
    const sorted = c.key === this.sort.key;
    const order = sorted ? (this.sort.dir > 0 ? "ascending" : "descending") : "none";
    const arrow = sorted ? (this.sort.dir > 0 ? " ▲" : " ▼") : "";
    const button = el("button", { type: "button", "data-sort": c.key, title: c.title }, c.name + arrow);
    button.addEventListener("click", () => {
      this.sort = { key: c.key, dir: sorted ? -this.sort.dir : c.num ? -1 : 1 };
      this.render(this.analysis, this.latency, this.metric);
      this.container.querySelector(`button[data-sort="${c.key}"]`)?.focus();
    });
    return el("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": order }, button);
  }
}

// The table in `container`, keeping the order the reader chose while the analysis changes.
const tables = new WeakMap();
export function renderNodeTable(container, analysis, latency = null, metric = "mac") {
  if (!tables.has(container)) tables.set(container, new NodeTable(container));
  tables.get(container).render(analysis, latency, metric);
}

// The CSV keeps its own column order (the op's description first), which scripts may rely on.
const CSV_ORDER = ["id", "op", "label", "module", "output_shape", "params", "madds", "mac", "elementwise"];
const csvRank = (c) => (CSV_ORDER.includes(c.key) ? CSV_ORDER.indexOf(c.key) : CSV_ORDER.length);

export function toCSV(analysis, latency = null) {
  const cols = columns(latency)
    .filter((c) => c.csv !== false)
    .sort((a, b) => csvRank(a) - csvRank(b));
  const cell = (v) => {
    const text = v == null ? "" : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [cols.map((c) => cell(c.key)).join(",")];
  for (const n of analysis.nodes) lines.push(cols.map((c) => cell(c.get(n))).join(","));
  return `${lines.join("\n")}\n`;
}
