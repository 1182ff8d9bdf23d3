// Measured latency, on demand only (a measurement takes seconds; the page never waits for one).

import * as api from "./api.js";
import { el } from "./dom.js";
import { micros, percent, speedWords, studentText } from "./format.js";

let devicesPromise = null;

export function loadDevices(select, current) {
  devicesPromise ??= api.devices().catch(() => null);
  return devicesPromise.then((list) => {
    if (!list || !select) return list;
    const label = (d) => (d.label ? `${d.name}: ${d.label}` : d.name);
    select.replaceChildren(...list.map((d) => el("option", { value: d.name }, label(d))));
    if (list.some((d) => d.name === current)) select.value = current;
    return list;
  });
}

export async function deviceLabel(name) {
  const list = await (devicesPromise ?? Promise.resolve(null));
  const d = list?.find((x) => x.name === name);
  return d?.label ? `${name} (${d.label})` : name;
}

// A message for a failed measurement, in words a student can act on
export function explain(err) {
  const missing = api.unavailable(err, "Latency measurement");
  if (missing) return missing;
  if (err.status === 429) {
    const wait = err.retryAfter ? `in about ${err.retryAfter} s` : "in a few seconds";
    return `The server is busy measuring for someone else; press the button again ${wait}.`;
  }
  if (err.status === 0) return "The server could not be reached; check the connection and try again.";
  return `Could not measure: ${studentText(err.message)}`;
}

// "1.59 ms (95% interval 1.55–1.62 ms)"
export function medianWithInterval(report) {
  const ci = report.quality?.ci95_us;
  const median = micros(report.total.median_us);
  return ci ? `${median} (95% interval ${micros(ci[0])}–${micros(ci[1])})` : median;
}

// How far to trust a measurement, as sentences (paragraphs): a warning when it was disturbed, and
// how often it was taken. `who` names the measurement when a page shows several.
export function qualityNotes(report, who = "") {
  const q = report.quality;
  if (!q) return [];
  const notes = [];
  const prefix = who ? `${who}: ` : "";
  if (q.disturbed) {
    const share =
      q.other_cpu_share == null
        ? ""
        : ` Other programs used ${percent(q.other_cpu_share, 0)} of the measuring cores' time meanwhile.`;
    notes.push(
      el(
        "p",
        { class: "warning", role: "alert", "data-role": "disturbed" },
        `${prefix}The server was busy while measuring; this figure may be too high.${share}`,
      ),
    );
  }
  if (q.attempts > 1) {
    const again = q.attempts - 1;
    notes.push(
      el(
        "p",
        { class: "hint", "data-role": "attempts" },
        `${prefix}This figure was measured again ${again} ${again === 1 ? "time" : "times"} ` +
          `(${q.attempts} attempts): a disturbed measurement is repeated while the time budget allows.`,
      ),
    );
  }
  return notes;
}

export const byNode = (report) => new Map(report.nodes.map((n) => [n.id, n]));

// "cpu: 8 threads (cores 0, 1), 20 warm-up and 200 timed runs, float32 (from the last minute)"
export function howMeasured(report) {
  const samples = report.samples ?? report.repeats;
  const runs = `${report.warmup} warm-up and ${samples} timed runs`;
  const cached = report.cached ? " (a measurement from the last minute)" : "";
  const device = report.device_label || report.device;
  const where = report.machine ? `${device} of ${report.machine}` : device; // servers behind one proxy
  const cores = report.cores?.length ? ` (cores ${report.cores.join(", ")})` : "";
  const threads = report.threads == null ? "" : ` ${report.threads} threads${cores},`;
  return `${where}:${threads} ${runs}, ${report.dtype || "float32"}${cached}`;
}

// --- verdicts only from clean data ------------------------------------------------------------------
// A page says "faster" or "slower" only when no figure it compares was flagged `disturbed` and the
// intervals separate (the ratio's 95% interval excludes 1, or two medians' 95% intervals are apart);
// otherwise it says TOO_NOISY and still shows the figures. The same rule as
// blockscope/wording.py.

export const TOO_NOISY = "too noisy to judge here; measure again";

// "1.5× faster than the training-time form", "as fast as it" (wording.py's `speed_than`)
export function speedThan(speedup, other) {
  const words = speedWords(speedup);
  return words === "as fast" ? `as fast as ${other}` : `${words} than ${other}`;
}

// [lo, hi] intervals that do not overlap (touching counts as overlapping)
export const intervalsSeparate = (a, b) => a[1] < b[0] || b[1] < a[0];

// A ratio's 95% interval that excludes 1 (a null upper bound: none)
export function ratioSeparates(ci95) {
  const [lo, hi] = ci95 ?? [];
  return (lo != null && lo > 1) || (hi != null && hi < 1);
}

const busy = (reports) => reports.some((r) => !r?.quality || r.quality.disturbed);

const ratioInterval = ([lo, hi]) =>
  hi == null ? `at least ${lo.toFixed(2)}×` : `${lo.toFixed(2)}–${hi.toFixed(2)}×`;

// Two forms timed in rounds: `comparison` is a Speedup (reference's median over the subject's),
// `reports` the two measurements it compares. {judged, text}, the text to follow "On <device>, ":
// "the deployed network is 8% slower than the training-time one (speedup 0.93×, 95% interval
// 0.90–0.95×)", or, from flagged or overlapping data, why no verdict is drawn, with the same figures.
export function speedVerdict(comparison, reports, subject, reference) {
  const c = comparison;
  if (c?.value == null) return { judged: false, text: `${subject} and ${reference} were timed.` };
  const figures = `speedup ${c.value.toFixed(2)}×, 95% interval ${ratioInterval(c.ci95)}`;
  if (busy(reports) || !ratioSeparates(c.ci95)) {
    const why = busy(reports)
      ? "the server was busy while measuring"
      : "the 95% interval of their speed ratio holds 1";
    return {
      judged: false,
      // no direction word at all: the figures are there, the words wait for cleaner ones
      text: `${subject} against ${reference}: ${TOO_NOISY} (${why}; ${figures}).`,
    };
  }
  return { judged: true, text: `${subject} is ${speedThan(c.value, reference)} (${figures}).` };
}

// Two medians timed apart (not in rounds): judged only when neither is flagged and their 95%
// intervals are apart. `subject` and `reference` are [name, report]; the text is whole sentences.
export function medianVerdict([subject, a], [reference, b]) {
  const figures = `${capital(subject)}: ${medianWithInterval(a)}; ${reference}: ${medianWithInterval(b)}.`;
  if (busy([a, b]) || !intervalsSeparate(a.quality.ci95_us, b.quality.ci95_us)) {
    const why = busy([a, b]) ? "the server was busy while measuring" : "their 95% intervals overlap";
    return { judged: false, text: `${figures} Which is quicker: ${TOO_NOISY} (${why}).` };
  }
  const speedup = b.total.median_us / a.total.median_us;
  return { judged: true, text: `${figures} ${capital(subject)} is ${speedThan(speedup, reference)}.` };
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
