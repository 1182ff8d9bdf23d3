// The block diagram as SVG: one <g data-node-id> per op, labelled with its op and output shape;
// edges labelled with the shape they carry; dashed frames group the ops of one submodule; fill and a
// bar encode the chosen metric. Styling is in attributes so a downloaded SVG looks the same.

import { layout } from "./layout.js";
import { exact, human, metricLabel, micros, shape } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const FULL = { w: 156, h: 44, lane: 196, row: 92, margin: 34 };
const COMPACT = { w: 120, h: 30, lane: 150, row: 50, margin: 10 };
let uid = 0;

function s(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// light-to-mid blue so that dark text stays readable on every fill
function fill(t) {
  const a = [244, 247, 252], b = [138, 176, 240];
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * Math.max(0, Math.min(1, t))));
  return `rgb(${c.join(",")})`;
}

export function metricValue(node, metric, latency) {
  if (metric === "latency") return latency?.get(node.id)?.share ?? 0;
  return node[metric] ?? 0;
}

function moduleGroups(placed) {
  const groups = new Map();
  for (const p of placed) {
    const parts = (p.node.module || "").split(".").filter(Boolean);
    for (let d = 1; d <= 2 && d < parts.length; d++) {
      const key = parts.slice(0, d).join(".");
      if (!groups.has(key)) groups.set(key, { key, depth: d, members: [] });
      groups.get(key).members.push(p);
    }
  }
  return [...groups.values()].filter((g) => g.members.length >= 2);
}

function curve(points) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i], my = (a.y + b.y) / 2;
    d += ` C${a.x},${my} ${b.x},${my} ${b.x},${b.y}`;
  }
  return d;
}

export function describeNode(n, latency) {
  const lines = [
    `${n.label} (${n.op})`,
    `id ${n.id}${n.module ? `, module ${n.module}` : ""}`,
    `output ${shape(n.output_shape)}`,
  ];
  if (n.input_shapes?.length) lines.push(`input ${n.input_shapes.map(shape).join(" + ")}`);
  lines.push(`params ${exact(n.params)}`, `multiply-adds ${exact(n.madds)}`,
    `MAC (memory access cost) ${exact(n.mac)} elements`, `elementwise ${exact(n.elementwise)}`);
  const lat = latency?.get(n.id);
  if (lat) lines.push(`latency ${micros(lat.median_us)} (p25 ${micros(lat.p25_us)}, p75 ${micros(lat.p75_us)}), ${(lat.share * 100).toFixed(1)}% of ops`);
  const attrs = Object.entries(n.attrs || {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("x") : v}`);
  if (attrs.length) lines.push(attrs.join(", "));
  return lines;
}

// Draw `analysis` into `container` (replacing what was there); returns the <svg>.
export function renderDiagram(container, analysis, { metric = "mac", latency = null, compact = false, tip = null } = {}) {
  const g = compact ? COMPACT : FULL;
  const id = `d${++uid}`;
  const lay = layout(analysis.nodes, analysis.edges);
  const X = (x) => (x - lay.minX) * g.lane + g.margin + g.w / 2;
  const Y = (y) => y * g.row + g.margin;
  const width = (lay.maxX - lay.minX) * g.lane + g.w + 2 * g.margin;
  const height = lay.depth * g.row + g.h + 2 * g.margin;
  const svg = s("svg", {
    xmlns: SVG, viewBox: `0 0 ${width} ${height}`, width, height, class: "block-diagram",
    role: "group", "aria-label": `${analysis.kind} block diagram, ${metricLabel(metric)} encoded as colour`,
    "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "data-metric": metric,
  });
  const defs = s("defs");
  const marker = s("marker", { id: `${id}-arrow`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5b6475" }));
  defs.append(marker);
  svg.append(defs, s("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }));

  const pos = new Map(lay.nodes.map((p) => [p.node.id, { cx: X(p.x), top: Y(p.y) }]));
  const groupLayer = s("g", { class: "groups" });
  for (const grp of moduleGroups(lay.nodes)) {
    // outer frames leave room above for their own label and for the inner frame's
    const pad = grp.depth === 1 ? 16 : 8, top = compact ? pad : grp.depth === 1 ? 34 : 18;
    const xs = grp.members.map((p) => X(p.x)), ys = grp.members.map((p) => Y(p.y));
    const x0 = Math.min(...xs) - g.w / 2 - pad, x1 = Math.max(...xs) + g.w / 2 + pad;
    const y0 = Math.min(...ys) - top, y1 = Math.max(...ys) + g.h + pad;
    const box = s("g", { class: "module-group", "data-module": grp.key });
    box.append(s("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 10, fill: grp.depth === 1 ? "#f6f8fc" : "none",
      stroke: "#9aa5b8", "stroke-dasharray": "5 4", "stroke-width": 1 }));
    if (!compact) box.append(s("text", { x: x0 + 6, y: y0 + 12, "font-size": 10, fill: "#5b6475" }, grp.key));
    groupLayer.append(box);
  }
  svg.append(groupLayer);

  const edgeLayer = s("g", { class: "edges" });
  const fanInCount = new Map(), fanOutCount = new Map();
  for (const e of analysis.edges) {
    fanInCount.set(e.target, (fanInCount.get(e.target) || 0) + 1);
    fanOutCount.set(e.source, (fanOutCount.get(e.source) || 0) + 1);
  }
  for (const { edge, points } of lay.edges) {
    const pts = points.map((p, i) => ({
      x: X(p.x),
      y: i === 0 ? Y(p.y) + g.h : i === points.length - 1 ? Y(p.y) : Y(p.y) + g.h / 2,
    }));
    const e = s("g", { class: "edge", "data-source": edge.source, "data-target": edge.target });
    e.append(s("path", { d: curve(pts), fill: "none", stroke: "#7d889c", "stroke-width": 1.4, "marker-end": `url(#${id}-arrow)` }));
    if (!compact) {
      // label where edges sharing an end are furthest apart: near the source of a fan-in,
      // near the target of a fan-out (the curve's x follows a smoothstep between its ends)
      const a = pts[0], b = pts[1];
      const fanIn = fanInCount.get(edge.target) > 1, fanOut = fanOutCount.get(edge.source) > 1;
      const t = fanIn && !fanOut ? 0.3 : fanOut && !fanIn ? 0.7 : 0.5;
      const x = a.x + (b.x - a.x) * (3 * t * t - 2 * t * t * t), y = a.y + (b.y - a.y) * t;
      const left = b.x < a.x - 1 && !fanIn;
      e.append(s("text", { x: x + (left ? -6 : 6), y: y + 4, "text-anchor": left ? "end" : "start",
        "font-size": 10, fill: "#39414f", class: "edge-label" }, shape(edge.shape)));
    }
    edgeLayer.append(e);
  }
  svg.append(edgeLayer);

  const values = analysis.nodes.map((n) => metricValue(n, metric, latency));
  const max = Math.max(...values, 0) || 1;
  const nodeLayer = s("g", { class: "nodes" });
  analysis.nodes.forEach((n, i) => {
    const { cx, top } = pos.get(n.id);
    const t = values[i] / max;
    const node = s("g", {
      class: "node", "data-node-id": n.id, "data-op": n.op, "data-value": values[i],
      transform: `translate(${cx - g.w / 2},${top})`,
    });
    if (!compact) {
      node.setAttribute("tabindex", "0");
      node.setAttribute("role", "img");
      node.setAttribute("aria-label", describeNode(n, latency).join("; "));
    }
    const input = n.op === "input";
    node.append(s("rect", { width: g.w, height: g.h, rx: 6, fill: input ? "#e9ecf2" : fill(t), stroke: input ? "#9aa5b8" : "#2f6fde", "stroke-width": 1.2 }));
    if (!input && !compact) node.append(s("rect", { class: "metric-bar", x: 4, y: g.h - 6, width: Math.max(0, (g.w - 8) * t), height: 3, rx: 1.5, fill: "#1d4fb0" }));
    const label = n.label.length > 24 ? `${n.label.slice(0, 23)}…` : n.label;
    node.append(s("text", { x: g.w / 2, y: compact ? g.h / 2 + 4 : 17, "text-anchor": "middle", "font-size": compact ? 11 : 12.5, "font-weight": 600, fill: "#1d2330" }, label));
    if (!compact) node.append(s("text", { x: g.w / 2, y: 32, "text-anchor": "middle", "font-size": 10.5, fill: "#39414f" }, shape(n.output_shape)));
    node.append(s("title", {}, describeNode(n, latency).join("\n")));
    nodeLayer.append(node);
  });
  svg.append(nodeLayer);
  container.replaceChildren(svg);
  if (tip && !compact) attachTips(svg, container, tip, analysis, latency);
  return svg;
}

function attachTips(svg, container, tip, analysis, latency) {
  const byId = new Map(analysis.nodes.map((n) => [n.id, n]));
  const show = (target) => {
    const n = byId.get(target.dataset.nodeId);
    if (!n) return;
    tip.replaceChildren(...describeNode(n, latency).map((line, i) => {
      const p = document.createElement(i === 0 ? "strong" : "span");
      p.textContent = line;
      return p;
    }));
    tip.hidden = false;
    tip.dataset.nodeId = n.id;
    const box = target.getBoundingClientRect(), outer = container.parentElement.getBoundingClientRect();
    tip.style.left = `${Math.max(0, Math.min(box.right - outer.left + 8, outer.width - 260))}px`;
    tip.style.top = `${box.top - outer.top}px`;
  };
  const hide = () => { tip.hidden = true; };
  for (const node of svg.querySelectorAll(".node")) {
    node.addEventListener("mouseenter", () => show(node));
    node.addEventListener("focus", () => show(node));
    node.addEventListener("mouseleave", hide);
    node.addEventListener("blur", hide);
  }
}
