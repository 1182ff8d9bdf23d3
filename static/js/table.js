// The per-op table: sortable by any column (click or Enter on the heading), exportable as CSV.

import { exact, micros, shape } from "./format.js";

export function columns(latency) {
  const cols = [
    { key: "id", name: "id", get: (n) => n.id },
    { key: "op", name: "op", get: (n) => n.op },
    { key: "label", name: "label", get: (n) => n.label },
    { key: "module", name: "module", get: (n) => n.module },
    { key: "output_shape", name: "output shape", get: (n) => shape(n.output_shape), sortBy: (n) => n.output_shape.reduce((a, b) => a * b, 1) },
    { key: "params", name: "params", get: (n) => n.params, num: true },
    { key: "madds", name: "multiply-adds", get: (n) => n.madds, num: true },
    { key: "mac", name: "MAC (memory access cost)", get: (n) => n.mac, num: true },
    { key: "elementwise", name: "elementwise", get: (n) => n.elementwise, num: true },
  ];
  if (latency) {
    cols.push({ key: "median_us", name: "latency median (µs)", get: (n) => latency.get(n.id)?.median_us ?? null, num: true, fmt: micros });
    cols.push({ key: "share", name: "latency share", get: (n) => latency.get(n.id)?.share ?? null, num: true, fmt: (v) => (v == null ? "–" : `${(v * 100).toFixed(1)}%`) });
  }
  return cols;
}

export class NodeTable {
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
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * this.sort.dir;
      });
    }
    const table = document.createElement("table");
    table.className = "node-table";
    const head = document.createElement("tr");
    for (const c of cols) {
      const th = document.createElement("th");
      th.scope = "col";
      if (c.num) th.className = "num";
      th.setAttribute("aria-sort", c.key === this.sort.key ? (this.sort.dir > 0 ? "ascending" : "descending") : "none");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.sort = c.key;
      button.textContent = c.name + (c.key === this.sort.key ? (this.sort.dir > 0 ? " ▲" : " ▼") : "");
      button.addEventListener("click", () => {
        this.sort = { key: c.key, dir: this.sort.key === c.key ? -this.sort.dir : (c.num ? -1 : 1) };
        this.render(this.analysis, this.latency);
        this.container.querySelector(`button[data-sort="${c.key}"]`)?.focus();
      });
      th.append(button);
      head.append(th);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const body = document.createElement("tbody");
    for (const n of rows) {
      const tr = document.createElement("tr");
      tr.dataset.nodeId = n.id;
      for (const c of cols) {
        const td = document.createElement("td");
        const v = c.get(n);
        if (c.num) { td.className = "num"; td.dataset.value = v ?? ""; }
        td.textContent = c.fmt ? c.fmt(v) : c.num ? exact(v) : v;
        tr.append(td);
      }
      body.append(tr);
    }
    table.append(thead, body);
    this.container.replaceChildren(table);
  }
}

export function toCSV(analysis, latency = null) {
  const cols = columns(latency);
  const cell = (v) => {
    const text = v == null ? "" : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [cols.map((c) => cell(c.key)).join(",")];
  for (const n of analysis.nodes) lines.push(cols.map((c) => cell(c.get(n))).join(","));
  return lines.join("\n") + "\n";
}
