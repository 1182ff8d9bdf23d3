"""/compare in Chromium: the two sides side by side at 1280 px and stacked readably at 390 px, both
diagrams at one zoom, the totals' ratios, the preset's claim beside the counts; predict-first hides the
figures until a guess is made and the URL keeps the switch; swapping and the controls write the URL;
"compare with…" from the explorer; the embed.

Measurements are answered in the browser (`fake_compare`): A timed at 3.0 ms, B at 1.0 ms, the ratio's
95% interval 2.8-3.2, so that the page's words are known in advance.
"""

import json
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from .conftest import fake_quality

SHOTS = Path(tempfile.gettempdir()) / "compare-shots"
PRESET = ("/compare?a=conv&a.in_channels=256&a.out_channels=256&a.height=28&a.width=28"
          "&b=depthwise_separable&b.in_channels=256&b.out_channels=256&b.height=28&b.width=28")
SMALL = "/compare?a=conv&a.in_channels=16&a.out_channels=16&a.height=8&a.width=8&b=depthwise_separable" \
        "&b.in_channels=16&b.out_channels=16&b.height=8&b.width=8"


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _timed(median_us: float) -> dict:
    return {"machine": "test server", "device": "cpu", "device_label": "test CPU", "torch": "2", "threads": 2,
            "cores": [0, 1], "dtype": "float32", "warmup": 1, "repeats": 20, "samples": 20,
            "total": {"median_us": median_us, "p25_us": median_us * 0.97, "p75_us": median_us * 1.03},
            "quality": fake_quality(median_us), "cached": False, "load_average": 1.0,
            "measured_at": "2026-01-01T00:00:00Z", "duration_s": 1.0, "nodes": [], "sum_of_nodes_us": None,
            "share_by_op": None}


@pytest.fixture
def fake_compare(page, server_url):
    """/api/compare?…&measure=true answered in the browser: the server's comparison, measured as above."""
    asked = []

    def answer(route):
        url = route.request.url
        asked.append(url)
        data = httpx.get(url.replace("&measure=true", ""), timeout=60).json()
        comparison = {"of": ["a", "b"], "value": 3.0, "ci95": [2.8, 3.2], "measurable": True}
        data["latency"] = {"a": _timed(3000.0), "b": _timed(1000.0), "ratio": 3.0, "ratio_ci95": [2.8, 3.2],
                           "measurable": True, "disturbed": False, "per_node": False,
                           "comparison": comparison,
                           "sentence": "B is 3.0× faster than A (time of A over B 3.00, 95% interval 2.80 "
                                       "to 3.20)."}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(data))

    page.route("**/api/compare?*measure=true*", answer)
    return asked


def _settled(page) -> None:
    page.locator('[data-role="totals"] table').wait_for()
    page.wait_for_function("!document.body.dataset.busy")


def _box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_two_sides_at_one_scale_side_by_side_or_stacked(browser, server_url, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(f"{server_url}{PRESET}")
        _settled(page)
        a, b = _box(page, '.cmp-side[data-side="a"]'), _box(page, '.cmp-side[data-side="b"]')
        if width >= 1000:
            assert abs(a["y"] - b["y"]) < 1 and b["x"] > a["x"] + a["width"] - 1  # side by side
        else:
            assert b["y"] >= a["y"] + a["height"] - 1 and abs(a["x"] - b["x"]) < 1  # stacked
            # nothing wider than the phone: tables turn into cards, diagrams scroll inside their box
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        zooms = page.locator(".cmp-diagram").evaluate_all("els => els.map(e => e.dataset.zoom)")
        assert zooms[0] and zooms[0] == zooms[1]  # one scale for both diagrams
        madds = page.locator('[data-total="madds"] .ratio')
        expect(madds).to_have_text("8.69")
        expect(page.locator('[data-role="claim-text"]')).to_contain_text("8 to 9 times fewer multiply-adds")
        expect(page.locator('[data-role="claim-counted"]')).to_contain_text("as the claim says")
        expect(page.locator('[data-role="title-b"]')).to_have_text("Depthwise-separable convolution")
        # the totals' figures are large enough to read on a phone
        size = page.locator('[data-total="madds"] td').first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 13
        shot(page, f"compare-{width}")
        assert errors == []
    finally:
        context.close()


def test_predict_first_hides_the_figures_until_a_guess(page, console_errors, server_url, fake_compare):
    page.goto(f"{server_url}{SMALL}&predict=1")
    page.locator('[data-role="title-a"]').filter(has_text="Standard convolution").wait_for()
    page.wait_for_function("!document.body.dataset.busy")
    figures = page.locator('[data-role="figures"]')
    expect(figures).to_be_hidden()
    expect(page.locator('[data-role="claim"]')).to_be_hidden()
    expect(page.locator('[data-role="predict"]')).to_be_visible()
    expect(page.locator('[data-role="predict-switch"]')).to_be_checked()
    reveal = page.locator('[data-role="reveal"]')
    expect(reveal).to_be_disabled()
    page.locator('input[name="guess"][value="b"]').check()
    expect(reveal).to_be_disabled()  # which side alone is not enough: by how much too
    shot(page, "compare-predict-before")
    page.locator('[data-role="guess-by"]').select_option("2")
    expect(reveal).to_be_enabled()
    reveal.click()
    expect(figures).to_be_visible()
    result = page.locator('[data-role="guess-result"]')
    expect(result).to_contain_text("Your guess: B faster, by about 2×.")
    expect(result).to_contain_text("Measured: B is 3.0× faster")
    expect(result).to_contain_text("The right side; your factor is within 2× of it.")
    expect(page.locator('[data-role="ratio"]')).to_contain_text("B is faster")
    query = parse_qs(urlsplit(page.url).query)
    assert query["predict"] == ["1"] and query["guess"] == ["b"] and query["by"] == ["2"]
    assert len(fake_compare) == 1
    shot(page, "compare-predict-after")
    # the link handed out keeps the switch: a fresh load hides nothing once the guess is in it
    page.goto(page.url)
    page.locator('[data-role="guess-result"]').filter(has_text="Your guess").wait_for()
    expect(page.locator('[data-role="figures"]')).to_be_visible()
    assert console_errors == []


def test_the_switch_is_kept_in_the_url(page, console_errors, server_url):
    page.goto(f"{server_url}{SMALL}")
    _settled(page)
    expect(page.locator('[data-role="figures"]')).to_be_visible()
    page.locator('[data-role="predict-switch"]').check()
    expect(page.locator('[data-role="figures"]')).to_be_hidden()
    assert parse_qs(urlsplit(page.url).query)["predict"] == ["1"]
    # every preset link carries it too, so that a teacher can hand one out
    hrefs = page.locator(".cmp-preset").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all("predict=1" in h for h in hrefs)
    page.locator('[data-role="predict-switch"]').uncheck()
    expect(page.locator('[data-role="figures"]')).to_be_visible()
    assert "predict" not in parse_qs(urlsplit(page.url).query)
    assert console_errors == []


def test_swap_controls_and_measure(page, console_errors, server_url, fake_compare):
    page.goto(f"{server_url}{SMALL}")
    _settled(page)
    page.locator('[data-role="swap"]').click()
    expect(page.locator('[data-role="title-a"]')).to_have_text("Depthwise-separable convolution")
    query = parse_qs(urlsplit(page.url).query)
    assert query["a"] == ["depthwise_separable"] and query["b"] == ["conv"]
    box = page.locator("#cmp-b-in_channels")
    box.fill("32")
    box.dispatch_event("change")
    page.wait_for_function("new URLSearchParams(location.search).get('b.in_channels') === '32'")
    expect(page.locator('[data-total="params"] td[data-label="B"]')).to_contain_text(
        f"{9 * 32 * 16 + 2 * 16:,}")  # the 3x3 conv's weights and its BatchNorm's
    # a value the server refuses is named under its control
    box.fill("0")
    box.dispatch_event("change")
    expect(page.locator('[data-role="controls-b"] [data-error="in_channels"]')).to_be_visible()
    box.fill("16")
    box.dispatch_event("change")
    _settled(page)
    page.locator('[data-role="measure"]').click()
    expect(page.locator('[data-role="ratio"]')).to_contain_text(
        "time of A over B 3.00 (95% interval 2.80 to 3.20)")
    expect(page.locator('[data-role="latency"]')).not_to_contain_text("null")
    assert "&measure=true" in fake_compare[0]
    assert [e for e in console_errors if "422" not in e] == []


def test_compare_with_from_the_explorer_and_a_network(page, server_url):
    page.goto(f"{server_url}/blocks/conv?in_channels=32&height=14")
    link = page.locator('[data-role="compare-link"]')
    link.wait_for()
    query = parse_qs(urlsplit(link.get_attribute("href")).query)
    assert query["a"] == ["conv"] and query["a.in_channels"] == ["32"]
    assert query["b"] == ["depthwise_separable"]
    assert query["b.in_channels"] == ["32"] and query["b.height"] == ["14"]
    page.goto(f"{server_url}/networks/shufflenet_v2_x1_0")
    link = page.locator('[data-role="compare-link"]')
    query = parse_qs(urlsplit(link.get_attribute("href")).query)
    assert query["a"] == ["network:shufflenet_v2_x1_0"] and query["b"] == ["network:mobilenet_v2"]


def test_the_embed_is_live(page, console_errors, server_url):
    page.goto(f"{server_url}/embed/compare?{SMALL.split('?')[1]}&controls=1")
    _settled(page)
    expect(page.locator(".site-header")).to_have_count(0)
    box = page.locator("#cmp-a-height")
    box.fill("10")
    box.dispatch_event("change")
    expect(page.locator('[data-role="shape-a"]')).to_contain_text("1×16×10×8")
    assert console_errors == []
