// Readable numbers and the words that explain them (the page always says what a number means).

// No value (null, undefined, not a number) reads as a dash, never "NaN" or a made-up zero.
const missing = (value) => value == null || Number.isNaN(Number(value));

// 12345 -> "12.3 K" (the server's `human` filter agrees); the guideline lab's close counts use 2 decimals.
const SUFFIXES = Object.entries({ G: 1e9, M: 1e6, K: 1e3 });

export function human(value, decimals = 1) {
  if (missing(value)) return "–";
  const v = Number(value);
  for (const [suffix, size] of SUFFIXES) {
    if (Math.abs(v) >= size) return `${(v / size).toFixed(decimals)} ${suffix}`;
  }
  return String(Math.round(v));
}

export const exact = (value) => (missing(value) ? "–" : Number(value).toLocaleString("en-US"));

export const shape = (dims) => (dims?.length ? dims.join("×") : "");

export function micros(us) {
  if (missing(us)) return "–";
  const v = Number(us);
  return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(1)} µs`;
}

// Passes per second: three significant figures or so (1480, 52.3, 4.17).
export function rate(value) {
  if (missing(value)) return "–";
  const v = Number(value);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

// A speed relative to a reference row: 1.00, 0.87.
export const relative = (value) => (missing(value) ? "–" : Number(value).toFixed(2));

export const percent = (fraction, decimals = 1) => `${(fraction * 100).toFixed(decimals)}%`;

export const METRICS = {
  params: { label: "parameters", short: "params" },
  madds: { label: "multiply-adds", short: "multiply-adds" },
  mac: { label: "MAC (memory access cost, elements)", short: "MAC" },
  elementwise: { label: "elementwise work (elements)", short: "elementwise" },
  latency: { label: "latency share (measured)", short: "latency share" },
};

export const metricLabel = (metric) => (METRICS[metric] || METRICS.mac).label;

// A change as a signed percentage with a real minus sign: "+12.0%", "−2.9%", "±0.0%".
export function signedPercent(fraction, decimals = 1) {
  if (missing(fraction)) return "–";
  const text = (Math.abs(fraction) * 100).toFixed(decimals);
  if (Number(text) === 0) return `±${text}%`;
  return `${fraction < 0 ? "−" : "+"}${text}%`;
}

// What a student can act on: a server's refusal without the settings (environment variables) an
// operator would change, which nobody reading the page can.
export function studentText(message) {
  return String(message ?? "")
    .replace(/\s*\((?:set by )?BLOCKSCOPE_[A-Z0-9_]+\)/g, "")
    .replace(/\s*BLOCKSCOPE_[A-Z0-9_]+/g, " this server's limit")
    .replace(/\s+/g, " ")
    .trim();
}

// A speed ratio in words a student reads at once. `speedup` is the reference's time over this one's
// (above 1: this one is faster): "1.5× faster", "8% slower", "as fast" (within half a percent).
// Past 1.5 the factor, below it the percentage; the same rule as blockscope/wording.py.
export function speedWords(speedup) {
  if (missing(speedup) || Number(speedup) <= 0) return "–";
  const r = Number(speedup);
  const factor = r >= 1 ? r : 1 / r;
  const word = r >= 1 ? "faster" : "slower";
  if (factor < 1.005) return "as fast";
  if (factor >= 1.5) return `${factor.toFixed(1)}× ${word}`;
  return `${((factor - 1) * 100).toFixed(0)}% ${word}`;
}
