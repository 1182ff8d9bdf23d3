// Readable numbers for the guideline lab: every exact count also appears in a tooltip or the API.

export function human(value) {
  if (value == null || Number.isNaN(Number(value))) return "–";
  const v = Number(value);
  for (const [size, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "K"]]) {
    if (Math.abs(v) >= size) return `${(v / size).toFixed(2)} ${suffix}`;
  }
  return String(Math.round(v));
}

export const exact = (value) => (value == null ? "–" : Number(value).toLocaleString("en-US"));

export function micros(us) {
  if (us == null || Number.isNaN(us)) return "–";
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

export function rate(value) {
  if (value == null) return "–";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export const ratio = (value) => (value == null ? "–" : value.toFixed(2));

// A row's configuration in the paper's notation (c1, c2, c, g, fragments, ReLU, shortcut).
export function configText(name, config) {
  switch (name) {
    case "g1": return `c1=${config.c1}, c2=${config.c2}`;
    case "g2": return `c=${config.channels}, g=${config.groups}`;
    case "g3": return `c=${config.channels}, ${config.fragments}× ${config.arrangement}`;
    case "g4": return `${config.bottleneck_channels * 4}→${config.bottleneck_channels}→${config.bottleneck_channels * 4}`;
    default: return JSON.stringify(config);
  }
}
