"""Helpers the browser tests share: the JSON API as the page sees it, and waiting for a page."""


def api(page, url: str) -> dict:
    response = page.request.get(url)
    assert response.ok, f"{url}: {response.status}"
    return response.json()


def settle(page):
    """Wait until the page has drawn and its debounced requests are done."""
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function("() => !document.body.dataset.busy", timeout=30_000)


def reveal(page, view: str):
    """Scroll a view of the explorer on screen: views that ask the server for more (the sweep, the
    reparameterization) load only when they are on screen or close to it."""
    page.locator(f"#view-{view}").scroll_into_view_if_needed()


def reveal_reparam(page):
    """The reparameterization view on screen, drawn with the proof that both forms agree (it follows
    the forms, so the view is redrawn once it arrives)."""
    reveal(page, "reparam")
    page.locator('#view-reparam [data-role="max-abs-diff"][data-value]').wait_for(timeout=30_000)


def measure_guidelines(page):
    """The guideline page measures only when asked: wait for it to say so, then press "Measure all four"."""
    page.locator('[data-role="progress"]').filter(has_text="Measure all four").wait_for()
    page.get_by_role("button", name="Measure all four").click()
