// The activation view: the six functions drawn from their formulas (MobileNet V3, Sec. 5.2), and the
// measured latency of each on demand.

import { curvesChart } from "./charts.js";
import { groupColor } from "./colors.js";

const relu6 = (x) => Math.min(Math.max(x, 0), 6);
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
export const FUNCTIONS = {
  relu: (x) => Math.max(x, 0),
  relu6,
  sigmoid,
  hardsigmoid: (x) => relu6(x + 3) / 6,
  silu: (x) => x * sigmoid(x),
  hardswish: (x) => (x * relu6(x + 3)) / 6,
};
const NAMES = {
  silu: "silu (swish)",
  hardswish: "hardswish (h-swish)",
  hardsigmoid: "hardsigmoid (h-sigmoid)",
};
const GATES = new Set(["sigmoid", "hardsigmoid"]);

// Distinct colours per function (categories, from the groups' palette: not metric colours).
const COLOR_INDEX = { relu: 6, relu6: 0, sigmoid: 4, hardsigmoid: 3, silu: 2, hardswish: 1 };

export function drawCurves(element, selected) {
  const xs = Array.from({ length: 321 }, (_, i) => -8 + i * 0.05);
  const curves = Object.entries(FUNCTIONS).map(([name, f]) => ({
    name: NAMES[name] || name,
    y: xs.map(f),
    width: name === "relu" ? 7 : name === selected ? 4 : 2,
    opacity: name === "relu" ? 0.45 : 1,
    dash: name.startsWith("hard") ? "dash" : "solid",
    color: groupColor(COLOR_INDEX[name]),
    panel: GATES.has(name) ? "gate" : "main",
  }));
  curvesChart(element, xs, curves);
}
