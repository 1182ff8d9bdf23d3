// Predict-first's answer, and both sides' ops on one roofline chart: the student's guess set beside
// what this server measured, in words computed from the measured ratio and its interval (no verdict
// from a disturbed measurement, none either way when the interval holds 1).

import { SIDE_COLORS } from "./colors.js";
import { ratioText } from "./compare-views.js";
import { el } from "./dom.js";
import { speedWords } from "./format.js";
import { TOO_NOISY } from "./latency.js";
import { placeable, point } from "./roofline.js";
import { rooflineChart } from "./roofline-chart.js";

function guessWords(guess, by) {
  if (guess === "same") return "about the same speed";
  return `${guess.toUpperCase()} faster, by about ${by}×`;
}

// The guess beside the measurement: `state.guess` ("a", "b" or "same"), `state.by` (a factor).
export function guessVerdict(state, measured) {
  const said = `Your guess: ${guessWords(state.guess, state.by)}.`;
  const lat = measured?.latency;
  if (!lat) return `${said} Measuring both sides on this server…`;
  const [lo95, hi95] = lat.ratio_ci95;
  const interval = `95% interval ${ratioText(lo95)} to ${ratioText(hi95)}`;
  const ci = `time of A over B ${ratioText(lat.ratio)}, ${interval}`;
  if (lat.disturbed) return `${said} Measured: ${ci}, while other work used the machine: ${TOO_NOISY}.`;
  if (!lat.measurable) {
    const right = state.guess === "same" ? "Right: " : "";
    return `${said} ${right}Measured: no measurable difference (${ci}).`;
  }
  const faster = lat.ratio > 1 ? "b" : "a";
  const factor = lat.ratio > 1 ? lat.ratio : 1 / lat.ratio;
  const words = speedWords(factor); // "3.1× faster", "20% faster"
  const measuredText = `Measured: ${faster.toUpperCase()} is ${words} (${ci}).`;
  if (state.guess === "same") return `${said} ${measuredText} The difference is measurable.`;
  if (state.guess !== faster) return `${said} ${measuredText} The other side was faster.`;
  // the guessed factor against the measured one's interval (as a factor of the faster side)
  const [lo, hi] = lat.ratio_ci95;
  const band = faster === "b" ? [lo, hi] : [hi == null ? null : 1 / hi, lo == null ? null : 1 / lo];
  const inside = (band[0] == null || state.by >= band[0]) && (band[1] == null || state.by <= band[1]);
  const nearest = state.by < (band[0] ?? state.by) ? band[0] : (band[1] ?? state.by);
  const off = Math.max(nearest / state.by, state.by / nearest);
  const close = inside
    ? "inside the measured interval"
    : off < 1.25
      ? "close to the measured interval"
      : off < 2
        ? "within 2× of it"
        : "far from it";
  return `${said} ${measuredText} The right side; your factor is ${close}.`;
}

// Both sides' ops (and each whole pass) under one set of roofs, where the measurement carries them.
export function renderRoofDots(root, comparison) {
  const lat = comparison.latency;
  const ceilings = lat?.a?.roofline?.ceilings ?? lat?.b?.roofline?.ceilings;
  root.hidden = !ceilings;
  if (!ceilings) {
    root.replaceChildren();
    return;
  }
  const groups = [];
  for (const side of ["a", "b"]) {
    const report = lat[side];
    const color = SIDE_COLORS[side];
    const points = (report.nodes ?? [])
      .filter((n) => placeable(n.roofline))
      .map((n) => point(n.roofline, `${side.toUpperCase()}: ${n.id} (${n.op})`, n, { id: n.id }));
    groups.push({
      name: `${side.toUpperCase()}: each op`,
      color,
      symbol: side === "a" ? "circle" : "diamond",
      points,
    });
    const whole = report.roofline?.whole;
    if (placeable(whole)) {
      groups.push({
        name: `${side.toUpperCase()}: whole pass`,
        color,
        symbol: "star",
        size: 16,
        role: "whole",
        points: [point(whole, `${side.toUpperCase()}: whole forward pass`, report.total, { id: "whole" })],
      });
    }
  }
  const chart = el("div", { class: "chart cmp-roofline-chart", "data-role": "roofline-chart" });
  root.replaceChildren(
    el("h3", {}, "Both sides on this server's roofline"),
    chart,
    el("p", { class: "hint" }, "Circles: A's ops; diamonds: B's; stars: each whole forward pass."),
  );
  rooflineChart(chart, ceilings, groups, "Each op of both sides under the roofs of this server");
}
