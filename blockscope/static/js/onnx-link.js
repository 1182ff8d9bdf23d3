// The explorer's "Download ONNX" link: its href is kept on the block as configured, i.e. the block
// parameters of the page's own URL (where the explorer writes every control's state), so the file is
// always the block on screen.

import { pageData } from "./dom.js";

const link = document.querySelector('[data-role="onnx-download"]');

if (link) {
  const { kind, spec } = pageData();
  const names = new Set(spec.params.map((p) => p.name));
  const form = link.dataset.form || "train";
  const sync = () => {
    const kept = new URLSearchParams();
    for (const [key, value] of new URLSearchParams(window.location.search)) {
      if (names.has(key)) kept.set(key, value);
    }
    kept.set("form", form);
    link.href = `/api/blocks/${encodeURIComponent(kind)}/onnx?${kept}`;
  };
  sync();
  // The explorer rewrites the URL while it handles a control's event: read it once that is done.
  const soon = () => setTimeout(sync, 0);
  for (const type of ["input", "change", "popstate"]) window.addEventListener(type, soon, true);
  // and at the last moment, whatever changed the URL
  for (const type of ["pointerdown", "focus", "click"]) link.addEventListener(type, sync);
}
