// Measured latency, on demand only (a measurement takes seconds; the page never waits for one).

import * as api from "./api.js";
import { el } from "./dom.js";

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

// A message for a failed measurement
export function explain(err) {
  const missing = api.unavailable(err, "Latency measurement");
  if (missing) return missing;
  if (err.status === 429) return `The server is busy measuring; try again in a few seconds. (${err.message})`;
  return `Could not measure: ${err.message}`;
}

export const byNode = (report) => new Map(report.nodes.map((n) => [n.id, n]));

// "cpu: 8 threads, 20 warm-up and 200 timed runs, float32 (cached)"
export function howMeasured(report) {
  const runs = `${report.warmup} warm-up and ${report.repeats} timed runs`;
  const cached = report.cached ? " (cached)" : "";
  const where = report.device_label || report.device;
  return `${where}: ${report.threads ?? "?"} threads, ${runs}, ${report.dtype || "float32"}${cached}`;
}
