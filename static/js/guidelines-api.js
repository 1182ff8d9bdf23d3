// The guideline lab's requests: one experiment, and the G2 group-count sweep (fetching, caching and
// errors are api.js's).

import { getJSON, query } from "./api.js";

// Counts and the paper's figures are pure functions of the URL; a measurement is never served from memory.
export function report(name, state, measure, opts = {}) {
  const values = {
    device: state.device, width_multiplier: state.width_multiplier, batch: state.batch, measure,
    threads: state.device === "cpu" ? state.threads : null,
  };
  return getJSON(`/api/guidelines/${encodeURIComponent(name)}?${query(values)}`, { ...opts, fresh: measure });
}

export const sweep = (channels, batch, opts) => getJSON(`/api/guidelines/g2/sweep?${query({ channels, batch })}`, opts);
