// The block diagram as SVG: one <g data-node-id> per op, labelled with its op and output shape;
// edges labelled with the shape they carry; dashed frames group the ops of one submodule; fill and a
// bar encode the chosen metric in its colour. Styling is in attributes so a downloaded SVG looks the same.

import { FIGURE, INK, metricColor, RULE, shade, tint } from "./colors.js";
import { el, SVG_NS, svg } from "./dom.js";
import { exact, metricLabel, micros, shape } from "./format.js";
import { curve, layout } from "./layout.js";

const FULL = { w: 156, h: 44, lane: 196, row: 92, margin: 34 };
const COMPACT = { w: 120, h: 30, lane: 150, row: 50, margin: 10 };
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
let uid = 0;

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

// Everything about one op, a line each: the tooltip, the box's title and its aria-label.
export function nodeLines(n, latency) {
  const lines = [`${n.label} (${n.op})`, `id ${n.id}${n.module ? `, module ${n.module}` : ""}`];
  lines.push(`output ${shape(n.output_shape)}`);
  if (n.input_shapes?.length) lines.push(`input ${n.input_shapes.map(shape).join(" + ")}`);
  lines.push(
    `params ${exact(n.params)}`,
    `multiply-adds ${exact(n.madds)}`,
    `MAC (memory access cost) ${exact(n.mac)} elements`,
    `elementwise ${exact(n.elementwise)}`,
  );
  const lat = latency?.get(n.id);
  if (lat) {
    const spread = `p25 ${micros(lat.p25_us)}, p75 ${micros(lat.p75_us)}`;
    lines.push(`latency ${micros(lat.median_us)} (${spread}), ${(lat.share * 100).toFixed(1)}% of ops`);
  }
  const attrs = Object.entries(n.attrs || {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("x") : v}`);
  if (attrs.length) lines.push(attrs.join(", "));
  return lines;
}

function arrowMarker(id) {
  const marker = svg("marker", {
    id,
    viewBox: "0 0 10 10",
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: "auto-start-reverse",
  });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: FIGURE.muted }));
  return svg("defs", {}, marker);
}

function groupFrames(lay, X, Y, g, compact) {
  const layer = svg("g", { class: "groups" });
  for (const grp of moduleGroups(lay.nodes)) {
    // outer frames leave room above for their own label and for the inner frame's
    const pad = grp.depth === 1 ? 16 : 8;
    const top = compact ? pad : grp.depth === 1 ? 34 : 18;
    const xs = grp.members.map((p) => X(p.x));
    const ys = grp.members.map((p) => Y(p.y));
    const x0 = Math.min(...xs) - g.w / 2 - pad;
    const x1 = Math.max(...xs) + g.w / 2 + pad;
    const y0 = Math.min(...ys) - top;
    const y1 = Math.max(...ys) + g.h + pad;
    const frame = svg("rect", {
      x: x0,
      y: y0,
      width: x1 - x0,
      height: y1 - y0,
      rx: 10,
      fill: grp.depth === 1 ? FIGURE.frame : "none",
      stroke: RULE,
      "stroke-dasharray": "5 4",
      "stroke-width": 1,
    });
    const label =
      !compact && svg("text", { x: x0 + 6, y: y0 + 12, "font-size": 10, fill: FIGURE.muted }, grp.key);
    layer.append(svg("g", { class: "module-group", "data-module": grp.key }, frame, label));
  }
  return layer;
}

function edgeLines(analysis, lay, X, Y, g, compact, markerId) {
  const layer = svg("g", { class: "edges" });
  const fanInCount = new Map();
  const fanOutCount = new Map();
  for (const e of analysis.edges) {
    fanInCount.set(e.target, (fanInCount.get(e.target) || 0) + 1);
    fanOutCount.set(e.source, (fanOutCount.get(e.source) || 0) + 1);
  }
  for (const { edge, points } of lay.edges) {
    const last = points.length - 1;
    const pts = points.map((p, i) => ({
      x: X(p.x),
      y: i === 0 ? Y(p.y) + g.h : i === last ? Y(p.y) : Y(p.y) + g.h / 2,
    }));
    const line = svg("path", {
      d: curve(pts),
      fill: "none",
      stroke: FIGURE.edge,
      "stroke-width": 1.4,
      "marker-end": `url(#${markerId})`,
    });
    const e = svg("g", { class: "edge", "data-source": edge.source, "data-target": edge.target }, line);
    if (!compact) {
      // label where edges sharing an end are furthest apart: near the source of a fan-in,
      // near the target of a fan-out (the curve's x follows a smoothstep between its ends)
      const a = pts[0];
      const b = pts[1];
      const fanIn = fanInCount.get(edge.target) > 1;
      const fanOut = fanOutCount.get(edge.source) > 1;
      const t = fanIn && !fanOut ? 0.3 : fanOut && !fanIn ? 0.7 : 0.5;
      const x = a.x + (b.x - a.x) * (3 * t * t - 2 * t * t * t);
      const y = a.y + (b.y - a.y) * t;
      const left = b.x < a.x - 1 && !fanIn;
      const attrs = { x: x + (left ? -6 : 6), y: y + 4, "text-anchor": left ? "end" : "start" };
      e.append(
        svg("text", { ...attrs, "font-size": 10, fill: FIGURE.soft, class: "edge-label" }, shape(edge.shape)),
      );
    }
    layer.append(e);
  }
  return layer;
}

function nodeBox(n, value, max, g, compact, color, latency, mark) {
  const t = Math.min(1, value / max);
  const input = n.op === "input";
  const box = svg("g", {
    class: mark ? `node ${mark.role === "fused" ? "fused" : "fused-source"}` : "node",
    "data-node-id": n.id,
    "data-op": n.op,
    "data-value": value,
    "data-fuse": mark?.key,
    tabindex: compact ? null : 0,
    role: compact ? null : "img",
    "aria-label": compact ? null : nodeLines(n, latency).join("; "),
  });
  box.append(
    svg("rect", {
      width: g.w,
      height: g.h,
      rx: 6,
      fill: input ? FIGURE.input : tint(color, t),
      stroke: input ? RULE : color,
      "stroke-width": mark?.role === "fused" ? 2.6 : 1.2,
      "stroke-dasharray": mark?.role === "source" ? "4 3" : null,
    }),
  );
  if (!input && !compact) {
    const width = Math.max(0, (g.w - 8) * t);
    box.append(
      svg("rect", { class: "metric-bar", x: 4, y: g.h - 6, width, height: 3, rx: 1.5, fill: shade(color) }),
    );
  }
  const label = n.label.length > 24 ? `${n.label.slice(0, 23)}…` : n.label;
  const middle = { x: g.w / 2, "text-anchor": "middle" };
  const y = compact ? g.h / 2 + 4 : 17;
  const size = compact ? 11 : 12.5;
  box.append(svg("text", { ...middle, y, "font-size": size, "font-weight": 600, fill: INK }, label));
  if (!compact) {
    box.append(
      svg("text", { ...middle, y: 32, "font-size": 10.5, fill: FIGURE.soft }, shape(n.output_shape)),
    );
  }
  if (mark?.text && !compact) {
    // a tag above the box's top-right corner: what it was folded into, or how many ops it replaces
    const tag = svg("g", { class: "fuse-tag", transform: `translate(${g.w - 4},-7)` });
    const wide = mark.text.length * 6 + 10;
    tag.append(
      svg("rect", { x: -wide, y: -7, width: wide, height: 14, rx: 7, fill: INK }),
      svg(
        "text",
        { x: -wide / 2, y: 4, "text-anchor": "middle", "font-size": 10, fill: FIGURE.onDark },
        mark.text,
      ),
    );
    box.append(tag);
  }
  const lines = nodeLines(n, latency);
  if (mark?.title) lines.push(mark.title);
  box.append(svg("title", {}, lines.join("\n")));
  return box;
}

// The largest value of `metric` over the ops of `analyses` (a colour scale's top).
export function metricMax(analyses, metric, latency = null) {
  const values = analyses.flatMap((a) => (a ? a.nodes.map((n) => metricValue(n, metric, latency)) : []));
  return Math.max(0, ...values);
}

// Draw `analysis` into `container` (replacing what was there); returns the <svg>.
// options: metric, latency (per-node timings), compact (the gallery's thumbnails), tip (an element
// for node details), scaleMax (the value drawn at full colour: a scale shared with other diagrams
// or held while a control moves; default this diagram's largest op), zoom (drawn size / natural
// size; default natural, shrunk by CSS to fit), marks (node id -> {role: "fused" | "source", key,
// text, title}: reparameterization's fused boxes and their sources).
export function renderDiagram(container, analysis, options = {}) {
  const { metric = "mac", latency = null, compact = false, tip = null, marks = null } = options;
  const g = compact ? COMPACT : FULL;
  const markerId = `d${++uid}-arrow`;
  const lay = layout(analysis.nodes, analysis.edges);
  const X = (x) => (x - lay.minX) * g.lane + g.margin + g.w / 2;
  const Y = (y) => y * g.row + g.margin;
  const width = (lay.maxX - lay.minX) * g.lane + g.w + 2 * g.margin;
  const height = lay.depth * g.row + g.h + 2 * g.margin;
  const zoom = options.zoom ?? 1;
  const root = svg("svg", {
    xmlns: SVG_NS,
    viewBox: `0 0 ${width} ${height}`,
    width: Math.round(width * zoom),
    height: Math.round(height * zoom),
    class: "block-diagram",
    "data-zoom": options.zoom ?? null,
    role: "group",
    "aria-label": `${analysis.kind} block diagram, ${metricLabel(metric)} encoded as colour`,
    "font-family": FONT,
    "data-metric": metric,
  });
  root.append(arrowMarker(markerId), svg("rect", { x: 0, y: 0, width, height, fill: FIGURE.background }));
  root.append(groupFrames(lay, X, Y, g, compact), edgeLines(analysis, lay, X, Y, g, compact, markerId));

  const color = metricColor(metric);
  const values = analysis.nodes.map((n) => metricValue(n, metric, latency));
  const max = (options.scaleMax ?? Math.max(...values, 0)) || 1;
  root.dataset.scaleMax = String(max);
  const nodes = svg("g", { class: "nodes" });
  const at = new Map(lay.nodes.map((p) => [p.node.id, { cx: X(p.x), top: Y(p.y) }]));
  analysis.nodes.forEach((n, i) => {
    const box = nodeBox(n, values[i], max, g, compact, color, latency, marks?.get(n.id));
    const { cx, top } = at.get(n.id);
    box.setAttribute("transform", `translate(${cx - g.w / 2},${top})`);
    nodes.append(box);
  });
  root.append(nodes);
  container.replaceChildren(root);
  if (tip && !compact) attachTips(root, container, tip, analysis, latency);
  return root;
}

function attachTips(root, container, tip, analysis, latency) {
  const byId = new Map(analysis.nodes.map((n) => [n.id, n]));
  const show = (target) => {
    const n = byId.get(target.dataset.nodeId);
    if (!n) return;
    tip.replaceChildren(...nodeLines(n, latency).map((line, i) => el(i === 0 ? "strong" : "span", {}, line)));
    tip.hidden = false;
    tip.dataset.nodeId = n.id;
    const box = target.getBoundingClientRect();
    const outer = container.parentElement.getBoundingClientRect();
    tip.style.left = `${Math.max(0, Math.min(box.right - outer.left + 8, outer.width - 260))}px`;
    tip.style.top = `${box.top - outer.top}px`;
  };
  const hide = () => {
    tip.hidden = true;
  };
  for (const node of root.querySelectorAll(".node")) {
    node.addEventListener("mouseenter", () => show(node));
    node.addEventListener("focus", () => show(node));
    node.addEventListener("mouseleave", hide);
    node.addEventListener("blur", hide);
  }
}
