// Channel shuffle: input channels on the left, output channels on the right, a line per channel
// from the input channel perm[i] to output channel i, coloured by the input group it comes from.

import { FIGURE, groupColor, INK } from "./colors.js";
import { el, SVG_NS, svg } from "./dom.js";

function shuffleDiagram(p) {
  const C = p.channels;
  const per = C / p.groups;
  const groupOf = (channel) => Math.floor(channel / per);
  const step = Math.max(3, Math.min(18, 640 / C));
  const height = C * step + 50;
  const width = 420;
  const left = 90;
  const right = width - 90;
  const mid = (left + right) / 2;
  const y = (i) => 34 + i * step;
  const root = svg("svg", {
    xmlns: SVG_NS,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "shuffle-diagram",
    role: "img",
    "aria-label": `channel shuffle ${p.node}: ${C} channels in ${p.groups} groups`,
    "data-node": p.node,
    "font-family": "system-ui, sans-serif",
  });
  root.append(
    svg("rect", { width, height, fill: FIGURE.background }),
    svg("text", { x: left, y: 16, "text-anchor": "end", "font-size": 12, fill: INK }, "input channel"),
    svg("text", { x: right, y: 16, "font-size": 12, fill: INK }, "output channel"),
  );
  p.permutation.forEach((src, i) => {
    const group = groupOf(src);
    root.append(
      svg("path", {
        d: `M${left},${y(src)} C${mid},${y(src)} ${mid},${y(i)} ${right},${y(i)}`,
        fill: "none",
        stroke: groupColor(group),
        "stroke-width": Math.max(0.8, Math.min(2, step / 5)),
        "data-in": src,
        "data-out": i,
        "data-group": group,
      }),
    );
  });
  const r = Math.min(3.5, step / 2.5);
  for (let i = 0; i < C; i++) {
    const src = p.permutation[i];
    root.append(
      svg("circle", { cx: left, cy: y(i), r, fill: groupColor(groupOf(i)) }),
      svg("circle", { cx: right, cy: y(i), r, fill: groupColor(groupOf(src)) }),
    );
    if (step >= 9) {
      const small = { y: y(i) + 4, "font-size": 10, fill: FIGURE.soft };
      root.append(
        svg("text", { ...small, x: left - 8, "text-anchor": "end" }, `${i} (g${groupOf(i)})`),
        svg("text", { ...small, x: right + 8 }, `${i} ← ${src}`),
      );
    }
  }
  return root;
}

export function renderShuffle(container, permutations) {
  const figures = permutations.map((p) => {
    const rule = "output channel i takes input channel perm[i] = (i mod g)·(C/g) + ⌊i/g⌋.";
    const caption = `${p.node}: ${p.channels} channels, g = ${p.groups}; ${rule}`;
    return el("figure", {}, shuffleDiagram(p), el("p", { class: "hint" }, caption));
  });
  container.replaceChildren(...figures);
}
