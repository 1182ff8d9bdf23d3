// The roofline of a measurement (`report.roofline`, blockscope/schemas.py's RooflineSummary): the
// chart (roofline-chart.js), then the server's sentences as it words them, each op's bound and
// share in a table that reads on a phone, and the ceilings with how they were measured. The page
// composes no verdict: which op dominates and why is the server's to say.

import { el } from "./dom.js";
import { exact, human, micros, percent } from "./format.js";
import { escapeHover, interval, opStyle, rooflineChart, sig, WHOLE, withInterval } from "./roofline-chart.js";

export const EMPTY_TEXT = "Measure to place every node on this server's roofline.";

const BOUND_WORDS = {
  compute: "compute-bound",
  memory: "memory-bound",
  overhead: "call overhead",
};
export const boundWords = (bound) => BOUND_WORDS[bound] ?? bound ?? "–";
// The same in a sentence: "the ops together are memory-bound", "… are bound by the call overhead"
export const boundPhrase = (bound) =>
  bound === "overhead" ? "bound by the call overhead" : boundWords(bound);

// --- one dot: every figure the server gave for it ---------------------------------------------------

function kernelLines(kernel) {
  if (!kernel) return [];
  const lines = [];
  const impl = [kernel.impl && `kernel ${kernel.impl}`, kernel.layout && `layout ${kernel.layout}`];
  if (impl.some(Boolean)) lines.push(impl.filter(Boolean).join(", "));
  if (kernel.aten?.length) lines.push(kernel.aten.join(" → "));
  for (const r of kernel.reorders ?? []) {
    lines.push(`reorder ${r.tensor} ${r.shape}: ${r.src_layout} → ${r.dst_layout}, ${micros(r.time_us)}`);
  }
  if (kernel.reorders?.length > 1) lines.push(`reorders in all: ${micros(kernel.reorder_us)}`);
  if (kernel.effective_madds != null) {
    const ch = kernel.effective_channels
      ? ` at ${Object.entries(kernel.effective_channels)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")} channels`
      : "";
    const bytes = kernel.effective_bytes != null ? `, ${human(kernel.effective_bytes)}B` : "";
    lines.push(`effective multiply-adds${ch}: ${exact(kernel.effective_madds)}${bytes}`);
  }
  return lines;
}

// The hover of one dot: `title` names it, `timing` (optional) is its NodeTiming.
export function hoverText(title, r, timing = null) {
  const ci = r.achieved_gflops_ci?.length === 2 ? ` (p75–p25 times: ${interval(r.achieved_gflops_ci)})` : "";
  const lines = [
    `<b>${escapeHover(title)}</b>`,
    `${exact(r.flops)} FLOP, ${exact(r.bytes)} bytes moved`,
    `intensity ${sig(r.intensity)} FLOP per byte`,
    `achieved ${sig(r.achieved_gflops)} GFLOP/s${ci}, ${sig(r.achieved_gbs)} GB/s`,
    `${escapeHover(r.level)} roof ${sig(r.roof_gbs)} GB/s: attainable ${sig(r.attainable_gflops)} GFLOP/s`,
    `${percent(r.fraction_of_roof)} of the roof · ${boundWords(r.bound)} · ` +
      `roof time ${micros(r.roof_time_us)}`,
  ];
  if (timing) {
    const share = timing.share == null ? "" : `, ${percent(timing.share)} of the ops' time`;
    const spread =
      timing.p25_us == null ? "" : ` (p25 ${micros(timing.p25_us)}, p75 ${micros(timing.p75_us)})`;
    lines.push(`median ${micros(timing.median_us)}${spread}${share}`);
  }
  const kernel = r.kernel ?? timing?.kernel;
  lines.push(...kernelLines(kernel).map(escapeHover));
  return lines.join("<br>");
}

// A dot where the log axes can place it: no arithmetic (a split, a flatten) or no time has none.
// a dot a log-log chart can show: some arithmetic, some rate
export const placeable = (r) => r && r.intensity > 0 && r.achieved_gflops > 0;

export function point(r, title, timing = null, extra = {}) {
  const [lo, hi] = r.achieved_gflops_ci ?? [];
  return { x: r.intensity, y: r.achieved_gflops, lo, hi, hover: hoverText(title, r, timing), ...extra };
}

// Each op's dot in its kind's colour and symbol, and the whole pass as a star.
function reportGroups(report, labels) {
  const nodes = (report.nodes ?? []).filter((n) => placeable(n.roofline));
  const byKind = new Map();
  for (const n of nodes) {
    const style = opStyle(n.op);
    if (!byKind.has(style.kind)) byKind.set(style.kind, { ...style, points: [] });
    const label = labels.get(n.id);
    const title = label ? `${n.id}: ${label} (${n.op})` : `${n.id} (${n.op})`;
    byKind.get(style.kind).points.push(point(n.roofline, title, n, { id: n.id }));
  }
  const groups = [...byKind.values()].map((g) => ({
    name: g.label,
    color: g.color,
    symbol: g.symbol,
    points: g.points,
  }));
  const whole = report.roofline.whole;
  if (placeable(whole)) {
    const timing = {
      median_us: report.total.median_us,
      p25_us: report.total.p25_us,
      p75_us: report.total.p75_us,
    };
    groups.push({
      name: "whole forward pass",
      ...WHOLE,
      role: "whole",
      points: [point(whole, "Whole forward pass", timing, { id: "whole" })],
    });
  }
  return groups;
}

// --- what the page keeps between measurements: the configuration before, faded ----------------------

const shown = new WeakMap(); // container -> {key, config, device, points}

const configKey = (report) => JSON.stringify([report.kind, report.config, report.device, report.threads]);

function changed(before, now) {
  const keys = Object.keys({ ...before.config, ...now.config }).filter(
    (k) => JSON.stringify(before.config?.[k]) !== JSON.stringify(now.config?.[k]),
  );
  const parts = keys.map((k) => `${k}=${before.config?.[k]}`);
  if (before.device !== now.device) parts.push(`on ${before.device}`);
  return parts.join(", ") || "the same settings";
}

// The groups of the configuration measured before this one (faded), and remembers this one.
function history(container, report, groups) {
  const key = configKey(report);
  const last = shown.get(container);
  const points = groups.flatMap((g) =>
    g.points.map((p) => ({ ...p, color: p.color ?? g.color, symbol: p.symbol ?? g.symbol })),
  );
  const now = { key, config: report.config, device: report.device, points };
  if (!last || last.key === key) {
    shown.set(container, { ...now, previous: last?.previous ?? null });
    return last?.previous ?? null;
  }
  const previous = { ...last, label: changed(last, now) };
  shown.set(container, { ...now, previous });
  return previous;
}

// --- the parts under the chart -------------------------------------------------------------------------

export function sentencesList(sentences) {
  return el(
    "ul",
    { class: "roofline-sentences", "data-role": "roofline-sentences" },
    (sentences ?? []).map((s) => el("li", { "data-role": "roofline-sentence" }, s)),
  );
}

function swatch(op) {
  const { kind } = opStyle(op);
  return el("span", { class: "roofline-swatch", "data-kind": kind, "aria-hidden": "true" });
}

const cell = (label, content, attrs = {}) => el("td", { "data-label": label, ...attrs }, content);

function kernelCell(r) {
  const k = r?.kernel;
  if (!k) return "–";
  const name = k.impl ?? k.aten?.[k.aten.length - 1] ?? "–";
  const reorder =
    k.reorder_us > 0 ? el("span", { class: "roofline-reorder" }, ` + reorders ${micros(k.reorder_us)}`) : "";
  return [el("code", {}, name), reorder];
}

// One row per op (those with no place on the log axes too: their bound still counts), then the pass.
export function nodeTable(report, labels) {
  const rows = (report.nodes ?? [])
    .filter((n) => n.roofline)
    .map((n) => {
      const r = n.roofline;
      return el(
        "tr",
        { "data-node": n.id, "data-bound": r.bound },
        el(
          "th",
          { scope: "row", "data-label": "op" },
          swatch(n.op),
          el("span", { class: "roofline-op" }, labels.get(n.id) ?? n.op),
          el("span", { class: "roofline-id" }, ` ${n.id}`),
        ),
        cell("bound", boundWords(r.bound)),
        cell("time", percent(n.share), { class: "num" }),
        cell("of roof", percent(r.fraction_of_roof), { class: "num" }),
        cell("kernel", kernelCell(r)),
      );
    });
  const whole = report.roofline.whole;
  const foot = el(
    "tr",
    { "data-node": "whole", "data-bound": whole.bound },
    el("th", { scope: "row", "data-label": "op" }, "Whole forward pass"),
    cell("bound", boundWords(whole.bound)),
    cell("time", micros(report.total.median_us), { class: "num" }),
    cell("of roof", percent(whole.fraction_of_roof), { class: "num" }),
    cell("kernel", ""),
  );
  const head = el(
    "tr",
    {},
    ["op", "bound", "% of time", "% of roof", "kernel"].map((t) => el("th", { scope: "col" }, t)),
  );
  return el(
    "div",
    { class: "roofline-table-wrap" },
    el(
      "table",
      { class: "roofline-table", "data-role": "roofline-table" },
      el("caption", {}, "Each op: what bounds it, its share of the ops' time, how close it came to its roof"),
      el("thead", {}, head),
      el("tbody", {}, rows),
      el("tfoot", {}, foot),
    ),
  );
}

const ago = (seconds) =>
  seconds < 90
    ? "just now"
    : seconds < 5400
      ? `${Math.round(seconds / 60)} min ago`
      : `${Math.round(seconds / 3600)} h ago`;

// The roofs as figures: each with its 95% interval, and how they were measured (the server's words).
export function ceilingsList(c) {
  const item = (name, value, attrs = {}) => el("div", attrs, el("dt", {}, name), el("dd", {}, value));
  const rows = [
    item(
      "Compute peak (a large matrix multiply)",
      withInterval(c.compute_gflops.value, c.compute_gflops.ci95, "GFLOP/s"),
      {
        "data-ceiling": "compute",
      },
    ),
    ...Object.entries(c.family_gflops ?? {}).map(([family, rate]) =>
      item(`${family} peak`, withInterval(rate.value, rate.ci95, "GFLOP/s"), { "data-ceiling": family }),
    ),
    ...(c.bandwidth_gbs ?? []).map((b) =>
      item(
        `${b.level} bandwidth (${human(b.working_set_bytes)}B working set)`,
        withInterval(b.gbs, b.ci95, "GB/s"),
        {
          "data-ceiling": `bandwidth-${b.level}`,
        },
      ),
    ),
    item("Fixed cost of one op call", withInterval(c.call_overhead_us.value, c.call_overhead_us.ci95, "µs")),
    item("Ridge (DRAM-bound turns compute-bound)", `${sig(c.ridge_flop_per_byte)} FLOP per byte`),
  ];
  const t = c.theoretical;
  if (t) {
    const assumed = t.assumed?.length ? `; assumed: ${t.assumed.join(", ")}` : "";
    rows.push(
      item(
        "Datasheet peak",
        `${sig(t.gflops)} GFLOP/s = ${t.cores} cores × ${t.lanes} lanes × 2 (FMA) × ` +
          `${t.fma_units} FMA units × ${sig(t.ghz)} GHz${assumed}`,
        { "data-ceiling": "theoretical" },
      ),
    );
  }
  const badges = [];
  if (c.quality?.disturbed) {
    badges.push(
      el(
        "span",
        {
          class: "roofline-badge",
          "data-role": "ceilings-disturbed",
          title: "Other work used the measuring cores, or the samples spread widely",
        },
        "disturbed",
      ),
    );
  }
  if (c.stale) badges.push(el("span", { class: "roofline-badge", "data-role": "ceilings-stale" }, "stale"));
  const label = c.device_label || c.device;
  const threads = c.threads == null || /thread/.test(label) ? "" : `, ${c.threads} threads`;
  const disturbedNote = c.quality?.disturbed
    ? el(
        "p",
        { class: "warning", "data-role": "ceilings-disturbed-note" },
        "The server was busy while measuring these ceilings: the roofs may be too low, " +
          "and every op's share of its roof too high.",
      )
    : null;
  return el(
    "section",
    { class: "roofline-ceilings", "data-role": "roofline-ceilings" },
    el("h3", {}, `Roofs of ${label}${threads} `, ...badges),
    disturbedNote,
    el("dl", {}, rows),
    el("p", { class: "hint", "data-role": "ceilings-method" }, c.method),
    el("p", { class: "hint" }, `Measured ${ago(c.age_s ?? 0)} (${c.measured_at}) with torch ${c.torch}.`),
  );
}

// "Of the ops' time: 62% memory-bound, 30% compute-bound, 8% call overhead" (the server's shares).
export function byBound(shares) {
  const parts = Object.entries(shares ?? {})
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([bound, share]) => `${percent(share, 0)} ${boundWords(bound)}`);
  return parts.length
    ? el(
        "p",
        { class: "roofline-by-bound", "data-role": "roofline-by-bound" },
        `Of the ops' time: ${parts.join(", ")}.`,
      )
    : null;
}

// --- the view -------------------------------------------------------------------------------------------

function slot(container, name, make) {
  let node = container.querySelector(`:scope > [data-role="${name}"]`);
  if (!node) {
    node = make();
    node.dataset.role = name;
    container.append(node);
  }
  return node;
}

// Why there is no roofline, plainly.
function noRoofline(report) {
  const where = report.device_label || report.device;
  if (!report.nodes?.length) {
    return (
      "This measurement timed the block end to end only: a roofline needs each op timed on its own. " +
      "Measure again with per-op timing."
    );
  }
  return (
    `No roofline for this measurement: this server's ceilings for ${where} (its peak compute rate ` +
    "and memory bandwidths) could not be had just now (busy or not measured), so there are no roofs " +
    "to place the ops under. Measure again in a moment."
  );
}

// `report`: a LatencyReport (null: not measured). `labels`: node id -> the diagram's label.
export function renderRoofline(container, report, { labels = new Map() } = {}) {
  const message = slot(container, "roofline-message", () => el("p", { class: "roofline-message" }));
  const caption = slot(container, "roofline-caption", () => el("p", { class: "roofline-caption" }));
  const chart = slot(container, "roofline-chart", () => el("div", { class: "chart roofline-chart" }));
  const details = slot(container, "roofline-details", () => el("div", { class: "roofline-details" }));
  const summary = report?.roofline;
  container.dataset.state = !report ? "empty" : summary ? "drawn" : "none";
  message.hidden = Boolean(summary);
  caption.hidden = !summary;
  chart.hidden = !summary;
  details.hidden = !summary;
  if (!report) {
    message.textContent = EMPTY_TEXT;
    return;
  }
  if (!summary) {
    message.textContent = noRoofline(report);
    details.replaceChildren();
    return;
  }
  const groups = reportGroups(report, labels);
  const previous = history(container, report, groups);
  const faded = previous
    ? [
        {
          name: `before: ${previous.label}`,
          points: previous.points,
          faded: true,
          role: "previous",
          size: 10,
        },
      ]
    : [];
  const where = summary.ceilings.device_label || report.device_label || report.device;
  caption.textContent = `Each op under the roofs of ${where}`;
  rooflineChart(chart, summary.ceilings, [...faded, ...groups]);
  const off = (report.nodes ?? []).filter(
    (n) => n.roofline && !(n.roofline.intensity > 0 && n.roofline.achieved_gflops > 0),
  );
  const offNote = off.length
    ? el(
        "p",
        { class: "hint", "data-role": "roofline-off-chart" },
        "Not on the chart (no arithmetic to place on a log axis): " +
          `${off.map((n) => labels.get(n.id) ?? n.id).join(", ")}.`,
      )
    : null;
  // replaceChildren would write a null as the text "null": the parts a report lacks are left out
  details.replaceChildren(
    ...[
      sentencesList(summary.sentences),
      byBound(summary.by_bound),
      offNote,
      nodeTable(report, labels),
      ceilingsList(summary.ceilings),
    ].filter(Boolean),
  );
}
