// The explorer's views, one entry each: adding a view is one entry here, its section in
// templates/_views.html and its name in the registry's VIEW_ORDER (blockscope/registry.py, which also
// says, per kind, which views apply: the page leaves the others out). explorer.js runs the table;
// an entry says
//   name      its section (id="view-{name}"), and what /embed/{kind}?view=… calls it
//   root      the data-role it draws into when it has no section of its own
//   applies   whether it means anything for this analysis (hidden when it does not)
//   stage     when it is drawn after a new analysis: "first" (same task: the slider's feedback),
//             "soon" (next task), "later" (debounced, one at a time: each makes the server build blocks)
//   load      what it fetches for the analysis on screen; `signal` aborts when the page moves on
//   button    the data-role of its button, which loads it again with {measure: true, again}
//             (again: the button said "Measure again", so the server measures anew: fresh=true)
//   onDemand  loaded by that button only, never on its own (a measurement takes seconds)
//   shares    other views draw from what it loads, so every view is redrawn when it arrives
//   follow    (page, data, signal) -> what the view learns after it is drawn (null: nothing), drawn
//             in its place when it comes; followFailed(err) -> its status line when that failed
//   loading   (page, options) -> its status line while it loads
//   done      (data, page) -> its status line once loaded
//   failed    (err, options) -> its status line when loading failed
//   draw      (page, data) draws it from the page's state and what it loaded
// Every function gets `page`: {kind, spec, state, root, part(role), status(text, busy)}. The state's
// `block` is the configuration analysed (with "keep multiply-adds fixed", the widened channels),
// `reference` the same block at g = 1 (null for kinds without a group count), and `scaleMax` the
// colour scale's top when the diagram's scale is held.

import { drawCurves, FUNCTIONS } from "./activation.js";
import * as api from "./api.js";
import { barsWithWhiskers, latencyChart, metricChart, sweepCharts } from "./charts.js";
import { renderGroups } from "./connectivity.js";
import { renderDiagram } from "./diagram.js";
import { el } from "./dom.js";
import { exact, metricLabel, studentText } from "./format.js";
import { renderFormula } from "./formula.js";
import { byNode, deviceLabel, explain, howMeasured, medianWithInterval, qualityNotes } from "./latency.js";
import { renderReparam } from "./reparam.js";
import { renderRoofline } from "./roofline.js";
import { renderShuffle } from "./shuffle.js";
import { renderNodeTable } from "./table.js";
import {
  fixedSentence,
  renderCompare,
  renderLesson,
  renderSummary,
  renderTotals,
  totalsReference,
} from "./totals.js";

// A standard convolution with the block's channels, kernel and stride (the comparison's reference).
function convValues(v) {
  return {
    in_channels: v.in_channels,
    out_channels: v.out_channels ?? v.in_channels,
    kernel_size: [1, 3, 5, 7].includes(v.kernel_size) ? v.kernel_size : 3,
    stride: v.stride ?? 1,
    batch: v.batch,
    height: v.height,
    width: v.width,
    seed: v.seed,
  };
}

// The block's latency, measured by the latency view's button or the roofline view's (either loads
// the same report; the newer one is on screen in both).
let measuredCount = 0;
async function measureLatency({ kind, state }, signal, { again = false } = {}) {
  const extra = { device: state.device, fresh: again ? true : null };
  const report = await api.latency(kind, state.block, extra, { signal });
  // the comparison's reference, timed alike; without it the comparison just has no latency row
  const conv = state.compare
    ? await api.latency("conv", convValues(state.block), extra, { signal }).catch(() => null)
    : null;
  measuredCount += 1;
  return { report, byNode: byNode(report), conv, order: measuredCount };
}
const newestLatency = ({ loaded }) =>
  [loaded.latency, loaded.roofline].filter(Boolean).sort((a, b) => b.order - a.order)[0] ?? null;
const measuring = async ({ state }) => `Measuring on ${await deviceLabel(state.device)}…`;

// per-node latency of the analysis on screen, once measured
const measuredNodes = (state) => newestLatency(state)?.byNode ?? null;

// The reparam view has no latency colouring of its own: its diagrams fall back to MAC.
const structuralMetric = (metric) => (metric === "latency" ? "mac" : metric);

// A measure button says "Measure again" once its view has a measurement (the next press is fresh).
function measureButton(root, role, measured, first) {
  const button = root.querySelector(`[data-role="${role}"]`);
  if (!button) return;
  button.textContent = measured ? "Measure again" : first;
  if (measured) button.dataset.again = "1";
  else delete button.dataset.again;
}

// What the two views drawn from one latency measurement (latency, roofline) share: measured on
// demand, by the same request, with the same status words.
const MEASURED = {
  stage: "soon",
  onDemand: true,
  shares: true,
  load: measureLatency,
  loading: measuring,
  done: ({ report }) => `Measured on ${howMeasured(report)}.`,
  failed: (err) => explain(err),
};

export const VIEWS = [
  {
    name: "formula",
    root: "formula", // the explorer's header; an embed's section has the same data-role inside
    stage: "first",
    draw: ({ root, part, spec, state }) =>
      renderFormula(part("formula") || root, state.analysis, spec.formula),
  },
  {
    name: "totals",
    stage: "first",
    draw: ({ root, part, spec, state }) => {
      const ref = totalsReference(spec, state);
      renderTotals(root, state.analysis, ref);
      renderSummary(document.querySelector('[data-role="live-totals"]'), state.analysis, ref);
      const why = part("why");
      if (why) {
        const gp = spec.group_param;
        const g2 =
          state.fixed && state.reference
            ? fixedSentence(state.analysis, state.reference, {
                param: gp,
                g: state.block?.[gp],
                widen: spec.widen,
              })
            : null;
        renderLesson(why, state.analysis, g2);
      }
    },
  },
  {
    name: "diagram",
    stage: "first",
    draw: ({ part, state }) => {
      const svgRoot = renderDiagram(part("diagram"), state.analysis, {
        metric: state.metric,
        latency: measuredNodes(state),
        tip: part("tip"),
        scaleMax: state.metric === "latency" ? null : state.scaleMax,
      });
      const note = part("scale-note");
      if (note) {
        const top = Number(svgRoot.dataset.scaleMax);
        const what =
          state.metric === "latency" || state.scaleMax == null ? "this diagram's largest op" : state.scaleOf;
        const metric = metricLabel(state.metric).split(" (")[0];
        note.textContent = `Full colour = ${exact(top)} ${metric} (${what}).`;
      }
    },
  },
  {
    name: "groups",
    stage: "first",
    draw: ({ part, kind, state }) => renderGroups(part("groups"), state.analysis, kind),
  },
  {
    name: "compare",
    root: "compare",
    applies: ({ state }) => state.compare,
    stage: "soon",
    load: ({ state }, signal) => api.analyse("conv", convValues(state.block), { signal }),
    failed: (err) => `No standard convolution to compare with: ${studentText(err.message)}`,
    draw: ({ root, state }, conv) => {
      const measured = newestLatency(state);
      const latency = measured?.conv ? { block: measured.report, conv: measured.conv } : null;
      renderCompare(root, state.analysis, conv, latency);
    },
  },
  {
    name: "table",
    stage: "soon",
    draw: ({ part, state }) =>
      renderNodeTable(part("table"), state.analysis, measuredNodes(state), state.metric),
  },
  {
    name: "chart",
    stage: "soon",
    draw: ({ part, state }) =>
      metricChart(part("metric-chart"), state.analysis, state.metric, measuredNodes(state)),
  },
  {
    name: "shuffle",
    applies: ({ state }) => !state.analysis || state.analysis.permutations.length > 0,
    stage: "soon",
    draw: ({ part, state }) => renderShuffle(part("shuffle"), state.analysis.permutations),
  },
  {
    name: "sweep",
    applies: ({ spec }) => Boolean(spec.group_param),
    stage: "later",
    load: ({ kind, state }, signal) => api.sweep(kind, state.block, { signal }),
    loading: ({ spec }) => `Computing the sweep of ${spec.group_param}…`,
    failed: (err) => api.unavailable(err, "The sweep") || `No sweep here: ${studentText(err.message)}`,
    draw: ({ part, state }, sweep) =>
      sweepCharts(part("sweep-channels"), part("sweep-madds"), sweep, state.fixed ? state.series : null),
  },
  {
    name: "reparam",
    stage: "later",
    button: "measure-reparam",
    load: ({ kind, state }, signal, { measure = false, again = false }) => {
      const values = measure ? { ...state.block, device: state.device } : state.block;
      return api.reparam(kind, values, measure, { signal, again });
    },
    loading: async ({ state }, { measure }) =>
      measure ? `Measuring both forms on ${await deviceLabel(state.device)}…` : "Folding the block…",
    failed: (err, { measure }) =>
      api.unavailable(err, "Reparameterization") ||
      (measure ? explain(err) : `Cannot fold this block: ${studentText(err.message)}`),
    // the forms come at once (from the meta device); the proof that they agree runs real tensors
    // on the server, once per configuration, and is filled in when it arrives
    follow: async ({ kind, state, status }, report, signal) => {
      if (report.equivalence !== "pending") return null;
      status("Running both forms on the server to check that they compute the same output…", true);
      const onWait = (wait) =>
        status(`The server is busy checking other blocks; trying again in ${wait} s…`, true);
      const proof = await api.reparamEquivalence(kind, state.block, { signal, retry: true, onWait });
      return { ...report, equivalence: "checked", max_abs_diff: proof.max_abs_diff, kernel: proof.kernel };
    },
    followFailed: (err) => `Could not check that both forms agree: ${studentText(err.message)}`,
    draw: ({ part, state }, report) =>
      renderReparam(part("reparam"), report, { metric: structuralMetric(state.metric) }),
  },
  {
    ...MEASURED,
    name: "latency",
    button: "measure",
    draw: ({ part, root, state }) => {
      const measured = newestLatency(state);
      const chart = part("latency-chart");
      const summary = part("latency-summary");
      chart.hidden = !measured; // nothing to show (and no empty chart's space) before a measurement
      summary.hidden = !measured;
      measureButton(root, "measure", Boolean(measured), "Measure latency");
      if (!measured) {
        summary.replaceChildren();
        return;
      }
      const { report } = measured;
      const median = el(
        "p",
        { class: "latency-total", "data-role": "latency-median" },
        "Block, end to end: median ",
        el("strong", {}, medianWithInterval(report)),
        ` over ${report.samples ?? report.repeats} timed runs.`,
      );
      summary.replaceChildren(median, ...qualityNotes(report));
      latencyChart(chart, report);
    },
  },
  {
    // the latency view's per-op timings placed on this server's roofs (report.roofline)
    ...MEASURED,
    name: "roofline",
    button: "measure-roofline",
    draw: ({ part, root, state }) => {
      const measured = newestLatency(state);
      measureButton(root, "measure-roofline", Boolean(measured), "Measure latency");
      const labels = new Map(state.analysis.nodes.map((n) => [n.id, n.label]));
      renderRoofline(part("roofline"), measured?.report ?? null, { labels });
    },
  },
  {
    name: "activation",
    applies: ({ kind }) => kind === "activation",
    stage: "soon",
    button: "measure-activations",
    onDemand: true,
    load: async ({ kind, state, status }, signal, { again = false } = {}) => {
      const names = Object.keys(FUNCTIONS);
      const reports = [];
      for (const name of names) {
        const where = await deviceLabel(state.device);
        signal.throwIfAborted();
        status(`Measuring ${name} on ${where}…`, true);
        const values = { ...state.block, function: name };
        const extra = { device: state.device, fresh: again ? true : null };
        reports.push(await api.latency(kind, values, extra, { signal }));
      }
      return { names, reports };
    },
    done: ({ reports }, { state }) => {
      const where = reports[0].device_label || reports[0].device;
      return `Each function on ${where}, input ${state.analysis.input_shape.join("×")}.`;
    },
    failed: (err) => explain(err),
    draw: ({ part, root, state }, measured) => {
      drawCurves(part("activation-chart"), state.block.function);
      measureButton(root, "measure-activations", Boolean(measured), "Measure each function");
      const notes = part("activation-quality");
      const chart = part("activation-latency");
      chart.hidden = !measured;
      if (!measured) {
        notes?.replaceChildren();
        return;
      }
      notes?.replaceChildren(...measured.reports.flatMap((r, i) => qualityNotes(r, measured.names[i])));
      const title = "Measured latency per function (median, whiskers p25–p75)";
      barsWithWhiskers(chart, measured.names, measured.reports, title);
    },
  },
];
