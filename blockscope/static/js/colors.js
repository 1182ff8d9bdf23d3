// Colours, one module for every page: each metric keeps its colour in the diagram, the explorer's
// charts and the guideline lab (MAC is always the same blue); the rest are the references and marks
// that charts share.

export const METRIC_COLORS = {
  params: "#7b4fd6",
  madds: "#d9822b",
  mac: "#2f6fde",
  elementwise: "#2e9e6b",
  latency: "#c2415d",
};

// The paper's published figures: greys, so that this server's measurement (latency) stands out.
export const PAPER_COLORS = { gpu: "#5b6475", arm: "#a3acbd" };

// The int8 lab's two number formats: not metrics, so colours of their own.
export const PRECISION_COLORS = { float32: "#1f8ea3", int8: "#b5562a" };

export const INK = "#1d2330"; // text, whiskers, bounds and the selected point
export const RULE = "#9aa5b8"; // frames, guides and the "current value" line

// Channel-shuffle groups: categories, not metrics.
const GROUP_PALETTE = [
  "#2f6fde",
  "#d9822b",
  "#2e9e6b",
  "#c2415d",
  "#7b4fd6",
  "#8c6d1f",
  "#1f8ea3",
  "#d64fb4",
];
export const groupColor = (group) => GROUP_PALETTE[group % GROUP_PALETTE.length];

export const metricColor = (metric) => METRIC_COLORS[metric] ?? METRIC_COLORS.mac;

const rgb = (hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));

function mix(from, to, t) {
  const a = rgb(from);
  const b = rgb(to);
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * Math.max(0, Math.min(1, t))));
  return `rgb(${c.join(",")})`;
}

// A pale-to-mid tint of `color` for t in 0..1; dark text stays readable on every one of them.
export const tint = (color, t) => mix("#f4f7fc", color, 0.55 * t);

// `color` darkened, for a bar drawn on top of its own tint.
export const shade = (color) => mix(color, "#000000", 0.3);

// Signed values (kernel weights): blue below zero, white at zero, red above.
export const DIVERGING = [
  [0, "#2166ac"],
  [0.25, "#92c5de"],
  [0.5, "#ffffff"],
  [0.75, "#f4a582"],
  [1, "#b2182b"],
];
