// The "embed this view" snippet: an <iframe> of /embed/{kind} with the current state and views,
// then a script served by BlockScope itself (static/js/embed-host.js) that resizes the iframe to
// the height the embed reports. The iframe's own height is a fallback for pages that drop scripts:
// the views' heights in a column about 760 px wide.

import { FIGURE } from "./colors.js";
import { el } from "./dom.js";

// Heights (px) the views take in a column 760 px wide, measured on the largest blocks (a fallback is
// better too tall than too short: an iframe shorter than its content shows a scrollbar of its own).
const HEIGHTS = {
  controls: 340,
  formula: 240,
  totals: 460,
  diagram: 1300,
  groups: 1080,
  shuffle: 900,
  table: 500,
  chart: 450,
  sweep: 850,
  reparam: 1600,
  latency: 210,
  roofline: 1500,
  activation: 620,
};
// where a kind's view is much taller than the rest's
const KIND_HEIGHTS = { repvgg_block: { reparam: 3100 } };
const CHROME = 40;

export function fallbackHeight(kind, views, controls = false) {
  const height = (v) => KIND_HEIGHTS[kind]?.[v] ?? HEIGHTS[v] ?? 500;
  const sum = views.reduce((total, v) => total + height(v), controls ? HEIGHTS.controls : 0);
  return Math.min(6000, CHROME + sum);
}

export function embedURL(kind, search, views, controls = false) {
  const params = new URLSearchParams(search);
  params.delete("view");
  params.delete("controls");
  if (views.length) params.set("view", views.join(","));
  if (controls) params.set("controls", "1");
  return `${window.location.origin}/embed/${encodeURIComponent(kind)}?${params.toString()}`;
}

// The markup of the <iframe> and the resizing <script>, serialised by the browser (which escapes
// every attribute). controls: the embed shows the block's controls, so students can move them.
export function snippet(kind, title, search, views, { controls = false } = {}) {
  const frame = el("iframe", {
    src: embedURL(kind, search, views, controls),
    title: `BlockScope: ${title}`,
    width: "100%",
    height: fallbackHeight(kind, views, controls),
    style: `border:1px solid ${FIGURE.line};border-radius:6px;display:block`,
    loading: "lazy",
    "data-blockscope": "",
  });
  const script = el("script", { src: `${window.location.origin}/static/js/embed-host.js`, async: true });
  return `${frame.outerHTML}\n${script.outerHTML}`;
}
