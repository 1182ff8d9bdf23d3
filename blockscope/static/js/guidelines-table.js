// The experiment's table: counts, this server's measurement, and the paper's figures side by side.

import { el } from "./dom.js";
import { exact, human, micros, percent, rate, relative } from "./format.js";
import { labelList } from "./guidelines-verdict.js";

const HEADERS = [
  ["Row", null],
  ["Config", "Channel counts of one unit at this width"],
  ["Multiply-adds", "Multiply-adds of the whole ten-unit network (what the paper calls FLOPs)"],
  ["MAC", "Memory access cost of the whole network, in elements (Sec. 2)"],
  [
    "Median (IQR; 95% interval)",
    "This server: median time of one forward pass, with the interquartile range and the median's 95% " +
      "interval (the verdict compares rows by it)",
  ],
  ["Here, batches/s", "This server: forward passes per second"],
  ["Here, images/s", "This server: images per second (batch × batches/s)"],
  ["Paper GPU, batches/s", "GTX 1080Ti, as published"],
  ["Paper ARM, images/s", "Snapdragon 810, one thread, as published"],
  ["Relative: here / GPU / ARM", "Speed relative to the first row"],
];

// A row's configuration in the paper's notation (c1, c2, c, g, fragments, ReLU, shortcut).
export function configText(guideline, config) {
  switch (guideline) {
    case "g1":
      return `c1=${config.c1}, c2=${config.c2}`;
    case "g2":
      return `c=${config.channels}, g=${config.groups}`;
    case "g3":
      return `c=${config.channels}, ${config.fragments}× ${config.arrangement}`;
    case "g4": {
      const wide = config.bottleneck_channels * 4;
      return `${wide}→${config.bottleneck_channels}→${wide}`;
    }
    default:
      return JSON.stringify(config);
  }
}

// The lab's counts are close to each other: two decimals (1.23 M), the exact count in the tooltip.
const count = (value) => el("td", { title: exact(value) }, human(value, 2));

function armFigure(paper) {
  if (paper.arm == null) return "–";
  return paper.arm_config
    ? `${paper.arm} (at ${paper.arm_config.c1}, ${paper.arm_config.c2})`
    : String(paper.arm);
}

// A row measured while other programs used the measuring cores is marked: its figure may be too high.
function medianCell(m) {
  if (!m) return el("td", {}, "not measured");
  const q = m.quality;
  const ci = q?.ci95_us;
  const text = [
    `${micros(m.median_us)} (${micros(m.p25_us)}–${micros(m.p75_us)})`,
    ci ? el("span", { class: "gl-ci", "data-role": "ci95" }, `95%: ${micros(ci[0])}–${micros(ci[1])}`) : null,
  ];
  if (!q?.disturbed) return el("td", {}, ...text);
  const share =
    q.other_cpu_share == null
      ? ""
      : ` Other programs used ${percent(q.other_cpu_share, 0)} of its cores' time.`;
  const why = `The server was busy while measuring this row; this figure may be too high.${share}`;
  return el(
    "td",
    { class: "disturbed", title: why },
    ...text,
    " ",
    el(
      "span",
      { class: "disturbed-mark", "data-role": "disturbed", role: "img", "aria-label": why },
      "⚠ busy",
    ),
  );
}

function tableRow(guideline, row) {
  const m = row.measured;
  const rel = row.relative_speed;
  return el(
    "tr",
    { class: m?.quality?.disturbed ? "disturbed" : null },
    el("th", { scope: "row" }, row.label),
    el("td", {}, configText(guideline, row.config)),
    count(row.madds),
    count(row.mac),
    medianCell(m),
    el("td", {}, m ? rate(m.batches_per_s) : "–"),
    el("td", {}, m ? rate(m.images_per_s) : "–"),
    el("td", {}, row.paper.gpu == null ? "–" : String(row.paper.gpu)),
    el("td", {}, armFigure(row.paper)),
    el("td", {}, `${relative(rel.measured)} / ${relative(rel.paper_gpu)} / ${relative(rel.paper_arm)}`),
  );
}

// A sentence under the table when some rows were measured while the server was busy.
export function disturbedNote(report) {
  const rows = report.rows.filter((r) => r.measured?.quality?.disturbed).map((r) => r.label);
  if (!rows.length) return "";
  return (
    `Measured while the server was busy: ${labelList(rows)} (marked ⚠). Their figures may be too high; ` +
    "measure again when the server is quieter."
  );
}

export function renderTable(table, report) {
  const caption =
    `${report.title}: ${report.table}, width ×${report.width_multiplier}, ` +
    `batch ${report.batch}, ten units on 56×56`;
  const head = HEADERS.map(([text, title]) => el("th", { scope: "col", title }, text));
  const busy = disturbedNote(report);
  table.replaceChildren(
    el(
      "caption",
      {},
      caption,
      busy ? el("span", { class: "disturbed-note", "data-role": "disturbed-note" }, ` ${busy}`) : null,
    ),
    el("thead", {}, el("tr", {}, head)),
    el(
      "tbody",
      {},
      report.rows.map((row) => tableRow(report.guideline, row)),
    ),
  );
}
