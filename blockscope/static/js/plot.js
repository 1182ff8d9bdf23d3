// Plotly with the site's defaults, for every chart on every page. Plotly is a classic script (its
// cartesian bundle from npm, or the full one from the Python package where npm's is not installed):
// the global `Plotly`, which plot() fetches when a page first draws a chart.

import { FIGURE, INK } from "./colors.js";
import { el } from "./dom.js";

// Responsive; the modebar keeps zoom, pan and "download as PNG", without Plotly's logo, its
// cloud button ("Share chart…", to Chart Studio) or the selection tools, which select nothing here.
export const PLOT_CONFIG = {
  responsive: true,
  displaylogo: false,
  showSendToCloud: false,
  showEditInChartStudio: false,
  modeBarButtonsToRemove: ["sendChartToCloud", "select2d", "lasso2d"],
};

const FONT = {
  family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  size: 12,
  color: INK,
};

// A layout with the defaults; `extra` replaces whole top-level keys (xaxis, yaxis, margin, …).
export function plotLayout(title, extra = {}) {
  return {
    // pinned to the top, above any legend placed over the plot
    title: { text: title, font: { size: 13 }, x: 0, xanchor: "left", y: 1, yanchor: "top", pad: { t: 10 } },
    font: FONT,
    margin: { l: 64, r: 16, t: 40, b: 56 },
    height: 320,
    paper_bgcolor: FIGURE.background,
    plot_bgcolor: FIGURE.background,
    legend: { orientation: "h", y: -0.25 },
    ...extra,
  };
}

// A title too long for the chart's width is broken onto more lines (Plotly does not wrap), and the
// top margin grows with it, so no title is cut off on a phone.
function fitTitle(layout, width) {
  const text = layout.title?.text;
  if (!text || !width) return layout;
  const perLine = Math.max(20, Math.floor((width - 16) / 7.2)); // about 7 px per character at 13 px
  const lines = [];
  let current = "";
  for (const word of text.split(" ")) {
    if (current && `${current} ${word}`.length > perLine) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  lines.push(current);
  if (lines.length === 1) return layout;
  const margin = { ...(layout.margin || {}) };
  margin.t = (margin.t ?? 40) + 17 * (lines.length - 1);
  const height = layout.height ? layout.height + 17 * (lines.length - 1) : layout.height;
  return { ...layout, height, margin, title: { ...layout.title, text: lines.join("<br>") } };
}

// Plotly (about 500 KB gzipped) is fetched the first time a chart is drawn, never with the page: the
// diagram and the totals never wait for it. Draws asked for meanwhile wait, the newest per element.
// The page names Plotly's versioned URL (kept by browsers and proxies for a year).
const PLOTLY = document.querySelector("meta[name=plotly-src]")?.content ?? "/vendor/plotly.min.js";
let loading = null;
const waiting = new Map(); // element -> [traces, layout]

function loadPlotly() {
  loading ??= new Promise((resolve, reject) => {
    const script = el("script", { src: PLOTLY });
    script.addEventListener("load", resolve, { once: true });
    script.addEventListener("error", reject, { once: true });
    document.head.append(script);
  });
  return loading;
}

function draw(element, traces, layout) {
  window.Plotly.react(element, traces, fitTitle(layout, element.clientWidth), PLOT_CONFIG);
}

export function plot(element, traces, layout) {
  if (typeof window.Plotly !== "undefined") {
    waiting.delete(element);
    draw(element, traces, layout);
    return;
  }
  const first = waiting.size === 0;
  waiting.set(element, [traces, layout]);
  if (!first) return;
  loadPlotly().then(
    () => {
      for (const [target, [t, l]] of waiting) draw(target, t, l);
      waiting.clear();
    },
    () => {
      for (const target of waiting.keys())
        target.textContent = `Charts need Plotly (${PLOTLY}), which did not load.`;
      waiting.clear();
    },
  );
}

// Resolves once every chart asked for so far is drawn (or Plotly failed to load).
export function plotted() {
  return waiting.size && loading ? loading.then(() => pause(0)).catch(() => {}) : Promise.resolve();
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
