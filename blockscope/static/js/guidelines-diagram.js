// One unit of a row as a small SVG, laid out as the block diagram is (layout.js), data flowing down.

import { el, svg } from "./dom.js";
import { curve, layout } from "./layout.js";

const BOX_H = 24;
const CHAR_W = 6.2; // average width of a 10.5 px system-ui character
const DY = 38;
const PAD = 8;
let serial = 0;

function nodeText(node) {
  const channels = node.output_shape ? node.output_shape[1] : null;
  if (node.op === "input") return `input, ${channels} ch`;
  if (node.op === "conv2d") return `${node.label} → ${channels}`;
  return node.label;
}

export function unitDiagram(row, depth) {
  const nodes = row.unit.nodes;
  const boxW = Math.max(96, Math.ceil(Math.max(...nodes.map((n) => nodeText(n).length)) * CHAR_W) + 14);
  const dx = boxW + 10; // one lane of the layout
  const lay = layout(nodes, row.unit.edges);
  const X = (x) => PAD + (x - lay.minX) * dx + boxW / 2; // a lane's centre
  const Y = (y) => PAD + y * DY; // a layer's top
  const width = (lay.maxX - lay.minX) * dx + boxW + 2 * PAD;
  const height = lay.depth * DY + BOX_H + 2 * PAD;
  const markerId = `gl-arrow-${++serial}`;
  const ops = nodes.filter((n) => n.op !== "input").map(nodeText);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    class: "gl-unit",
    "aria-label": `${row.label}: one unit (${ops.join(", ")}), stacked ${depth} times`,
  });
  const marker = svg(
    "marker",
    {
      id: markerId,
      viewBox: "0 0 8 8",
      refX: 7,
      refY: 4,
      markerWidth: 6,
      markerHeight: 6,
      orient: "auto-start-reverse",
    },
    svg("path", { d: "M0,0 L8,4 L0,8 z", class: "gl-arrowhead" }),
  );
  root.append(svg("defs", {}, marker));
  for (const { points } of lay.edges) {
    // from the source's bottom, beside the layers it skips, to the target's top
    const last = points.length - 1;
    const pts = points.map((p, i) => ({
      x: X(p.x),
      y: i === 0 ? Y(p.y) + BOX_H : i === last ? Y(p.y) - 1 : Y(p.y) + BOX_H / 2,
    }));
    root.append(svg("path", { d: curve(pts), class: "gl-edge", "marker-end": `url(#${markerId})` }));
  }
  for (const { node, x: lane, y: layer } of lay.nodes) {
    const x = X(lane) - boxW / 2;
    const y = Y(layer);
    const label = { x: x + boxW / 2, y: y + BOX_H / 2 + 4, "text-anchor": "middle" };
    root.append(
      svg(
        "g",
        { class: `gl-node gl-op-${node.op}` },
        svg("rect", { x, y, width: boxW, height: BOX_H, rx: 5 }),
        svg("text", label, nodeText(node)),
      ),
    );
  }
  return root;
}

export function renderDiagrams(container, report) {
  const figures = report.rows.map((row) =>
    el(
      "figure",
      { class: "gl-unit-figure" },
      unitDiagram(row, report.depth),
      el("figcaption", {}, `${row.label} · ×${report.depth}`),
    ),
  );
  container.replaceChildren(...figures);
}
