// The "embed this view" snippet: an <iframe> of /embed/{kind} with the current state and views.

import { el } from "./dom.js";

export function embedURL(kind, search, views) {
  const params = new URLSearchParams(search);
  params.delete("view");
  if (views.length) params.set("view", views.join(","));
  return `${window.location.origin}/embed/${encodeURIComponent(kind)}?${params.toString()}`;
}

// The <iframe> element's markup, serialised by the browser (which escapes every attribute).
export function snippet(kind, title, search, views) {
  const frame = el("iframe", {
    src: embedURL(kind, search, views),
    title: `BlockScope: ${title}`,
    width: "100%",
    height: Math.min(1400, 140 + views.length * 420),
    style: "border:1px solid #d9dee8;border-radius:6px",
    loading: "lazy",
  });
  return frame.outerHTML;
}
