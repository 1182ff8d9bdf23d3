// The activation view: the six functions drawn from their formulas (MobileNet V3, Sec. 5.2), and the
// measured latency of each on demand.

import { curvesChart } from "./charts.js";

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

export function drawCurves(element, selected) {
  const xs = Array.from({ length: 241 }, (_, i) => -6 + i * 0.05);
  const curves = Object.entries(FUNCTIONS).map(([name, f]) => ({
    name: NAMES[name] || name,
    y: xs.map(f),
    width: name === selected ? 4 : 2,
    dash: name.startsWith("hard") ? "dash" : "solid",
  }));
  curvesChart(element, xs, curves);
}
