// Course-material downloads: the diagram as SVG or PNG, the op table as CSV, the analysis as JSON.

import { FIGURE } from "./colors.js";
import { el, SVG_NS } from "./dom.js";
import { toCSV } from "./table.js";

export function save(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function svgText(root) {
  const clone = root.cloneNode(true);
  clone.setAttribute("xmlns", SVG_NS);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
}

export function svgToPNG(root, scale = 2) {
  return new Promise((resolve, reject) => {
    const width = Number(root.getAttribute("width"));
    const height = Number(root.getAttribute("height"));
    const url = URL.createObjectURL(new Blob([svgText(root)], { type: "image/svg+xml" }));
    const failed = () => {
      URL.revokeObjectURL(url);
      reject(new Error("PNG export failed"));
    };
    const img = new Image();
    img.onload = () => {
      const canvas = el("canvas", { width: width * scale, height: height * scale });
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = FIGURE.background;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG export failed"))), "image/png");
    };
    img.onerror = failed;
    img.src = url;
  });
}

// Every [data-download] button: `current()` gives {name, analysis, latency, diagram} at the click.
export function wireDownloads(current) {
  const blob = (text, type) => new Blob([text], { type });
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", async () => {
      const { name, analysis, latency, diagram } = current();
      if (!analysis) return;
      const type = button.dataset.download;
      if (type === "svg" && diagram) save(`${name}.svg`, blob(svgText(diagram), "image/svg+xml"));
      if (type === "png" && diagram) save(`${name}.png`, await svgToPNG(diagram));
      if (type === "csv") save(`${name}.csv`, blob(toCSV(analysis, latency), "text/csv"));
      if (type === "json") save(`${name}.json`, blob(JSON.stringify(analysis, null, 2), "application/json"));
    });
  }
}
