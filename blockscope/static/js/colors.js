// Colours, one module for every page: each metric keeps its colour in the diagram, the explorer's
// charts and the guideline lab (MAC is always the same blue); the rest are the references and marks
// that charts share. The values live in css/palette.css, the palette's one home; this module reads
// them once, as the stylesheets see them, for what a stylesheet cannot reach (SVG attributes kept in
// a downloaded file, Plotly traces).

const root = getComputedStyle(document.documentElement);

// One colour of the palette by its custom property's name; a name it lacks is a bug, said at once.
function css(name) {
  const value = root.getPropertyValue(name).trim();
  if (!value) throw new Error(`palette.css defines no ${name}`);
  return value;
}

export const METRIC_COLORS = {
  params: css("--metric-params"),
  madds: css("--metric-madds"),
  mac: css("--metric-mac"),
  elementwise: css("--metric-elementwise"),
  latency: css("--metric-latency"),
};

// The paper's published figures: greys, so that this server's measurement (latency) stands out.
export const PAPER_COLORS = { gpu: css("--paper-gpu"), arm: css("--paper-arm") };

// The int8 lab's two number formats: not metrics, so colours of their own.
export const PRECISION_COLORS = { float32: css("--precision-float32"), int8: css("--precision-int8") };

export const INK = css("--ink"); // text, whiskers, bounds and the selected point
export const WARNING = css("--warning-mark"); // a figure that may be wrong (timed while busy)
export const RULE = css("--rule"); // frames, guides and the "current value" line

// The rest of a drawing: its background, secondary text, arrows, frames and boxes.
export const FIGURE = {
  background: css("--card"),
  soft: css("--fg-soft"), // a shape under a label
  muted: css("--muted"), // a frame's label, an arrowhead
  line: css("--line"),
  onDark: css("--on-dark"),
  edge: css("--edge"),
  frame: css("--frame-fill"),
  input: css("--input-fill"),
  box: css("--box-fill"),
  boxStroke: css("--box-stroke"),
  highlight: css("--highlight"),
};

// The roofline's dots, by the kind of op (roofline.js sorts ops into these), and its slanted roofs.
export const OP_COLORS = {
  conv: css("--op-conv"),
  linear: css("--op-linear"),
  norm: css("--op-norm"),
  activation: css("--op-activation"),
  arithmetic: css("--op-arithmetic"),
  pool: css("--op-pool"),
  data: css("--op-data"),
};
export const ROOF_MEMORY = css("--roof-memory");
// the two sides of a comparison (/compare)
export const SIDE_COLORS = { a: css("--side-a"), b: css("--side-b") };

// Channel-shuffle groups: categories, not metrics.
const GROUP_PALETTE = [
  "--group-1",
  "--group-2",
  "--group-3",
  "--group-4",
  "--group-5",
  "--group-6",
  "--group-7",
  "--group-8",
].map(css);
export const groupColor = (group) => GROUP_PALETTE[group % GROUP_PALETTE.length];

export const metricColor = (metric) => METRIC_COLORS[metric] ?? METRIC_COLORS.mac;

// [r, g, b] of a palette colour written #rrggbb
const rgb = (hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));

function mix(from, to, t) {
  const a = rgb(from);
  const b = rgb(to);
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * Math.max(0, Math.min(1, t))));
  return `rgb(${c.join(",")})`;
}

// A pale-to-mid tint of `color` for t in 0..1; dark text stays readable on every one of them.
const WASH = css("--wash");
export const tint = (color, t) => mix(WASH, color, 0.55 * t);

// `color` darkened, for a bar drawn on top of its own tint.
const SHADE_TOWARD = css("--shade-toward");
export const shade = (color) => mix(color, SHADE_TOWARD, 0.3);

// `color` seen through, for an area drawn over other marks.
export const translucent = (color, alpha) => `rgba(${rgb(color).join(", ")}, ${alpha})`;

// Signed values (kernel weights): blue below zero, white at zero, red above.
export const DIVERGING = [
  [0, css("--diverging-low")],
  [0.25, css("--diverging-low-mid")],
  [0.5, css("--diverging-zero")],
  [0.75, css("--diverging-high-mid")],
  [1, css("--diverging-high")],
];
