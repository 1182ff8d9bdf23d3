// Readable numbers and the words that explain them (the page always says what a number means).

export function human(value) {
  const v = Number(value);
  for (const [size, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "K"]]) {
    if (Math.abs(v) >= size) return `${(v / size).toFixed(1)} ${suffix}`;
  }
  return String(Math.round(v));
}

export const exact = (value) => Number(value).toLocaleString("en-US");

export const shape = (dims) => (dims && dims.length ? dims.join("×") : "");

export function micros(us) {
  if (us == null || Number.isNaN(us)) return "–";
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

export const METRICS = {
  params: { label: "parameters", short: "params" },
  madds: { label: "multiply-adds", short: "multiply-adds" },
  mac: { label: "MAC (memory access cost, elements)", short: "MAC" },
  elementwise: { label: "elementwise work (elements)", short: "elementwise" },
  latency: { label: "latency share (measured)", short: "latency share" },
};

export const metricLabel = (metric) => (METRICS[metric] || METRICS.mac).label;
