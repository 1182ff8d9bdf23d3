// The block's key formula filled in with the numbers on screen: the general form, the same with
// the current values substituted, and the result, which equals what the analysis counted. The form
// follows the configuration (a 1x1 convolution gets ShuffleNet V2's Eq. 2; a k x k one its k^2).

import { el } from "./dom.js";
import { exact } from "./format.js";

const node = (analysis, id) => analysis.nodes.find((n) => n.id === id);
const firstConv = (analysis) => analysis.nodes.find((n) => n.op === "conv2d");
const k = (n) => (Array.isArray(n.attrs.kernel_size) ? n.attrs.kernel_size[0] : n.attrs.kernel_size);
const dot = (...xs) => xs.join("·");

// {label, general, filled, value} -> one line; `value` may be a number (shown exactly) or text.
function line({ label, general, filled, value, note }) {
  const shown = typeof value === "number" ? exact(value) : value;
  return el(
    "p",
    { class: "formula-line" },
    el("span", { class: "formula-label" }, label),
    " ",
    el("code", {}, general),
    filled ? [" = ", el("code", { class: "filled" }, filled)] : null,
    shown !== undefined
      ? [" = ", el("strong", { "data-value": typeof value === "number" ? value : null }, shown)]
      : null,
    note ? el("span", { class: "formula-note" }, ` ${note}`) : null,
  );
}

// A convolution's multiply-adds, MAC and parameters, with its batch, stride, kernel and groups.
// `what` names the convolution where it is not the whole block the Totals count ("3×3 conv ").
function convLines(c, what = "") {
  const [n, cin, h, w] = c.input_shapes[0];
  const [, cout, ho, wo] = c.output_shape;
  const { groups: g, bias } = c.attrs;
  const kk = k(c);
  const batch = n > 1 ? "N·" : "";
  const nb = n > 1 ? [n] : [];
  const per = g > 1 ? "/g" : "";
  const perN = g > 1 ? `/${g}` : "";
  const kTerm = kk > 1 ? "k²·" : "";
  const kNum = kk > 1 ? [kk * kk] : [];
  const weights = (kk * kk * cin * cout) / g;
  const lines = [];
  lines.push({
    label: `${what}multiply-adds`,
    general: `${batch}H_out·W_out·${kTerm}C_in·C_out${per}`,
    filled: `${dot(...nb, ho, wo, ...kNum, cin, cout)}${perN}`,
    value: c.madds,
  });
  const one = kk === 1 && ho === h && wo === w;
  lines.push({
    label: one ? "MAC (Eq. 2)" : "MAC",
    general: one
      ? `${batch}hw(c1 + c2) + c1·c2${per}`
      : `${batch}H·W·C_in + ${batch}H_out·W_out·C_out + ${kTerm}C_in·C_out${per}${bias ? " + C_out" : ""}`,
    filled: one
      ? `${dot(...nb, h, w)}·(${cin} + ${cout}) + ${dot(cin, cout)}${perN}`
      : `${dot(...nb, h, w, cin)} + ${dot(...nb, ho, wo, cout)} + ` +
        `${dot(...kNum, cin, cout)}${perN}${bias ? ` + ${cout}` : ""}`,
    value: c.mac,
    note: one ? "(ShuffleNet V2, Sec. 2: a 1×1 convolution)" : "(this convolution alone)",
  });
  lines.push({
    label: "weights",
    general: `${kTerm}C_in·C_out${per}${bias ? " + C_out" : ""}`,
    filled: `${dot(...kNum, cin, cout)}${perN}${bias ? ` + ${cout}` : ""}`,
    value: weights + (bias ? cout : 0),
  });
  return lines;
}

const FORMULAS = {
  conv: (a) => convLines(node(a, "conv")),
  group_conv: (a) => convLines(node(a, "conv")),
  conv_bn: (a) => [
    ...convLines(node(a, "conv")),
    {
      label: "fused at inference",
      general: "W' = W·γ/√(var + ε), b' = β + (b − mean)·γ/√(var + ε)",
    },
  ],
  resnext_bottleneck: (a) => {
    const c = node(a, "conv2_conv");
    const d = c.attrs.in_channels;
    const card = c.attrs.groups;
    return [
      { label: "3×3 weights", general: "9·d²/C", filled: `9·${d}²/${card}`, value: (9 * d * d) / card },
      ...convLines(c, "3×3 conv ").slice(0, 1),
      { label: "width per path", general: "d/C", filled: `${d}/${card}`, value: d / card },
    ];
  },
  channel_shuffle: (a) => {
    const p = a.permutations[0];
    if (!p) return [];
    const C = p.channels;
    const g = p.groups;
    const i = Math.min(1, C - 1);
    return [
      {
        label: "output channel i reads",
        general: "perm[i] = (i mod g)·(C/g) + ⌊i/g⌋",
        filled: `perm[${i}] = (${i} mod ${g})·(${C}/${g}) + ⌊${i}/${g}⌋`,
        value: p.permutation[i],
      },
      { label: "multiply-adds", general: "0 (a copy)", value: a.totals.madds },
    ];
  },
  shufflenet_v1_unit: (a) => {
    const g1 = node(a, "gconv1_conv");
    const m = g1.attrs.out_channels;
    const g = g1.attrs.groups;
    const [, cin, h, w] = g1.input_shapes[0];
    const cout = a.config.out_channels;
    return [
      { label: "bottleneck", general: "m = C_out/4", filled: `${cout}/4`, value: m },
      {
        label: "1×1 GConv multiply-adds",
        general: "h·w·C·m/g",
        filled: `${dot(h, w, cin, m)}/${g}`,
        value: g1.madds,
      },
    ];
  },
  depthwise_separable: (a) => {
    const dw = node(a, "depthwise_conv");
    const pw = node(a, "pointwise_conv");
    const kk = k(dw);
    const n = pw.attrs.out_channels;
    const [, , ho, wo] = pw.output_shape;
    const standard = ho * wo * kk * kk * dw.attrs.in_channels * n * a.input_shape[0];
    const ratio = (dw.madds + pw.madds) / standard;
    return [
      {
        label: "cost against a standard conv",
        general: "1/N + 1/k²",
        filled: `1/${n} + 1/${kk * kk}`,
        value: (1 / n + 1 / (kk * kk)).toFixed(4),
        note: `(counted here: ${ratio.toFixed(4)})`,
      },
    ];
  },
  inverted_residual: (a) => {
    const t = a.config.expand_ratio;
    const cin = a.config.in_channels;
    const cout = a.config.out_channels;
    const s = a.config.stride;
    const [n, , h, w] = a.input_shape;
    const hidden = t * cin;
    const expand = t > 1 ? cin : 0;
    const value = n * h * w * hidden * expand + (n * h * w * hidden * (9 + cout)) / (s * s);
    return [
      { label: "hidden width", general: "t·C_in", filled: dot(t, cin), value: hidden },
      {
        label: "multiply-adds",
        general: `hw·t·C_in·(${t > 1 ? "C_in + " : ""}9/s² + C_out/s²)`,
        filled:
          `${dot(...(n > 1 ? [n] : []), h, w, t, cin)}·` +
          `(${t > 1 ? `${cin} + ` : ""}9/${s * s} + ${cout}/${s * s})`,
        value: Math.round(value),
        note: t > 1 ? "" : "(t = 1: no expansion convolution)",
      },
    ];
  },
  squeeze_excitation: (a) => {
    const C = a.config.in_channels;
    const s = node(a, "fc1").attrs.out_channels;
    return [
      {
        label: "squeeze width",
        general: "s = max(1, C // r)",
        filled: `max(1, ${C} // ${a.config.reduction})`,
        value: s,
      },
      {
        label: "extra weights",
        general: "2·C·s + s + C",
        filled: `2·${C}·${s} + ${s} + ${C}`,
        value: 2 * C * s + s + C,
      },
    ];
  },
  mobilenet_v3_bneck: (a) => {
    const fc1 = node(a, "se_fc1");
    const lines = [{ label: "hard-swish", general: "hardswish(x) = x·ReLU6(x + 3)/6" }];
    if (fc1) {
      const exp = a.config.expanded_channels;
      lines.push({
        label: "SE squeeze width",
        general: "make_divisible(exp/4, 8)",
        filled: `make_divisible(${exp}/4, 8)`,
        value: fc1.attrs.out_channels,
      });
    }
    return lines;
  },
  activation: () => [
    { label: "hard-swish", general: "hardswish(x) = x·ReLU6(x + 3)/6" },
    { label: "hard-sigmoid", general: "hardsigmoid(x) = ReLU6(x + 3)/6" },
  ],
  shufflenet_v2_unit: (a) => {
    const c = firstConv(a);
    const cout = a.config.out_channels;
    return [
      {
        label: "branch width",
        general: "b = C_out/2",
        filled: `${cout}/2`,
        value: c ? c.attrs.out_channels : cout / 2,
      },
      { label: "shuffle", general: "g = 2 (the two halves)" },
    ];
  },
  repvgg_block: (a) => {
    const c = node(a, "rbr_dense_conv");
    const { in_channels: cin, out_channels: cout, groups: g } = c.attrs;
    return [
      {
        label: "deployed weights",
        general: `9·C_in·C_out${g > 1 ? "/g" : ""} + C_out`,
        filled: `9·${cin}·${cout}${g > 1 ? `/${g}` : ""} + ${cout}`,
        value: (9 * cin * cout) / g + cout,
        note: "(the deploy form: one 3×3 with a bias)",
      },
      {
        ...convLines(c, "deployed 3×3 ")[0],
        note: "(the deploy form; the Totals count the training form's three branches)",
      },
    ];
  },
};

// `fallback`: the registry's formula, shown as it is when a kind has no numbers to fill in.
export function renderFormula(container, analysis, fallback = "") {
  let lines = [];
  try {
    lines = FORMULAS[analysis.kind]?.(analysis) ?? [];
  } catch {
    lines = []; // an op missing at this configuration: the general formula alone
  }
  const body = lines.length
    ? lines.map(line)
    : [el("p", { class: "formula-line" }, el("code", {}, fallback))];
  container.replaceChildren(
    el("span", { class: "formula-title" }, "Key formula, with the numbers on screen"),
    ...body,
  );
}
