// The explorer's views, one entry each: adding a view is one entry here and its section in
// templates/_views.html. explorer.js runs the table; an entry says
//   name      its section (id="view-{name}"), and what /embed/{kind}?view=… calls it
//   root      the data-role it draws into when it has no section of its own
//   applies   whether it means anything for this block or analysis (hidden when it does not)
//   stage     when it is drawn after a new analysis: "first" (same task: the slider's feedback),
//             "soon" (next task), "later" (debounced, one at a time: each makes the server build blocks)
//   load      what it fetches for the analysis on screen; `signal` aborts when the page moves on
//   button    the data-role of its button, which loads it again with {measure: true}
//   onDemand  loaded by that button only, never on its own (a measurement takes seconds)
//   shares    other views draw from what it loads, so every view is redrawn when it arrives
//   loading   (page, options) -> its status line while it loads
//   done      (data, page) -> its status line once loaded
//   failed    (err, options) -> its status line when loading failed
//   draw      (page, data) draws it from the page's state and what it loaded
// Every function gets `page`: {kind, spec, state, root, part(role), status(text, busy)}.

import { drawCurves, FUNCTIONS } from "./activation.js";
import * as api from "./api.js";
import { barsWithWhiskers, latencyChart, metricChart, sweepCharts } from "./charts.js";
import { renderDiagram } from "./diagram.js";
import { byNode, deviceLabel, explain, howMeasured } from "./latency.js";
import { renderReparam } from "./reparam.js";
import { renderShuffle } from "./shuffle.js";
import { renderNodeTable } from "./table.js";
import { renderCompare, renderTotals } from "./totals.js";

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

// per-node latency of the analysis on screen, once measured
const measuredNodes = (state) => state.loaded.latency?.byNode ?? null;

// The reparam view has no latency colouring of its own: its diagrams fall back to MAC.
const structuralMetric = (metric) => (metric === "latency" ? "mac" : metric);

export const VIEWS = [
  {
    name: "totals",
    stage: "first",
    draw: ({ root, state }) => renderTotals(root, state.analysis),
  },
  {
    name: "diagram",
    stage: "first",
    draw: ({ part, state }) =>
      renderDiagram(part("diagram"), state.analysis, {
        metric: state.metric,
        latency: measuredNodes(state),
        tip: part("tip"),
      }),
  },
  {
    name: "compare",
    root: "compare",
    applies: ({ state }) => state.compare,
    stage: "soon",
    load: ({ state }, signal) => api.analyse("conv", convValues(state.values), { signal }),
    failed: (err) => `No standard convolution to compare with: ${err.message}`,
    draw: ({ root, state }, conv) => {
      const measured = state.loaded.latency;
      const latency = measured?.conv ? { block: measured.report, conv: measured.conv } : null;
      renderCompare(root, state.analysis, conv, latency);
    },
  },
  {
    name: "table",
    stage: "soon",
    draw: ({ part, state }) => renderNodeTable(part("table"), state.analysis, measuredNodes(state)),
  },
  {
    name: "chart",
    stage: "soon",
    draw: ({ part, state }) =>
      metricChart(part("metric-chart"), state.analysis, state.metric, measuredNodes(state)),
  },
  {
    name: "shuffle",
    applies: ({ state }) => state.analysis?.permutations.length > 0,
    stage: "soon",
    draw: ({ part, state }) => renderShuffle(part("shuffle"), state.analysis.permutations),
  },
  {
    name: "sweep",
    applies: ({ spec }) => Boolean(spec.group_param),
    stage: "later",
    load: ({ kind, state }, signal) => api.sweep(kind, state.values, { signal }),
    loading: ({ spec }) => `Computing the sweep of ${spec.group_param}…`,
    failed: (err) => api.unavailable(err, "The sweep") || `Sweep unavailable: ${err.message}`,
    draw: ({ part }, sweep) => sweepCharts(part("sweep-channels"), part("sweep-madds"), sweep),
  },
  {
    name: "reparam",
    stage: "later",
    button: "measure-reparam",
    load: ({ kind, state }, signal, { measure = false }) => {
      const values = measure ? { ...state.values, device: state.device } : state.values;
      return api.reparam(kind, values, measure, { signal });
    },
    loading: async ({ state }, { measure }) =>
      measure ? `Measuring both forms on ${await deviceLabel(state.device)}…` : "Folding the block…",
    failed: (err, { measure }) =>
      api.unavailable(err, "Reparameterization") ||
      (measure ? explain(err) : `Cannot fold this block: ${err.message}`),
    draw: ({ part, state }, report) =>
      renderReparam(part("reparam"), report, { metric: structuralMetric(state.metric) }),
  },
  {
    name: "latency",
    stage: "soon",
    button: "measure",
    onDemand: true,
    shares: true,
    load: async ({ kind, state }, signal) => {
      const device = { device: state.device };
      const report = await api.latency(kind, state.values, device, { signal });
      // the comparison's reference, timed alike; without it the comparison just has no latency row
      const conv = state.compare
        ? await api.latency("conv", convValues(state.values), device, { signal }).catch(() => null)
        : null;
      return { report, byNode: byNode(report), conv };
    },
    loading: async ({ state }) => `Measuring on ${await deviceLabel(state.device)}…`,
    done: ({ report }) => `Measured on ${howMeasured(report)}.`,
    failed: (err) => explain(err),
    draw: ({ part }, measured) => {
      if (measured) latencyChart(part("latency-chart"), measured.report);
    },
  },
  {
    name: "activation",
    applies: ({ kind }) => kind === "activation",
    stage: "soon",
    button: "measure-activations",
    onDemand: true,
    load: async ({ kind, state, status }, signal) => {
      const names = Object.keys(FUNCTIONS);
      const reports = [];
      for (const name of names) {
        const where = await deviceLabel(state.device);
        signal.throwIfAborted();
        status(`Measuring ${name} on ${where}…`, true);
        const values = { ...state.values, function: name };
        reports.push(await api.latency(kind, values, { device: state.device }, { signal }));
      }
      return { names, reports };
    },
    done: ({ reports }, { state }) => {
      const where = reports[0].device_label || reports[0].device;
      return `Each function on ${where}, input ${state.analysis.input_shape.join("×")}.`;
    },
    failed: (err) => explain(err),
    draw: ({ part, state }, measured) => {
      drawCurves(part("activation-chart"), state.values.function);
      if (measured) {
        const title = "Measured latency per function (median, whiskers p25–p75)";
        barsWithWhiskers(part("activation-latency"), measured.names, measured.reports, title);
      }
    },
  },
];
