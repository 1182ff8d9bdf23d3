// Channel shuffle: input channels on the left, output channels on the right, a line per channel
// from the input channel perm[i] to output channel i, coloured by the input group it comes from.

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f6fde", "#d9822b", "#2e9e6b", "#c2415d", "#7b4fd6", "#8c6d1f", "#1f8ea3", "#d64fb4"];

function s(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export const groupColor = (group) => PALETTE[group % PALETTE.length];

export function renderShuffle(container, permutations) {
  container.replaceChildren();
  for (const p of permutations) {
    const C = p.channels, per = C / p.groups;
    const step = Math.max(3, Math.min(18, 640 / C));
    const height = C * step + 50, width = 420, left = 90, right = width - 90;
    const svg = s("svg", { xmlns: SVG, viewBox: `0 0 ${width} ${height}`, width, height, class: "shuffle-diagram",
      role: "img", "aria-label": `channel shuffle ${p.node}: ${C} channels in ${p.groups} groups`, "data-node": p.node,
      "font-family": "system-ui, sans-serif" });
    svg.append(s("rect", { width, height, fill: "#fff" }));
    svg.append(s("text", { x: left, y: 16, "text-anchor": "end", "font-size": 12, fill: "#1d2330" }, "input channel"));
    svg.append(s("text", { x: right, y: 16, "font-size": 12, fill: "#1d2330" }, "output channel"));
    const y = (i) => 34 + i * step;
    const labels = step >= 9;
    p.permutation.forEach((src, i) => {
      const group = Math.floor(src / per);
      const color = groupColor(group);
      svg.append(s("path", {
        d: `M${left},${y(src)} C${(left + right) / 2},${y(src)} ${(left + right) / 2},${y(i)} ${right},${y(i)}`,
        fill: "none", stroke: color, "stroke-width": Math.max(0.8, Math.min(2, step / 5)), "data-in": src, "data-out": i, "data-group": group,
      }));
    });
    for (let i = 0; i < C; i++) {
      const color = groupColor(Math.floor(i / per));
      svg.append(s("circle", { cx: left, cy: y(i), r: Math.min(3.5, step / 2.5), fill: color }));
      svg.append(s("circle", { cx: right, cy: y(i), r: Math.min(3.5, step / 2.5), fill: groupColor(Math.floor(p.permutation[i] / per)) }));
      if (labels) {
        svg.append(s("text", { x: left - 8, y: y(i) + 4, "text-anchor": "end", "font-size": 10, fill: "#39414f" }, `${i} (g${Math.floor(i / per)})`));
        svg.append(s("text", { x: right + 8, y: y(i) + 4, "font-size": 10, fill: "#39414f" }, `${i} ← ${p.permutation[i]}`));
      }
    }
    const caption = document.createElement("p");
    caption.className = "hint";
    caption.textContent = `${p.node}: ${C} channels, g = ${p.groups}; output channel i takes input channel perm[i] = (i mod g)·(C/g) + ⌊i/g⌋.`;
    const figure = document.createElement("figure");
    figure.append(svg, caption);
    container.append(figure);
  }
}
