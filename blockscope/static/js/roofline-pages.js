// The roofline on the pages beyond the explorer: the guideline lab (every measured row's ops, one
// colour and symbol per row) and a network's measured rows (each row's ops together as one dot, the
// chosen row picked out). The figures and sentences are the server's, shown as it gives them.

import { groupColor } from "./colors.js";
import { el } from "./dom.js";
import { micros, percent } from "./format.js";
import { boundPhrase, byBound, ceilingsList, placeable, point, sentencesList } from "./roofline.js";
import { rooflineChart, WHOLE } from "./roofline-chart.js";

const ROW_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "x", "pentagon"];

// A server's list of sentences (the guideline's `explanation`), or nothing when it has none.
export function renderExplanation(list, sentences) {
  if (!list) return;
  list.hidden = !sentences?.length;
  list.replaceChildren(...(sentences ?? []).map((s) => el("li", { "data-role": "explanation-item" }, s)));
}

// --- the guideline lab: every measured row's ops, coloured by row -----------------------------------

export function renderRowsRoofline(container, report) {
  if (!container) return;
  const rows = report.rows.filter((r) => r.measured?.roofline);
  container.hidden = !rows.length;
  if (!rows.length) {
    container.replaceChildren();
    return;
  }
  const groups = [];
  report.rows.forEach((row, i) => {
    const summary = row.measured?.roofline;
    if (!summary) return;
    const color = groupColor(i);
    const symbol = ROW_SYMBOLS[i % ROW_SYMBOLS.length];
    const nodes = (row.measured.nodes ?? []).filter((n) => placeable(n.roofline));
    groups.push({
      name: row.label,
      color,
      symbol,
      size: 9,
      legendgroup: row.label,
      role: "row",
      points: nodes.map((n) => point(n.roofline, `${row.label}: ${n.id} (${n.op})`, n, { id: n.id })),
    });
    if (placeable(summary.whole)) {
      groups.push({
        name: `${row.label}: whole network`,
        color,
        symbol: WHOLE.symbol,
        size: WHOLE.size,
        legendgroup: row.label,
        showlegend: false,
        role: "row-whole",
        points: [point(summary.whole, `${row.label}: whole network`, row.measured, { id: "whole" })],
      });
    }
  });
  const ceilings = rows[0].measured.roofline.ceilings;
  const chart = el("div", { class: "chart roofline-chart", "data-role": "roofline-chart" });
  const where = ceilings.device_label || ceilings.device;
  const perRow = el(
    "details",
    { class: "roofline-rows" },
    el("summary", {}, "What the server says about each row"),
    rows.map((row) =>
      el(
        "div",
        { "data-row": row.label },
        el("h4", {}, row.label),
        sentencesList(row.measured.roofline.sentences),
        byBound(row.measured.roofline.by_bound),
      ),
    ),
  );
  container.replaceChildren(
    ...[
      el("h3", {}, "Each row's ops on this server's roofline"),
      el(
        "p",
        { class: "roofline-caption" },
        `Every op of each measured row under the roofs of ${where}: ` +
          "one colour and symbol per row, its whole network a star.",
      ),
      chart,
      perRow,
      ceilingsList(ceilings),
    ].filter(Boolean),
  );
  rooflineChart(chart, ceilings, groups);
}

// --- a network's measured rows: each row's ops together, the chosen one picked out ------------------

// The rows that have a dot, and the one to pick out (the asked index when it has one, else the
// row that took the most time).
export function chosenRow(analysis, asked) {
  const rows = analysis.rows.filter((r) => placeable(r.measured?.roofline));
  if (!rows.length) return null;
  return (
    rows.find((r) => r.index === asked) ??
    rows.reduce((a, b) => (b.measured.share > a.measured.share ? b : a))
  );
}

const rowName = (row) =>
  `${row.index}. ${row.operator}${row.out_channels ? `, ${row.out_channels} channels` : ""}`;

// `onPick(index)`: the reader chose another row (from the list or by clicking its dot).
export function renderNetworkRoofline(container, analysis, asked, onPick) {
  if (!container) return;
  const m = analysis.measured;
  const summary = m?.roofline;
  container.hidden = !m;
  if (!m) {
    container.replaceChildren();
    return;
  }
  if (!summary) {
    const where = m.device_label || m.device;
    container.replaceChildren(
      el(
        "p",
        { class: "roofline-message", "data-role": "roofline-message" },
        `No roofline for this measurement: this server has no measured ceilings for ${where} (its peak ` +
          "compute rate and memory bandwidths), so there are no roofs to place the rows under.",
      ),
    );
    return;
  }
  const chosen = chosenRow(analysis, asked);
  const rows = analysis.rows.filter((r) => placeable(r.measured?.roofline));
  const dot = (row) =>
    point(
      row.measured.roofline,
      rowName(row),
      { ...row.measured, median_us: row.measured.measured_us },
      { id: String(row.index) },
    );
  const others = rows.filter((r) => r !== chosen);
  const groups = [
    {
      name: "the other rows",
      color: groupColor(0),
      symbol: "circle",
      faded: true,
      role: "rows",
      points: others.map(dot),
    },
    chosen && {
      name: `row ${rowName(chosen)}`,
      color: groupColor(1),
      symbol: "diamond",
      size: 15,
      role: "chosen",
      points: [dot(chosen)],
    },
    placeable(summary.whole) && {
      name: "whole network",
      ...WHOLE,
      role: "whole",
      points: [point(summary.whole, "Whole network", m, { id: "whole" })],
    },
  ].filter(Boolean);
  const picker = el(
    "select",
    { name: "roofline_row", "data-role": "roofline-row" },
    rows.map((r) => el("option", { value: r.index, selected: r === chosen }, rowName(r))),
  );
  picker.addEventListener("change", () => onPick(Number(picker.value)));
  const chart = el("div", { class: "chart roofline-chart", "data-role": "roofline-chart" });
  const r = chosen?.measured.roofline;
  const roofWords = r?.level === "mixed" ? "their own roofs" : `the ${r?.level} roof`;
  const facts = r
    ? el(
        "p",
        { class: "roofline-by-bound", "data-role": "roofline-chosen" },
        `Row ${rowName(chosen)}: its ops together are ${boundPhrase(r.bound)}, ` +
          `${percent(r.fraction_of_roof)} of ${roofWords}, ` +
          `${micros(chosen.measured.measured_us)} (${percent(chosen.measured.share)} of the ops' time).`,
      )
    : null;
  container.replaceChildren(
    ...[
      el("h3", {}, "The rows on this server's roofline"),
      el("label", { class: "roofline-row-pick" }, "Row ", picker),
      chart,
      facts,
      sentencesList(summary.sentences),
      byBound(summary.by_bound),
      ceilingsList(summary.ceilings),
    ].filter(Boolean),
  );
  rooflineChart(chart, summary.ceilings, groups);
  // a click on a row's dot picks it (Plotly adds `.on` once it has drawn the chart, after it loads)
  let tries = 0;
  const listen = () => {
    if (typeof chart.on !== "function") {
      if (chart.isConnected && tries++ < 100) setTimeout(listen, 200);
      return;
    }
    chart.on("plotly_click", (event) => {
      const hit = event.points?.[0];
      const id = hit?.data?.meta?.ids?.[hit.pointNumber];
      if (id && id !== "whole") onPick(Number(id));
    });
  };
  listen();
}
