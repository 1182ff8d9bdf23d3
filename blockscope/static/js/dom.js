// The one way the pages build DOM: el() for HTML elements, svg() for SVG ones. Text always goes in
// as text nodes, never parsed as markup, so nothing the server or the URL says can become HTML.

export const SVG_NS = "http://www.w3.org/2000/svg";

// Attributes: null, undefined and false leave the attribute out; true sets it empty (hidden, disabled).
// Children: strings and numbers become text; nodes are appended; null, undefined and false are skipped.
function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === "object" ? child : String(child));
  }
  return node;
}

export const el = (tag, attrs = {}, ...children) => build(document.createElement(tag), attrs, children);

export const svg = (tag, attrs = {}, ...children) =>
  build(document.createElementNS(SVG_NS, tag), attrs, children);

// The element a page marks with data-role="name" (inside `root`, the whole page by default).
export const role = (name, root = document) => root.querySelector(`[data-role="${name}"]`);

// What the server handed the page: JSON in a data block, never inline script (CSP script-src 'self').
export const pageData = () => JSON.parse(document.getElementById("page-data").textContent);
