// The experiment's table: counts, this server's measurement, and the paper's figures side by side.

import { configText, exact, human, micros, rate, ratio } from "./guidelines-format.js";

function cell(tag, text, title) {
  const c = document.createElement(tag);
  c.textContent = text;
  if (title) c.title = title;
  return c;
}

const HEADERS = [
  ["Row", null],
  ["Config", "Channel counts of one unit at this width"],
  ["Multiply-adds", "Multiply-adds of the whole ten-unit network (what the paper calls FLOPs)"],
  ["MAC", "Memory access cost of the whole network, in elements (Sec. 2)"],
  ["Median (IQR)", "This server: median time of one forward pass, with the interquartile range"],
  ["Here, batches/s", "This server: forward passes per second"],
  ["Here, images/s", "This server: images per second (batch × batches/s)"],
  ["Paper GPU, batches/s", "GTX 1080Ti, as published"],
  ["Paper ARM, images/s", "Snapdragon 810, one thread, as published"],
  ["Relative: here / GPU / ARM", "Speed relative to the first row"],
];

export function renderTable(table, report) {
  const caption = cell("caption", `${report.title}: ${report.table}, width ×${report.width_multiplier}, `
    + `batch ${report.batch}, ten units on 56×56`);
  const head = document.createElement("thead");
  const hr = document.createElement("tr");
  for (const [text, title] of HEADERS) {
    const th = cell("th", text, title);
    th.scope = "col";
    hr.append(th);
  }
  head.append(hr);
  const body = document.createElement("tbody");
  for (const row of report.rows) {
    const tr = document.createElement("tr");
    const th = cell("th", row.label);
    th.scope = "row";
    const m = row.measured;
    const arm = row.paper.arm == null ? "–"
      : row.paper.arm_config ? `${row.paper.arm} (at ${row.paper.arm_config.c1}, ${row.paper.arm_config.c2})`
        : String(row.paper.arm);
    const rel = row.relative_speed;
    tr.append(
      th,
      cell("td", configText(report.guideline, row.config)),
      cell("td", human(row.madds), exact(row.madds)),
      cell("td", human(row.mac), exact(row.mac)),
      cell("td", m ? `${micros(m.median_us)} (${micros(m.p25_us)}–${micros(m.p75_us)})` : "not measured"),
      cell("td", m ? rate(m.batches_per_s) : "–"),
      cell("td", m ? rate(m.images_per_s) : "–"),
      cell("td", row.paper.gpu == null ? "–" : String(row.paper.gpu)),
      cell("td", arm),
      cell("td", `${ratio(rel.measured)} / ${ratio(rel.paper_gpu)} / ${ratio(rel.paper_arm)}`),
    );
    body.append(tr);
  }
  table.replaceChildren(caption, head, body);
}
