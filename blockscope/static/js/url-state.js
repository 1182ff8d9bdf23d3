// Every control's state lives in the URL query, on every page: read it on load, write it
// (replaceState) on change, so that any view is a link.

// The words a query value may use for "true", in any case, as the server (pydantic) reads a boolean
// query parameter; its "false" words are 0, false, no, off, f and n, and anything else is refused.
export const TRUE_WORDS = ["1", "true", "yes", "on", "t", "y"];
export const isTrue = (raw) => TRUE_WORDS.includes(String(raw ?? "").toLowerCase());

// Block parameter values from the query, typed by the schema; anything unparsable stays a string
// so that the server's 422 names the parameter.
export function blockValues(schema, query) {
  const values = {};
  for (const p of schema) {
    const raw = query[p.name];
    if (raw === undefined || raw === null || raw === "") values[p.name] = p.default;
    else if (p.type === "integer") values[p.name] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
    else if (p.type === "boolean") values[p.name] = isTrue(raw);
    else values[p.name] = raw;
  }
  return values;
}

// The block values that differ from the defaults (short, shareable URLs), in schema order.
export function nonDefault(schema, values) {
  const out = {};
  for (const p of schema) {
    if (values[p.name] !== undefined && values[p.name] !== p.default) out[p.name] = values[p.name];
  }
  return out;
}

export function urlFor(path, entries) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined || v === null || v === "") continue;
    params.set(k, String(v));
  }
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

// The address bar shows `entries` (empty ones left out); the #fragment stays.
export function writeURL(entries) {
  const { pathname, search, hash } = window.location;
  const url = urlFor(pathname, entries) + hash;
  if (url !== pathname + search + hash) window.history.replaceState(null, "", url);
}
