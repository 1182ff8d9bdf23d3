"""/docs and /redoc work offline: their scripts come from this server, and they render under the CSP
with no console error; nothing is fetched from elsewhere."""

import pytest

READY = {"/docs": ".opblock-tag", "/redoc": "[role=menuitem], .menu-content li"}
# ReDoc always draws its maker's logo in the menu's footer from their CDN; the page's CSP refuses it
# (the browser logs that refusal), so nothing leaves the machine, and ReDoc hides the image.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize("path", list(READY))
def test_api_docs_render_from_this_server_alone(page, server_url, console_errors, screenshot, path):
    elsewhere: list[str] = []

    def leaving(request):
        if not request.url.startswith((server_url, "data:", "blob:")):
            elsewhere.append(request.url)

    page.on("request", leaving)
    failures: dict[str, str | None] = {}
    page.on("requestfailed", lambda r: failures.update({r.url: r.failure}))
    page.goto(server_url + path)
    page.wait_for_selector(READY[path], timeout=20_000)
    text = page.inner_text("body").lower()
    assert "blocks" in text and "guidelines" in text
    if path == "/docs":  # the operations of the schema are listed, grouped by tag
        assert page.locator(".opblock").count() > 20
    screenshot(page, f"api-docs{path.replace('/', '-')}", full_page=False)
    page.wait_for_timeout(300)
    if path == "/redoc" and REDOC_LOGO in elsewhere:
        assert failures.get(REDOC_LOGO) == "csp", f"ReDoc's logo must be refused, not fetched: {failures}"
        elsewhere.remove(REDOC_LOGO)
        refusal = "violates the following Content Security Policy"
        console_errors[:] = [e for e in console_errors if not (REDOC_LOGO in e and refusal in e)]
    assert not elsewhere, f"asked for something elsewhere: {elsewhere[:3]}"
    assert not console_errors, console_errors
