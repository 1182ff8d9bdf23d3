// Plotly with the site's defaults, for every chart on every page. Plotly is a classic script
// (/vendor/plotly.min.js, served from the installed Python package): the global `Plotly`.

import { INK } from "./colors.js";

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
    title: { text: title, font: { size: 13 }, x: 0, xanchor: "left" },
    font: FONT,
    margin: { l: 64, r: 16, t: 40, b: 56 },
    height: 320,
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    legend: { orientation: "h", y: -0.25 },
    ...extra,
  };
}

export function plot(element, traces, layout) {
  if (typeof window.Plotly === "undefined") {
    element.textContent = "Charts need Plotly (/vendor/plotly.min.js), which did not load.";
    return;
  }
  window.Plotly.react(element, traces, layout, PLOT_CONFIG);
}
