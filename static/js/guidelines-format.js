// Readable numbers for the guideline lab: every exact count also appears in a tooltip or the API.

import { human as humanNumber } from "./format.js";

export { exact, micros } from "./format.js";

// The lab's counts are close to each other, so they get two decimals (1.23 M) where the explorer uses one.
export const human = (value) => humanNumber(value, 2);

export function rate(value) {
  if (value == null) return "–";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export const ratio = (value) => (value == null ? "–" : value.toFixed(2));

// A row's configuration in the paper's notation (c1, c2, c, g, fragments, ReLU, shortcut).
export function configText(name, config) {
  switch (name) {
    case "g1": return `c1=${config.c1}, c2=${config.c2}`;
    case "g2": return `c=${config.channels}, g=${config.groups}`;
    case "g3": return `c=${config.channels}, ${config.fragments}× ${config.arrangement}`;
    case "g4": return `${config.bottleneck_channels * 4}→${config.bottleneck_channels}→${config.bottleneck_channels * 4}`;
    default: return JSON.stringify(config);
  }
}
