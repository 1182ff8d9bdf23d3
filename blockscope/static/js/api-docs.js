// Starts Swagger UI on /docs (a module of ours rather than the inline script FastAPI writes, which the
// page's CSP forbids). SwaggerUIBundle is the global of the bundle the page loads before this module.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  deepLinking: true,
  layout: "BaseLayout",
  presets: [window.SwaggerUIBundle.presets.apis],
});
