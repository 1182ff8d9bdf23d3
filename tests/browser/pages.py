"""Helpers the browser tests share: the JSON API as the page sees it, and waiting for a page."""


def api(page, url: str) -> dict:
    response = page.request.get(url)
    assert response.ok, f"{url}: {response.status}"
    return response.json()


def settle(page):
    """Wait until the page has drawn and its debounced requests are done."""
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function("() => !document.body.dataset.busy", timeout=30_000)
