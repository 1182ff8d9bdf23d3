// The JSON API client for every page: one fetch per URL, answers kept in memory (analyses are pure
// functions of the URL; measurements are not, and skip the cache), errors turned into values the
// page can show next to the control that caused them, and one retry policy for a busy server.

import { pause } from "./latest.js";

// A 429 (the measuring queue is full) or a 503 (the measuring process is restarting) is asked again
// after the Retry-After the server sends (defaultWait when it sends none), up to `tries` requests in
// all; a server that asks for more than `longestWait` is not waited for. Seconds.
export const RETRY = Object.freeze({ tries: 5, defaultWait: 2, longestWait: 30 });
const RETRIED = [429, 503];

// Answers kept, by URL; the least recently used goes first.
const CACHE_SIZE = 256;
const cache = new Map();

// "in_channels: must divide…; groups: …" from FastAPI's 422 detail (or any other detail)
function detailText(detail) {
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(-1)[0] || "request"}: ${d.msg}`).join("; ");
  }
  return String(detail ?? "request failed");
}

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(typeof detail === "string" ? detail : detailText(detail));
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter; // seconds, from a 429's or a 503's Retry-After
  }

  // {param: message} for a 422 in FastAPI's shape
  byParam() {
    const out = {};
    if (Array.isArray(this.detail)) {
      for (const d of this.detail) {
        const loc = d.loc || [];
        const name = loc[loc.length - 1] ?? "";
        out[name] = out[name] ? `${out[name]}; ${d.msg}` : d.msg;
      }
    }
    return out;
  }
}

export function query(values) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  return params.toString();
}

async function fetchJSON(url, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, { signal, headers: { Accept: "application/json" } });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "the server could not be reached");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail =
      body && body.detail !== undefined ? body.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail, Number(response.headers.get("Retry-After")) || null);
  }
  return body;
}

// `promise`, or an AbortError as soon as `signal` aborts (the shared request itself goes on).
function abortable(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

// Concurrent and repeated requests for one URL share one answer (failures are not kept).
function cached(url) {
  let shared = cache.get(url);
  if (shared) {
    cache.delete(url); // most recently used: to the end of the Map's order
  } else {
    shared = fetchJSON(url);
    shared.catch(() => {
      if (cache.get(url) === shared) cache.delete(url);
    });
  }
  cache.set(url, shared);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value);
  return shared;
}

// Seconds to wait before request number `attempt` + 1, or null: do not try again.
function retryWait(err, attempt) {
  if (!(err instanceof ApiError) || !RETRIED.includes(err.status) || attempt >= RETRY.tries) return null;
  const wait = err.retryAfter ?? RETRY.defaultWait;
  return wait <= RETRY.longestWait ? wait : null;
}

// GET `url` as JSON. A caller's `signal` ends only its own wait, so one caller's abort never fails
// another's request.
// fresh: a measurement of the machine now, neither served from this cache nor kept in it.
// retry: ask again while the server is busy (RETRY); onWait(seconds, err) before each wait.
export async function getJSON(url, { signal, fresh = false, retry = false, onWait = null } = {}) {
  const once = () => (fresh ? fetchJSON(url, { signal }) : abortable(cached(url), signal));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await once();
    } catch (err) {
      const wait = retry ? retryWait(err, attempt) : null;
      if (wait === null) throw err;
      onWait?.(wait, err);
      await pause(wait * 1000, signal);
    }
  }
}

const block = (kind) => `/api/blocks/${encodeURIComponent(kind)}`;

export const analyse = (kind, values, opts) => getJSON(`${block(kind)}?${query(values)}`, opts);
export const sweep = (kind, values, opts) => getJSON(`${block(kind)}/sweep?${query(values)}`, opts);
// ShuffleNet V2's G2 from the g = 1 block whose channels `values` holds
export const fixedMadds = (kind, values, opts) =>
  getJSON(`${block(kind)}/fixed-madds?${query(values)}`, opts);
// again: "Measure again", bypassing the server's cache of recent measurements too (fresh=true)
export const reparam = (kind, values, measure = false, opts = {}) => {
  // measure=false is left out: the same URL as every other client's, which a proxy may keep
  const extra = measure ? { measure, fresh: opts.again ? true : null } : {};
  return getJSON(`${block(kind)}/reparam?${query({ ...values, ...extra })}`, { ...opts, fresh: measure });
};
// The proof that both forms agree: run once per configuration by the server, then cacheable.
export const reparamEquivalence = (kind, values, opts) =>
  getJSON(`${block(kind)}/reparam/equivalence?${query(values)}`, opts);
// Latency depends on the machine and the moment: never served from this cache.
export const latency = (kind, values, extra, opts = {}) =>
  getJSON(`${block(kind)}/latency?${query({ ...values, ...extra })}`, { ...opts, fresh: true });
export const devices = () => getJSON("/api/devices");

// One guideline experiment: counts and the paper's figures are pure functions of the URL; a
// measurement is never served from memory.
export function guideline(name, settings, measure, opts = {}) {
  const values = {
    device: settings.device,
    width_multiplier: settings.width_multiplier,
    batch: settings.batch,
    measure,
    threads: settings.device === "cpu" ? settings.threads : null,
  };
  return getJSON(`/api/guidelines/${encodeURIComponent(name)}?${query(values)}`, { ...opts, fresh: measure });
}

// The last measurement of one experiment with these settings ({report: null} when there is none); it may be
// replaced at any moment, so it is never kept here.
export function guidelineLast(name, settings, opts = {}) {
  const values = {
    device: settings.device,
    width_multiplier: settings.width_multiplier,
    batch: settings.batch,
    threads: settings.device === "cpu" ? settings.threads : null,
  };
  return getJSON(`/api/guidelines/${encodeURIComponent(name)}/last?${query(values)}`, {
    ...opts,
    fresh: true,
  });
}

// G2's slider: multiply-adds held fixed while the group count and MAC rise.
export const guidelineSweep = (channels, batch, opts) =>
  getJSON(`/api/guidelines/g2/sweep?${query({ channels, batch })}`, opts);

// "not there yet" reads better than a raw 404 for optional endpoints
export function unavailable(err, what) {
  if (
    err instanceof ApiError &&
    (err.status === 404 || err.status === 405) &&
    /not found/i.test(err.message)
  ) {
    return `${what} is not available on this server yet.`;
  }
  return null;
}
