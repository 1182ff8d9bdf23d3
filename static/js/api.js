// The JSON API client: one fetch per URL, answers kept in memory (analyses are pure functions of
// the URL; measurements are not, and skip the cache), errors turned into values the page can show
// next to the control that caused them.

const cache = new Map();

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(typeof detail === "string" ? detail : describe(detail));
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
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

function describe(detail) {
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(-1)[0] || "request"}: ${d.msg}`).join("; ");
  return String(detail ?? "request failed");
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
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) {
    const detail = body && body.detail !== undefined ? body.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail, Number(response.headers.get("Retry-After")) || null);
  }
  return body;
}

// Cached GET: concurrent and repeated requests for one URL share one answer (failures are not kept).
// fresh: a measurement of the machine now, neither served from this cache nor kept in it.
export function getJSON(url, { signal, fresh = false } = {}) {
  if (fresh) return fetchJSON(url, { signal });
  if (cache.has(url)) return cache.get(url);
  const promise = fetchJSON(url, { signal });
  cache.set(url, promise);
  const forget = () => { if (cache.get(url) === promise) cache.delete(url); };
  // forgotten as soon as it is aborted, so that a new request for the URL does not get the abort
  signal?.addEventListener("abort", forget);
  promise.then(() => signal?.removeEventListener("abort", forget), forget);
  return promise;
}

export const analysisURL = (kind, values) => `/api/blocks/${encodeURIComponent(kind)}?${query(values)}`;
export const analyse = (kind, values, opts) => getJSON(analysisURL(kind, values), opts);
export const sweep = (kind, values, opts) =>
  getJSON(`/api/blocks/${encodeURIComponent(kind)}/sweep?${query(values)}`, opts);
export const reparam = (kind, values, measure = false, opts = {}) =>
  getJSON(`/api/blocks/${encodeURIComponent(kind)}/reparam?${query({ ...values, measure })}`,
    { ...opts, fresh: measure });
// Latency depends on the machine and the moment: never served from this cache.
export const latency = (kind, values, extra, opts = {}) =>
  getJSON(`/api/blocks/${encodeURIComponent(kind)}/latency?${query({ ...values, ...extra })}`,
    { ...opts, fresh: true });
export const devices = () => getJSON("/api/devices");

// "not there yet" reads better than a raw 404 for optional endpoints
export function unavailable(err, what) {
  if (err instanceof ApiError && (err.status === 404 || err.status === 405) && /not found/i.test(err.message)) {
    return `${what} is not available on this server yet.`;
  }
  return null;
}
