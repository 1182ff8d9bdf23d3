// Does this machine rank a guideline's rows as the paper's GPU figures do? The server sends the
// comparison as data (report.ordering, computed pair by pair); this words it.

import { percent } from "./format.js";

const order = (labels) => labels.join(" > ");

// The verdict for one guideline report: a pure function of report.ordering, report.measured and
// report.device_label.
export function verdictText(report) {
  const o = report.ordering;
  if (!o.paper) return "The paper gives no GPU figures to compare with.";
  if (!report.measured || !o.measured) {
    return `Not measured yet: the paper's GPU figures rank the rows ${order(o.paper)}.`;
  }
  const where = report.device_label ? `on ${report.device_label}` : "on this machine";
  if (!o.reversed.length) {
    return (
      `Reproduced: ${where} the rows rank ${order(o.measured)} by measured speed, ` +
      "the same order as the paper's GPU figures."
    );
  }
  const flips = o.reversed.map(
    (r) => `${r.measured_faster} is ${percent(r.by)} faster than ${r.paper_faster}`,
  );
  let text =
    `Not reproduced: the paper's GPU figures rank ${order(o.paper)}; ${where} the measured order is ` +
    `${order(o.measured)}. ${o.agreeing_pairs} of ${o.pairs} pairs keep the paper's order; ` +
    `reversed here: ${flips.join("; ")}.`;
  const noisy = o.reversed.filter((r) => r.within_noise).length;
  if (noisy) {
    const which =
      o.reversed.length === 1
        ? "The reversed pair is"
        : `${noisy} of the ${o.reversed.length} reversed pairs are`;
    text += ` ${which} within measurement noise (interquartile ranges overlap).`;
  }
  return text;
}
