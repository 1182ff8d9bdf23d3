// The gallery: a small diagram on each card, drawn from the analyses the page carries.

import { renderDiagram } from "./diagram.js";
import { pageData } from "./dom.js";

for (const card of pageData().cards) {
  const box = document.querySelector(`[data-role="mini"][data-kind="${card.kind}"]`);
  if (box && card.analysis) renderDiagram(box, card.analysis, { metric: "mac", compact: true });
}
