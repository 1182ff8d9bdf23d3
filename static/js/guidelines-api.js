// The JSON API as the guideline lab uses it: one experiment, and the G2 group-count sweep.

export class ApiError extends Error {
  constructor(message, status, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

function describe(status, body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(-1)[0] || "request"}: ${d.msg}`).join("; ");
  }
  if (typeof detail === "string") return detail;
  return `the server answered ${status}`;
}

export async function getJSON(url, { signal } = {}) {
  const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const retry = Number(response.headers.get("Retry-After")) || null;
    throw new ApiError(describe(response.status, body), response.status, retry);
  }
  return body;
}

export function guidelineUrl(name, state, measure) {
  const params = new URLSearchParams({
    device: state.device, width_multiplier: String(state.width_multiplier), batch: String(state.batch),
    measure: String(measure),
  });
  if (state.threads != null && state.device === "cpu") params.set("threads", String(state.threads));
  return `/api/guidelines/${encodeURIComponent(name)}?${params}`;
}

export function sweepUrl(channels, batch) {
  return `/api/guidelines/g2/sweep?${new URLSearchParams({ channels: String(channels), batch: String(batch) })}`;
}
