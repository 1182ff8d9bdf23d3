// The network stage by stage, left to right: one box per stage, as tall as its output is wide
// (log scale, so the halvings read as steps), with its output shape, how many units it holds and a bar
// of its share of the multiply-adds. Each box links to the stage's first row of the table.

import { METRIC_COLORS } from "./colors.js";
import { svg } from "./dom.js";
import { percent } from "./format.js";
import { paperShape } from "./network-table.js";

const BOX_W = 118;
const GAP = 30;
const TOP = 8;
const MAX_H = 132;
const MIN_H = 70;
const BAR_GAP = 10;
const BAR_H = 8;
const LABEL_H = 16;

function stagesOf(analysis) {
  return analysis.stages.map((name) => {
    const rows = analysis.rows.filter((r) => r.stage === name);
    const last = rows[rows.length - 1];
    return {
      name,
      first: rows[0].index,
      units: rows.reduce((n, r) => n + r.repeats, 0),
      output: last.output_shape,
      madds: rows.reduce((s, r) => s + r.share.madds, 0),
      params: rows.reduce((s, r) => s + r.share.params, 0),
    };
  });
}

const side = (shape) => (shape.length === 4 ? Math.max(shape[2], shape[3]) : 1);

export function renderStages(container, analysis) {
  const stages = stagesOf(analysis);
  const largest = Math.max(side(analysis.input_shape), ...stages.map((s) => side(s.output)));
  const height = (s) => MIN_H + ((MAX_H - MIN_H) * Math.log2(1 + side(s.output))) / Math.log2(1 + largest);
  const width = stages.length * (BOX_W + GAP) - GAP + 2;
  const total = TOP + MAX_H + BAR_GAP + BAR_H + LABEL_H + 4;
  const items = [];
  stages.forEach((stage, i) => {
    const x = 1 + i * (BOX_W + GAP);
    const h = height(stage);
    const y = TOP + (MAX_H - h) / 2;
    const cx = x + BOX_W / 2;
    const line = (dy, text, cls) =>
      svg("text", { x: cx, y: y + dy, "text-anchor": "middle", class: cls }, text);
    const units = stage.units === 1 ? "1 layer" : `${stage.units} layers`;
    const share = `${percent(stage.madds)} of the multiply-adds`;
    const label = `${stage.name}: ${units}, output ${paperShape(stage.output)}, ${share}`;
    items.push(
      svg(
        "a",
        {
          href: `#row-${stage.first}`,
          class: "stage",
          "data-stage": stage.name,
          "aria-label": label,
        },
        svg("rect", { x, y, width: BOX_W, height: h, rx: 6 }),
        line(h / 2 - 16, stage.name, "stage-name"),
        line(h / 2 + 2, paperShape(stage.output), "stage-shape"),
        line(h / 2 + 18, units, "stage-units"),
      ),
    );
    const barY = TOP + MAX_H + BAR_GAP;
    items.push(
      svg("rect", { x, y: barY, width: BOX_W, height: BAR_H, class: "stage-bar-track" }),
      svg("rect", {
        x,
        y: barY,
        width: Math.max(1, BOX_W * stage.madds),
        height: BAR_H,
        fill: METRIC_COLORS.madds,
      }),
      svg(
        "text",
        { x: cx, y: barY + BAR_H + 13, "text-anchor": "middle", class: "stage-share" },
        `${percent(stage.madds)} of multiply-adds`,
      ),
    );
    if (i > 0) {
      const ay = TOP + MAX_H / 2;
      items.push(
        svg("line", { x1: x - GAP + 3, y1: ay, x2: x - 5, y2: ay, class: "stage-arrow" }),
        svg("path", { d: `M${x - 5},${ay - 4} L${x - 1},${ay} L${x - 5},${ay + 4} Z`, class: "stage-head" }),
      );
    }
  });
  const strip = svg(
    "svg",
    {
      viewBox: `0 0 ${width} ${total}`,
      width,
      height: total,
      role: "group",
      "aria-label": `${analysis.title} stage by stage, from input ${paperShape(analysis.input_shape)}`,
      class: "stage-diagram",
    },
    items,
  );
  container.replaceChildren(strip);
  fitLabels(strip, width, total);
}

// A share label is wider than its box at some fonts: the first and last would be cut by the strip's
// edges, so the strip grows to hold whatever its labels reach (nothing to measure while it is hidden).
function fitLabels(strip, width, total) {
  const box = strip.getBBox();
  if (!box.width) return;
  const left = Math.min(0, Math.floor(box.x));
  const right = Math.max(width, Math.ceil(box.x + box.width));
  strip.setAttribute("viewBox", `${left} 0 ${right - left} ${total}`);
  strip.setAttribute("width", String(right - left));
}
