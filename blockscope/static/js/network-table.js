// A whole network as its paper prints it: the paper's columns, then bars of params, multiply-adds and
// MAC per row (and, once measured, of latency: the row's ops timed alone, summed), then the explorer
// blocks each row is built from (one link per distinct unit).

import { METRIC_COLORS } from "./colors.js";
import { el } from "./dom.js";
import { exact, human, micros, percent } from "./format.js";

export const METRIC_COLUMNS = [
  ["params", "Params"],
  ["madds", "Multiply-adds"],
  ["mac", "MAC"],
];

// The paper's way of writing a tensor: 224²×3; a flattened vector after pooling is 1²×C.
export function paperShape(shape) {
  if (!shape?.length) return "–";
  if (shape.length === 2) return `1²×${shape[1]}`;
  const [, c, h, w] = shape;
  return h === w ? `${h}²×${c}` : `${h}×${w}×${c}`;
}

export const spatial = (shape) => (shape?.length === 4 ? `${shape[2]}×${shape[3]}` : "1×1");

const dash = (value) => (value === null || value === undefined ? "–" : String(value));

const CELLS = {
  input: (row) => paperShape(row.input_shape),
  output: (row) => spatial(row.output_shape),
  operator: (row) => row.operator,
  layer: (row) => dash(row.layer),
  kernel: (row) => dash(row.kernel),
  expansion: (row) => dash(row.expansion),
  out: (row) => dash(row.out_channels),
  se: (row) => (row.se ? "✓" : "–"),
  nl: (row) => dash(row.nl),
  stride: (row) => dash(row.stride),
  repeats: (row) => String(row.repeats),
};

// Query of the explorer page that shows `link` (every block parameter, batch and size).
export function blockURL(link) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(link.config)) params.set(key, String(value));
  return `/blocks/${encodeURIComponent(link.kind)}?${params}`;
}

// "16→24, s2" and the like: what distinguishes one unit of a row from another.
function unitDetail(unit) {
  const c = unit.config;
  const parts = [];
  if (c.in_channels !== undefined && c.out_channels !== undefined)
    parts.push(`${c.in_channels}→${c.out_channels}`);
  if (c.in_features !== undefined) parts.push(`${c.in_features}→${c.out_features}`);
  if (c.stride !== undefined && unit.block !== "max_pool") parts.push(`s${c.stride}`);
  return parts.join(", ");
}

function unitItem(unit) {
  const text = `${unit.count}× ${unit.title}`;
  const detail = unitDetail(unit);
  const counts =
    `one unit: ${exact(unit.params)} params, ${exact(unit.madds)} multiply-adds, ` + `${exact(unit.mac)} MAC`;
  const name = unit.link
    ? el("a", { href: blockURL(unit.link), "data-role": "unit-link", title: counts }, text)
    : el("span", { title: counts }, text);
  return el(
    "li",
    { "data-block": unit.block, "data-count": unit.count },
    name,
    detail && el("span", { class: "unit-detail" }, ` ${detail}`),
    unit.link?.note && el("span", { class: "unit-note" }, unit.link.note),
  );
}

function barCell(row, metric, largest) {
  const value = row[metric];
  const fill = el("span", { class: "bar-fill" });
  fill.style.width = `${largest > 0 ? (100 * value) / largest : 0}%`;
  fill.style.background = METRIC_COLORS[metric];
  return el(
    "td",
    { class: "metric", "data-metric": metric, "data-value": value, title: `${exact(value)} exactly` },
    el("span", { class: "bar", "aria-hidden": "true" }, fill),
    el("span", { class: "metric-value" }, human(value)),
    el("span", { class: "metric-share" }, percent(row.share[metric])),
  );
}

// A row's measured latency: the sum of its ops' medians, each op timed alone, and its share.
function latencyCell(row, largest) {
  const value = row.measured.measured_us;
  const fill = el("span", { class: "bar-fill" });
  fill.style.width = `${largest > 0 ? (100 * value) / largest : 0}%`;
  fill.style.background = METRIC_COLORS.latency;
  return el(
    "td",
    {
      class: "metric",
      "data-metric": "latency",
      "data-value": value,
      title: "The medians of this row's ops, each timed alone, summed",
    },
    el("span", { class: "bar", "aria-hidden": "true" }, fill),
    el("span", { class: "metric-value" }, micros(value)),
    el("span", { class: "metric-share" }, percent(row.measured.share)),
  );
}

function latencyTotal(measured) {
  return el(
    "td",
    {
      class: "metric",
      "data-metric": "latency",
      "data-value": measured.sum_of_nodes_us,
      title: `Every op timed alone, summed; end to end the network took ${micros(measured.total.median_us)}`,
    },
    el("span", { class: "metric-value" }, micros(measured.sum_of_nodes_us)),
    el("span", { class: "metric-share" }, "100%"),
  );
}

// With `analysis.measured` (measure=true) a latency column follows the counts.
export function renderNetworkTable(container, analysis) {
  const largest = Object.fromEntries(
    METRIC_COLUMNS.map(([m]) => [m, Math.max(...analysis.rows.map((r) => r[m]))]),
  );
  const measured = analysis.measured && analysis.rows.every((r) => r.measured) ? analysis.measured : null;
  const slowest = measured ? Math.max(...analysis.rows.map((r) => r.measured.measured_us)) : 0;
  const head = el(
    "tr",
    {},
    analysis.columns.map((c) => el("th", { scope: "col", "data-field": c.field }, c.heading)),
    METRIC_COLUMNS.map(([m, label]) => el("th", { scope: "col", class: "metric", "data-metric": m }, label)),
    measured && el("th", { scope: "col", class: "metric", "data-metric": "latency" }, "Latency (ops)"),
    el("th", { scope: "col", class: "units" }, "Built from (opens the explorer)"),
  );
  const body = analysis.rows.map((row) =>
    el(
      "tr",
      { id: `row-${row.index}`, "data-row": row.index, "data-stage": row.stage },
      analysis.columns.map((c) => el("td", { "data-field": c.field }, CELLS[c.field](row))),
      METRIC_COLUMNS.map(([m]) => barCell(row, m, largest[m])),
      measured && latencyCell(row, slowest),
      el("td", { class: "units" }, el("ul", { class: "unit-list" }, row.units.map(unitItem))),
    ),
  );
  const totals = el(
    "tr",
    { class: "total-row" },
    el("th", { scope: "row", colspan: analysis.columns.length }, "Whole network"),
    METRIC_COLUMNS.map(([m]) =>
      el(
        "td",
        { class: "metric", "data-metric": m, "data-value": analysis.totals[m] },
        el("span", { class: "metric-value" }, human(analysis.totals[m])),
        el("span", { class: "metric-share" }, "100%"),
      ),
    ),
    measured && latencyTotal(measured),
    el("td", { class: "units" }),
  );
  const caption = el(
    "caption",
    {},
    `${analysis.title}, ${analysis.table} of the paper, at ${paperShape(analysis.input_shape)}` +
      (analysis.batch > 1 ? `, batch ${analysis.batch}` : "") +
      ". Bars: each row's share of the whole network.",
  );
  container.replaceChildren(
    el(
      "table",
      { class: "net-table" },
      caption,
      el("thead", {}, head),
      el("tbody", {}, body),
      el("tfoot", {}, totals),
    ),
  );
}
