// Measured latency, on demand only (a measurement takes seconds; the page never waits for one).

import * as api from "./api.js";

let devicesPromise = null;

export function loadDevices(select, current) {
  devicesPromise ??= api.devices().catch(() => null);
  return devicesPromise.then((list) => {
    if (!list || !select) return list;
    select.replaceChildren(...list.map((d) => {
      const o = document.createElement("option");
      o.value = d.name;
      o.textContent = d.label ? `${d.name}: ${d.label}` : d.name;
      return o;
    }));
    if (list.some((d) => d.name === current)) select.value = current;
    return list;
  });
}

export async function deviceLabel(name) {
  const list = await (devicesPromise ?? Promise.resolve(null));
  const d = list?.find((x) => x.name === name);
  return d?.label ? `${name} (${d.label})` : name;
}

// A message for a failed measurement, or rethrow
export function explain(err) {
  const missing = api.unavailable(err, "Latency measurement");
  if (missing) return missing;
  if (err.status === 429) return `The server is busy measuring; try again in a few seconds. (${err.message})`;
  return `Could not measure: ${err.message}`;
}

export const byNode = (report) => new Map(report.nodes.map((n) => [n.id, n]));
