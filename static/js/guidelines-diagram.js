// One unit of a row as a small SVG: the server's layered layout (pos.x, pos.y), data flowing down.

const SVG = "http://www.w3.org/2000/svg";
const BOX_H = 24;
const CHAR_W = 6.2; // average width of a 10.5 px system-ui character
const DY = 38;
const PAD = 8;
let serial = 0;

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text != null) node.textContent = text;
  return node;
}

function nodeText(node) {
  const channels = node.output_shape ? node.output_shape[1] : null;
  if (node.op === "input") return `input, ${channels} ch`;
  if (node.op === "conv2d") return `${node.label} → ${channels}`;
  return node.label;
}

export function unitDiagram(row, depth) {
  const nodes = row.unit.nodes;
  const BOX_W = Math.max(96, Math.ceil(Math.max(...nodes.map((n) => nodeText(n).length)) * CHAR_W) + 14);
  const DX = BOX_W + 10;
  const xs = nodes.map((n) => n.pos.x);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const maxY = Math.max(...nodes.map((n) => n.pos.y));
  const width = (maxX - minX) * DX + BOX_W + 2 * PAD;
  const height = maxY * DY + BOX_H + 2 * PAD;
  const at = new Map(nodes.map((n) => [n.id, {
    x: PAD + (n.pos.x - minX) * DX, y: PAD + n.pos.y * DY, node: n,
  }]));
  const markerId = `gl-arrow-${++serial}`;
  const description = nodes.filter((n) => n.op !== "input").map(nodeText).join(", ");
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "gl-unit",
    "aria-label": `${row.label}: one unit (${description}), stacked ${depth} times`,
  });
  const defs = el("defs");
  const marker = el("marker", { id: markerId, viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 6,
                                markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(el("path", { d: "M0,0 L8,4 L0,8 z", class: "gl-arrowhead" }));
  defs.append(marker);
  svg.append(defs);
  for (const edge of row.unit.edges) {
    const a = at.get(edge.source);
    const b = at.get(edge.target);
    if (!a || !b) continue;
    svg.append(el("line", {
      x1: a.x + BOX_W / 2, y1: a.y + BOX_H, x2: b.x + BOX_W / 2, y2: b.y - 1,
      class: "gl-edge", "marker-end": `url(#${markerId})`,
    }));
  }
  for (const { x, y, node } of at.values()) {
    const group = el("g", { class: `gl-node gl-op-${node.op}` });
    group.append(el("rect", { x, y, width: BOX_W, height: BOX_H, rx: 5 }));
    group.append(el("text", { x: x + BOX_W / 2, y: y + BOX_H / 2 + 4, "text-anchor": "middle" }, nodeText(node)));
    svg.append(group);
  }
  return svg;
}

export function renderDiagrams(container, report) {
  const figures = report.rows.map((row) => {
    const figure = document.createElement("figure");
    figure.className = "gl-unit-figure";
    figure.append(unitDiagram(row, report.depth));
    const caption = document.createElement("figcaption");
    caption.textContent = `${row.label} · ×${report.depth}`;
    figure.append(caption);
    return figure;
  });
  container.replaceChildren(...figures);
}
