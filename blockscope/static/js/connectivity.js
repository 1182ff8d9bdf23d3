// Which inputs feed which outputs: the group convolution's connectivity (a fan per group, from its
// C_in/g input channels to its C_out/g output channels), ShuffleNet V1's two group convolutions with
// the channel shuffle re-wiring between them, and ResNeXt's split-transform-merge beside the single
// grouped convolution it is computed as. Redrawn from each analysis, so it follows the sliders.

import { FIGURE, groupColor, INK, RULE } from "./colors.js";
import { el, SVG_NS, svg } from "./dom.js";
import { exact } from "./format.js";

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const BAR = 14; // width of a column of channels
const MAX_LINES = 700; // beyond this many channel-to-channel lines, a group is drawn as one fan

const convs = (analysis) => analysis.nodes.filter((n) => n.op === "conv2d");
const kernel = (n) => (Array.isArray(n.attrs.kernel_size) ? n.attrs.kernel_size[0] : n.attrs.kernel_size);

function frame(width, height, label) {
  const root = svg("svg", {
    xmlns: SVG_NS,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "groups-diagram",
    role: "img",
    "aria-label": label,
    "font-family": FONT,
  });
  root.append(svg("rect", { width, height, fill: FIGURE.background }));
  return root;
}

// A column of `channels` channels at x, from top to top + span; colour(c) gives each channel's colour.
function column(root, x, top, span, channels, colour, title) {
  const step = span / channels;
  const g = svg("g", { class: "channel-column", "data-channels": channels });
  if (step >= 3) {
    for (let c = 0; c < channels; c++) {
      const gap = step >= 6 ? 1 : 0;
      g.append(svg("rect", { x, y: top + c * step, width: BAR, height: step - gap, fill: colour(c) }));
    }
  } else {
    // too many channels for a cell each: runs of one colour
    let start = 0;
    for (let c = 1; c <= channels; c++) {
      if (c === channels || colour(c) !== colour(start)) {
        g.append(
          svg("rect", {
            x,
            y: top + start * step,
            width: BAR,
            height: (c - start) * step,
            fill: colour(start),
          }),
        );
        start = c;
      }
    }
  }
  root.append(g);
  root.append(
    svg("text", { x: x + BAR / 2, y: top - 10, "text-anchor": "middle", "font-size": 11, fill: INK }, title),
  );
  return (c) => top + (c + 0.5) * step; // the centre of channel c
}

// Group i of `groups` joins its span of column a (x0) to its span of column b (x1): one fan, and a
// line per pair of channels when they are few enough to see.
function groupFans(root, from, to, groups, cin, cout, colour) {
  const layer = svg("g", { class: "group-fans", "data-groups": groups });
  const perIn = cin / groups;
  const perOut = cout / groups;
  const lines = groups * perIn * perOut <= MAX_LINES;
  for (let i = 0; i < groups; i++) {
    const a0 = from.y(i * perIn) - from.step / 2;
    const a1 = from.y((i + 1) * perIn - 1) + from.step / 2;
    const b0 = to.y(i * perOut) - to.step / 2;
    const b1 = to.y((i + 1) * perOut - 1) + to.step / 2;
    const fan = svg("path", {
      d: `M${from.x},${a0} L${to.x},${b0} L${to.x},${b1} L${from.x},${a1} Z`,
      fill: colour(i),
      "fill-opacity": lines ? 0.08 : 0.22,
      stroke: colour(i),
      "stroke-opacity": 0.5,
      "stroke-width": 0.6,
      "data-group": i,
    });
    layer.append(fan);
    if (!lines) continue;
    for (let a = 0; a < perIn; a++) {
      for (let b = 0; b < perOut; b++) {
        const y0 = from.y(i * perIn + a);
        const y1 = to.y(i * perOut + b);
        layer.append(
          svg("line", {
            x1: from.x,
            y1: y0,
            x2: to.x,
            y2: y1,
            stroke: colour(i),
            "stroke-width": 0.5,
            "stroke-opacity": 0.7,
          }),
        );
      }
    }
  }
  root.append(layer);
}

function shuffleLines(root, from, to, permutation, colourOfSource) {
  const layer = svg("g", { class: "shuffle-lines" });
  const mid = (from.x + to.x) / 2;
  permutation.forEach((src, i) => {
    const y0 = from.y(src);
    const y1 = to.y(i);
    layer.append(
      svg("path", {
        d: `M${from.x},${y0} C${mid},${y0} ${mid},${y1} ${to.x},${y1}`,
        fill: "none",
        stroke: colourOfSource(src),
        "stroke-width": 0.8,
        "data-in": src,
        "data-out": i,
      }),
    );
  });
  root.append(layer);
}

const spanOf = (channels, span) => Math.min(span, Math.max(channels * 3, 160));

// One grouped convolution: input channels, a fan per group, output channels.
function convFigure(conv, avail, caption) {
  const { in_channels: cin, out_channels: cout, groups } = conv.attrs;
  const k = kernel(conv);
  const span = spanOf(Math.max(cin, cout), 380);
  const width = Math.max(300, Math.min(420, avail));
  const height = span + 60;
  const top = 34;
  const x0 = 60;
  const x1 = width - 60 - BAR;
  const root = frame(width, height, `${conv.label}: ${cin} input channels in ${groups} groups`);
  root.dataset.groups = String(groups);
  const inColour = (c) => groupColor(Math.floor(c / (cin / groups)));
  const outColour = (c) => groupColor(Math.floor(c / (cout / groups)));
  const yIn = column(root, x0, top, span, cin, inColour, `input, ${cin} channels`);
  const yOut = column(root, x1, top, span, cout, outColour, `output, ${cout} channels`);
  groupFans(
    root,
    { x: x0 + BAR, y: yIn, step: span / cin },
    { x: x1, y: yOut, step: span / cout },
    groups,
    cin,
    cout,
    (i) => groupColor(i),
  );
  const note = groups === 1 ? "every input feeds every output" : `${groups} groups that never meet`;
  root.append(
    svg(
      "text",
      { x: width / 2, y: height - 8, "text-anchor": "middle", "font-size": 11, fill: INK },
      `${k}×${k} conv, g = ${groups}: ${note}`,
    ),
  );
  const weights = (cout * (cin / groups) * k * k) | 0;
  const dense = cout * cin * k * k;
  const text =
    caption ||
    `Each output channel reads the C_in/g = ${exact(cin / groups)} input channels of its own group ` +
      `through a ${k}×${k} kernel: ${exact(cout)} × ${exact(cin / groups)} × ${k * k} = ${exact(weights)} ` +
      `weights${groups > 1 ? ` instead of ${exact(dense)} at g = 1` : ""}. The feature maps going in ` +
      "and out are the same size at every g: that is the part of MAC grouping cannot shrink.";
  return el(
    "figure",
    { class: "groups-figure", "data-node": conv.id },
    root,
    el("figcaption", { class: "hint" }, text),
  );
}

// ShuffleNet V1: 1x1 group conv, channel shuffle, (depthwise 3x3), 1x1 group conv.
function shuffleFigure(analysis, avail) {
  const [g1, , g2] = ["gconv1_conv", "dwconv_conv", "gconv2_conv"].map((id) =>
    analysis.nodes.find((n) => n.id === id),
  );
  const perm = analysis.permutations[0];
  if (!g1 || !g2) return null;
  const groups = g1.attrs.groups;
  const cin = g1.attrs.in_channels;
  const mid = g1.attrs.out_channels;
  const cout = g2.attrs.out_channels;
  const span = spanOf(Math.max(cin, mid, cout), 400);
  const width = Math.max(320, Math.min(620, avail));
  const height = span + 64;
  const top = 34;
  const gap = (width - 60 - BAR) / 3; // four columns, evenly spaced
  const xs = [30, 30 + gap, 30 + 2 * gap, width - 30 - BAR];
  const root = frame(
    width,
    height,
    `ShuffleNet V1 unit: ${groups} groups with a channel shuffle between them`,
  );
  root.dataset.groups = String(groups);
  const groupIn = (per) => (c) => groupColor(Math.floor(c / per));
  const midGroup = groupIn(mid / groups);
  const p = perm ? perm.permutation : Array.from({ length: mid }, (_, i) => i);
  const y0 = column(root, xs[0], top, span, cin, groupIn(cin / groups), `input ${cin}`);
  const y1 = column(root, xs[1], top, span, mid, midGroup, `after GConv1 ${mid}`);
  const y2 = column(
    root,
    xs[2],
    top,
    span,
    mid,
    (c) => midGroup(p[c]),
    perm ? "after shuffle" : "no shuffle (g = 1)",
  );
  const y3 = column(root, xs[3], top, span, cout, groupIn(cout / groups), `output ${cout}`);
  const colour = (i) => groupColor(i);
  groupFans(
    root,
    { x: xs[0] + BAR, y: y0, step: span / cin },
    { x: xs[1], y: y1, step: span / mid },
    groups,
    cin,
    mid,
    colour,
  );
  shuffleLines(root, { x: xs[1] + BAR, y: y1 }, { x: xs[2], y: y2 }, p, midGroup);
  groupFans(
    root,
    { x: xs[2] + BAR, y: y2, step: span / mid },
    { x: xs[3], y: y3, step: span / cout },
    groups,
    mid,
    cout,
    () => RULE,
  );
  const narrow = width < 500;
  const labels = narrow
    ? ["GConv1", perm ? "shuffle" : "", "GConv2"]
    : ["1×1 GConv", perm ? "channel shuffle" : "", "(3×3 depthwise) 1×1 GConv"];
  labels.forEach((text, i) => {
    const x = (xs[i] + BAR + xs[i + 1]) / 2;
    root.append(
      svg("text", { x, y: height - 10, "text-anchor": "middle", "font-size": 11, fill: INK }, text),
    );
  });
  const caption =
    groups > 1
      ? "Colour = the group a channel came from. GConv1 keeps each group apart; the shuffle deals every " +
        `group's channels out to every group, so each group of GConv2 sees all ${groups} colours. ` +
        "Without it, stacked " +
        "group convolutions would never let the groups exchange information."
      : "With g = 1 the 1×1 convolutions are dense and there is nothing to shuffle: move g.";
  return el(
    "figure",
    { class: "groups-figure", "data-node": "shufflenet" },
    root,
    el("figcaption", { class: "hint" }, caption),
  );
}

function box(root, x, y, w, h, lines, colour = FIGURE.box) {
  root.append(svg("rect", { x, y, width: w, height: h, rx: 5, fill: colour, stroke: FIGURE.boxStroke }));
  lines.forEach((line, i) => {
    const yy = y + h / 2 + (i - (lines.length - 1) / 2) * 12 + 4;
    root.append(
      svg("text", { x: x + w / 2, y: yy, "text-anchor": "middle", "font-size": 10.5, fill: INK }, line),
    );
  });
}

function arrow(root, x0, y0, x1, y1) {
  root.append(svg("line", { x1: x0, y1: y0, x2: x1, y2: y1, stroke: FIGURE.edge, "stroke-width": 1.2 }));
}

// ResNeXt: the C paths of Fig. 3(a) (split, transform, merge by sum) beside the one grouped
// convolution of Fig. 3(c) that computes the same function.
function resnextFigures(analysis, avail) {
  const [c1, c2, c3] = ["conv1_conv", "conv2_conv", "conv3_conv"].map((id) =>
    analysis.nodes.find((n) => n.id === id),
  );
  if (!c1 || !c2 || !c3) return [];
  const cin = c1.attrs.in_channels;
  const width = c2.attrs.in_channels;
  const card = c2.attrs.groups;
  const cout = c3.attrs.out_channels;
  const d = width / card;
  // paths drawn (the last stands for the rest): three where the screen is narrow
  const shown = Math.min(card, avail < 460 ? 3 : 4);
  const pw = 84;
  const gap = 14;
  const lw = shown * pw + (shown - 1) * gap + (card > shown ? 30 : 0) + 40;
  const left = frame(lw, 300, `split-transform-merge: ${card} paths of width ${d}`);
  box(left, lw / 2 - 60, 8, 120, 24, [`input, ${cin} channels`]);
  const xs = [];
  for (let i = 0; i < shown; i++) {
    const extra = card > shown && i === shown - 1 ? 30 : 0;
    xs.push(20 + i * (pw + gap) + extra);
  }
  xs.forEach((x, i) => {
    const cx = x + pw / 2;
    arrow(left, lw / 2, 32, cx, 48);
    box(left, x, 48, pw, 36, ["1×1", `${cin}→${d}`], `${groupColor(i === shown - 1 ? card - 1 : i)}22`);
    arrow(left, cx, 84, cx, 100);
    box(left, x, 100, pw, 36, ["3×3", `${d}→${d}`]);
    arrow(left, cx, 136, cx, 152);
    box(left, x, 152, pw, 36, ["1×1", `${d}→${cout}`]);
    arrow(left, cx, 188, lw / 2, 222);
    left.append(
      svg(
        "text",
        { x: cx, y: 202, "text-anchor": "middle", "font-size": 10, fill: FIGURE.muted },
        `path ${i === shown - 1 ? card : i + 1}`,
      ),
    );
  });
  if (card > shown) {
    const x = xs[shown - 2] + pw + gap / 2 + 15;
    left.append(svg("text", { x, y: 122, "text-anchor": "middle", "font-size": 16, fill: INK }, "⋯"));
  }
  left.append(svg("circle", { cx: lw / 2, cy: 234, r: 12, fill: FIGURE.background, stroke: INK }));
  left.append(svg("text", { x: lw / 2, y: 239, "text-anchor": "middle", "font-size": 15, fill: INK }, "+"));
  left.append(
    svg(
      "text",
      { x: lw / 2, y: 268, "text-anchor": "middle", "font-size": 11, fill: INK },
      `sum of ${card} paths, ${cout} channels`,
    ),
  );
  left.append(
    svg(
      "text",
      { x: lw / 2, y: 290, "text-anchor": "middle", "font-size": 11, "font-weight": 600, fill: INK },
      `Split-transform-merge: ${card} × ${d}d`,
    ),
  );

  const rw = 230;
  const right = frame(rw, 300, `one grouped convolution with ${card} groups`);
  box(right, rw / 2 - 60, 8, 120, 24, [`input, ${cin} channels`]);
  arrow(right, rw / 2, 32, rw / 2, 48);
  box(right, 20, 48, rw - 40, 36, ["1×1 conv", `${cin}→${width} (the ${card} first 1×1s)`]);
  arrow(right, rw / 2, 84, rw / 2, 100);
  box(right, 20, 100, rw - 40, 36, [`3×3 group conv, g = ${card}`, `${width}→${width}`], FIGURE.highlight);
  arrow(right, rw / 2, 136, rw / 2, 152);
  box(right, 20, 152, rw - 40, 36, ["1×1 conv", `${width}→${cout} (sums the paths)`]);
  arrow(right, rw / 2, 188, rw / 2, 254);
  right.append(
    svg(
      "text",
      { x: rw / 2, y: 268, "text-anchor": "middle", "font-size": 11, fill: INK },
      `${cout} channels`,
    ),
  );
  right.append(
    svg(
      "text",
      { x: rw / 2, y: 290, "text-anchor": "middle", "font-size": 11, "font-weight": 600, fill: INK },
      "The same function, as computed",
    ),
  );
  const caption =
    `The ${card} paths' first 1×1 convolutions, side by side, are one 1×1 convolution to ` +
    `${card} × ${d} = ${width} ` +
    `channels; their 3×3 convolutions, each on its own ${d} channels, are one group convolution with ` +
    `${card} groups; summing their last 1×1 convolutions is one 1×1 convolution over the ${width} channels.`;
  return [
    el(
      "figure",
      { class: "groups-figure stm", "data-node": "resnext" },
      el(
        "div",
        { class: "stm-pair" },
        left,
        el("span", { class: "stm-equals", "aria-hidden": "true" }, "="),
        right,
      ),
      el("figcaption", { class: "hint" }, caption),
    ),
  ];
}

export function renderGroups(container, analysis, kind) {
  const avail = container.clientWidth || 620; // drawn at 1:1 where it fits, so the labels stay legible
  const figures = [];
  if (kind === "shufflenet_v1_unit") {
    const fig = shuffleFigure(analysis, avail);
    if (fig) figures.push(fig);
  } else if (kind === "resnext_bottleneck") {
    figures.push(...resnextFigures(analysis, avail));
    const grouped = analysis.nodes.find((n) => n.id === "conv2_conv");
    if (grouped) figures.push(convFigure(grouped, avail));
  } else {
    // the block's grouped convolutions (RepVGG's 3x3 and 1x1 share one connectivity: draw one)
    const grouped = convs(analysis);
    if (grouped.length) figures.push(convFigure(grouped[0], avail));
  }
  if (!figures.length)
    figures.push(el("p", { class: "hint" }, "This block has no grouped convolution to draw."));
  container.replaceChildren(...figures);
}
