// "Compare with…" on the explorer and on a network's page: a link to /compare with this page's block
// (or network) as side A, as configured, i.e. the parameters of the page's own URL (where every
// control's state lives), and a partner as side B that the student then changes.

import { pageData } from "./dom.js";

// The natural partner of a kind (the course's comparisons); any other kind starts against itself.
const PARTNERS = {
  conv: { b: "depthwise_separable" },
  depthwise_separable: { b: "conv" },
  group_conv: { b: "conv" },
  shufflenet_v1_unit: { b: "shufflenet_v2_unit" },
  shufflenet_v2_unit: { b: "shufflenet_v1_unit" },
  repvgg_block: { b: "repvgg_block", "b.form": "deployed" },
  conv_bn: { b: "conv_bn", "b.form": "deployed" },
};

const link = document.querySelector('[data-role="compare-link"]');

if (link) {
  const data = pageData();
  const network = data.name ? `network:${data.name}` : null;
  const names = network
    ? new Set(["height", "width", "batch"])
    : new Set(data.spec.params.map((p) => p.name));
  const sync = () => {
    const q = new URLSearchParams();
    q.set("a", network ?? data.kind);
    const own = [];
    for (const [key, value] of new URLSearchParams(window.location.search)) {
      if (names.has(key)) {
        q.set(`a.${key}`, value);
        own.push([key, value]);
      }
    }
    if (network) {
      q.set("b", data.name === "mobilenet_v2" ? "network:shufflenet_v2_x1_0" : "network:mobilenet_v2");
    } else {
      const partner = PARTNERS[data.kind] ?? { b: data.kind };
      for (const [key, value] of Object.entries(partner)) q.set(key, value);
      // the same input on both sides; the same kind keeps every value, so one change shows its effect
      const keep =
        partner.b === data.kind
          ? own
          : own.filter(([k]) => ["batch", "height", "width", "in_channels", "out_channels"].includes(k));
      for (const [key, value] of keep) q.set(`b.${key}`, value);
    }
    link.href = `/compare?${q}`;
  };
  sync();
  // the page rewrites its URL while it handles a control's event: read it once that is done
  const soon = () => setTimeout(sync, 0);
  for (const type of ["input", "change", "popstate"]) window.addEventListener(type, soon, true);
  for (const type of ["pointerdown", "focus", "click"]) link.addEventListener(type, sync);
}
