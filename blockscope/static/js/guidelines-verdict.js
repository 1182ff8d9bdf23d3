// Does this machine rank a guideline's rows as the paper's GPU figures do? The server judges it pair
// by pair (report.ordering, blockscope/service/guidelines.py) and only from clean data: no row measured
// while the server was busy, and every pair's 95% intervals apart. This words it.

import { speedWords } from "./format.js";
import { TOO_NOISY } from "./latency.js";

const order = (labels) => labels.join(" > ");
const list = (items) => items.join("; ");
// Row labels in a sentence: commas, unless a label has its own ("ReLU, no shortcut")
export const labelList = (labels) => labels.join(labels.some((l) => l.includes(",")) ? "; " : ", ");

export const VERDICT_WORDS = {
  reproduced: "Reproduced",
  not_reproduced: "Not reproduced",
  too_noisy: "Too noisy to judge",
};

// Pairs whose medians' 95% intervals overlap: their order is not known here (no speed is claimed).
function closeSentence(o) {
  if (!o.close?.length) return "";
  const pairs = list(o.close.map((p) => `${p.paper_faster} and ${p.paper_slower}`));
  const which = o.close.length === 1 ? "One pair is" : `${o.close.length} pairs are`;
  return ` ${which} too close to call here (their 95% intervals overlap): ${pairs}.`;
}

// The verdict for one guideline report: a pure function of report.ordering, report.measured and
// report.device_label.
export function verdictText(report) {
  const o = report.ordering;
  if (!o.paper) return "The paper gives no GPU figures to compare with.";
  if (!report.measured || !o.measured) {
    return `Not measured yet: the paper's GPU figures rank the rows ${order(o.paper)}.`;
  }
  const where = report.device_label ? `on ${report.device_label}` : "on this machine";
  const measured = `${where} the measured medians rank ${order(o.measured)}`;
  const ranks = `GPU figures rank ${order(o.paper)}; ${measured}.`;
  if (o.verdict === "reproduced") {
    return (
      `Reproduced: ${where} the rows rank ${order(o.measured)} by measured speed, the same order as ` +
      "the paper's GPU figures, every pair with its 95% intervals apart."
    );
  }
  if (o.verdict === "not_reproduced") {
    const clear = o.reversed.filter((r) => !r.within_noise);
    const flips = clear.map((r) => `${r.measured_faster} is ${speedWords(1 + r.by)} than ${r.paper_faster}`);
    const reversed = `Reversed here with 95% intervals apart: ${list(flips)}.`;
    return `Not reproduced: the paper's ${ranks} ${reversed}${closeSentence(o)}`;
  }
  const busy = o.disturbed?.length
    ? ` Measured while the server was busy: ${labelList(o.disturbed)}.`
    : closeSentence(o);
  return `Too noisy to judge here; measure again.${busy} The paper's ${ranks}`;
}

// The status line's note when this run did not replace the stored result (a clean earlier one).
export function keptText(stored, when) {
  if (!stored || stored.replaced) return "";
  const verdict = VERDICT_WORDS[stored.verdict] ?? "measured";
  return (
    ` This run is ${TOO_NOISY.split(";")[0]}, so the server keeps its clean measurement from ` +
    `${when} (${verdict}) as this experiment's last result.`
  );
}
