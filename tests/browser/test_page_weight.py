"""A light first page: the totals and the diagram never wait for Plotly, which is fetched only when a
chart is drawn, and a cold explorer stays within the issue's 600 KiB."""

import importlib.util
from pathlib import Path

import pytest

from blockscope.api.web import PLOTLY

ROOT = Path(__file__).resolve().parents[2]
PLOTLY_ROUTE = "**/vendor/plotly*"


def _page_weight():
    spec = importlib.util.spec_from_file_location("page_weight", ROOT / "scripts" / "page_weight.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", ["/blocks/group_conv", "/embed/group_conv?view=totals,diagram,chart"])
def test_totals_and_diagram_are_drawn_while_plotly_is_held_back(page, console_errors, server_url, path):
    held = []  # Plotly's requests, answered only once the totals and the diagram are checked
    page.route(PLOTLY_ROUTE, lambda route: held.append(route))
    page.goto(server_url + path)
    page.wait_for_selector("body[data-ready]")
    page.locator('#view-totals [data-total="mac"][data-value]').wait_for()
    assert page.locator("#view-diagram [data-node-id]").count() > 0
    page.wait_for_function("document.querySelector('script[src*=\"/vendor/plotly\"]') !== null")
    page.wait_for_timeout(200)  # the request reaches the route
    assert [r.request.url for r in held] == [server_url + PLOTLY.url]  # the versioned, partial bundle
    assert page.evaluate("typeof window.Plotly") == "undefined"
    assert page.locator(".js-plotly-plot").count() == 0

    for route in held:
        route.continue_()
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    page.wait_for_function("() => !document.body.dataset.busy", timeout=30_000)
    assert page.evaluate("typeof window.Plotly.react") == "function"
    assert console_errors == []


@pytest.mark.parametrize("path", ["/", "/networks", "/networks/shufflenet_v2_x1_0"])
def test_pages_without_charts_never_fetch_plotly(page, console_errors, server_url, path):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/vendor/plotly" in r.url else None)
    page.goto(server_url + path, wait_until="networkidle", timeout=60_000)  # the gallery analyses every kind
    assert asked == []
    assert console_errors == []


@pytest.mark.skipif(not PLOTLY.partial, reason="Plotly's partial bundle is not installed (npm ci)")
def test_a_cold_explorer_transfers_at_most_600_kib(browser, server_url):
    size, requests, plotly = _page_weight().weigh(browser, f"{server_url}/blocks/group_conv")
    assert plotly  # the figure counts the charts' Plotly
    assert size <= 600 * 1024, f"{size / 1024:.0f} KiB in {requests} requests"
