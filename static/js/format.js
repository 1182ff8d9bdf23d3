// Readable numbers and the words that explain them (the page always says what a number means).

// No value (null, undefined, not a number) reads as a dash, never "NaN" or a made-up zero.
const missing = (value) => value == null || Number.isNaN(Number(value));

export function human(value, decimals = 1) {
  if (missing(value)) return "–";
  const v = Number(value);
  for (const [size, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "K"]]) {
    if (Math.abs(v) >= size) return `${(v / size).toFixed(decimals)} ${suffix}`;
  }
  return String(Math.round(v));
}

export const exact = (value) => (missing(value) ? "–" : Number(value).toLocaleString("en-US"));

export const shape = (dims) => (dims && dims.length ? dims.join("×") : "");

export function micros(us) {
  if (missing(us)) return "–";
  const v = Number(us);
  return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(1)} µs`;
}

export const METRICS = {
  params: { label: "parameters", short: "params" },
  madds: { label: "multiply-adds", short: "multiply-adds" },
  mac: { label: "MAC (memory access cost, elements)", short: "MAC" },
  elementwise: { label: "elementwise work (elements)", short: "elementwise" },
  latency: { label: "latency share (measured)", short: "latency share" },
};

export const metricLabel = (metric) => (METRICS[metric] || METRICS.mac).label;
