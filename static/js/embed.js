// The "embed this view" snippet: an <iframe> of /embed/{kind} with the current state and views.

const escapeAttr = (text) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

export function embedURL(kind, search, views) {
  const params = new URLSearchParams(search);
  params.delete("view");
  if (views.length) params.set("view", views.join(","));
  return `${window.location.origin}/embed/${encodeURIComponent(kind)}?${params.toString()}`;
}

export function snippet(kind, title, search, views) {
  const height = Math.min(1400, 140 + views.length * 420);
  return `<iframe src="${escapeAttr(embedURL(kind, search, views))}" title="${escapeAttr(`BlockScope: ${title}`)}" ` +
    `width="100%" height="${height}" style="border:1px solid #d9dee8;border-radius:6px" loading="lazy"></iframe>`;
}
