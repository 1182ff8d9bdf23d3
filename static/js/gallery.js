// The gallery: a small diagram on each card, drawn from the analyses the page carries.

import { renderDiagram } from "./diagram.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
for (const card of data.cards) {
  const box = document.querySelector(`[data-role="mini"][data-kind="${card.kind}"]`);
  if (box && card.analysis) renderDiagram(box, card.analysis, { metric: "mac", compact: true });
}
