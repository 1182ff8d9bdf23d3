// An embedded page tells the page around it how tall it is (static/js/embed-host.js resizes the
// iframe). heightReporter(embedded) returns a function to call whenever the page may have changed
// height; it posts only when the height changed, and does nothing outside an iframe.
export function heightReporter(embedded) {
  let lastHeight = 0;
  return () => {
    if (!embedded || window.parent === window) return;
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage({ type: "blockscope:height", height, href: window.location.href }, "*");
  };
}
