// Runs on the course page that embeds BlockScope (the snippet's <script src>): a classic script,
// not a module, so it needs no CORS. Each BlockScope embed posts its content height
// ({type: "blockscope:height", height}); this sets the height of the iframe it came from, so the
// embed never shows a scrollbar of its own. Only messages from BlockScope's origin (the origin this
// script was served from) are read, and they can only change an iframe's height.
(() => {
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src).origin;
  window.__blockscopeEmbeds = window.__blockscopeEmbeds || {};
  const seen = window.__blockscopeEmbeds;
  if (seen[origin]) return; // the snippet pasted twice: one listener per BlockScope server is enough
  seen[origin] = true;
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.origin !== origin || !data || data.type !== "blockscope:height") return;
    const height = Number(data.height);
    if (!Number.isFinite(height) || height <= 0 || height > 20000) return;
    for (const frame of document.getElementsByTagName("iframe")) {
      if (frame.contentWindow === event.source) {
        frame.style.height = `${Math.ceil(height)}px`;
        frame.setAttribute("height", String(Math.ceil(height)));
      }
    }
  });
})();
