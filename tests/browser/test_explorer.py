"""The explorer, gallery and embed pages in headless Chromium."""

import json
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from blockscope.registry import BLOCKS

from .pages import api, reveal


def wait_ready(page):
    page.wait_for_selector("body[data-ready]")


def settle(page):
    """Wait until the debounced sweep and reparam requests of the page are done."""
    page.wait_for_function("() => !document.body.dataset.busy", timeout=30_000)


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_every_block_page_renders_a_diagram_without_console_errors(
        page, console_errors, server_url, screenshot, kind):
    page.goto(f"{server_url}/blocks/{kind}")
    wait_ready(page)
    analysis = api(page, f"{server_url}/api/blocks/{kind}")
    ids = page.eval_on_selector_all("#view-diagram [data-node-id]", "els => els.map(e => e.dataset.nodeId)")
    assert ids == [n["id"] for n in analysis["nodes"]]
    # every edge carries its shape as text
    labels = page.eval_on_selector_all("#view-diagram .edge-label", "els => els.map(e => e.textContent)")
    assert labels == ["×".join(map(str, e["shape"])) for e in analysis["edges"]]
    for key in ("params", "madds", "mac"):
        total = page.get_attribute(f'#view-totals [data-total="{key}"]', "data-value")
        assert total == str(analysis["totals"][key])
    rows = page.eval_on_selector_all("#view-table tbody tr", "els => els.map(e => e.dataset.nodeId)")
    assert rows == ids
    settle(page)
    screenshot(page, f"explorer-{kind}")
    assert console_errors == []


def group_value(page) -> str:
    """The group count the explorer shows (its slider moves through a list; the number box holds it)."""
    return page.input_value('.control[data-param="groups"] input[type=number]')


def test_moving_groups_updates_mac_and_the_url(page, console_errors, server_url, screenshot):
    page.goto(f"{server_url}/blocks/group_conv")
    wait_ready(page)
    slider = page.locator('input[type=range][name="groups"]')
    assert group_value(page) == "4"
    slider.focus()
    page.keyboard.press("ArrowRight")  # the next value that divides 64: 8, never a refused 5
    expected = api(page, f"{server_url}/api/blocks/group_conv?groups=8")["totals"]["mac"]
    page.wait_for_function(
        f"""() => document.querySelector('[data-total="mac"]').dataset.value === '{expected}'""")
    error = page.locator('.control[data-param="groups"] .control-error')
    assert error.is_hidden()
    assert group_value(page) == "8" and slider.get_attribute("aria-valuetext") == "8"
    assert "groups=8" in page.url
    assert page.locator("[data-node-id=\"conv\"] text").first.text_content() == "3x3 GConv, g=8"
    assert page.locator('#view-totals [data-total="mac"]').inner_text() == f"{expected:,}"
    # a value typed into the number box that does not divide the channels: the nearest that do
    number = page.locator('.control[data-param="groups"] input[type=number]')
    number.fill("5")
    number.dispatch_event("change")
    error.wait_for(state="visible")
    assert "divide" in error.inner_text() and "4 or 8" in error.inner_text()
    number.fill("8")
    number.dispatch_event("change")
    error.wait_for(state="hidden")
    settle(page)
    screenshot(page, "group-conv-groups-8")
    # the URL restores the view
    page.goto(page.url + "&metric=params")
    wait_ready(page)
    assert group_value(page) == "8"
    assert page.locator('select[name="metric"]').input_value() == "params"
    assert page.get_attribute('[data-total="mac"]', "data-value") == str(expected)
    settle(page)
    assert [e for e in console_errors if "422" not in e] == []  # the refused g=5 request logs a 422


def test_a_refused_url_shows_the_message_beside_the_control(page, server_url):
    query = "in_channels=100&out_channels=116"
    detail = page.request.get(f"{server_url}/api/blocks/shufflenet_v2_unit?{query}").json()["detail"][0]
    page.goto(f"{server_url}/blocks/shufflenet_v2_unit?{query}")
    error = page.locator(f'.control[data-param="{detail["loc"][1]}"] .control-error')
    error.wait_for(state="visible")
    assert error.inner_text() == detail["msg"]
    assert "cannot be built" in page.locator('[data-role="diagram"]').inner_text()
    assert page.locator('input[type=range][name="in_channels"]').input_value() == "100"


def test_slider_to_mac_latency_p95(page, server_url):
    """Moving the group slider updates MAC and the diagram within 150 ms at the 95th percentile."""
    page.goto(f"{server_url}/blocks/group_conv")
    wait_ready(page)
    settle(page)
    sequence = [8, 16, 32, 64, 32, 16, 8, 4, 2, 1] * 3
    times = []
    for g in sequence:
        ms = page.evaluate("""(g) => new Promise((resolve) => {
            const slider = document.querySelector('input[type=range][name=groups]');
            const index = slider.dataset.choices.split(',').indexOf(String(g));
            const start = performance.now();
            const oldSvg = document.querySelector('#view-diagram svg');
            const oldMac = document.querySelector('[data-total="mac"]').dataset.value;
            // done when both the diagram and the MAC total have been replaced
            const done = () => document.querySelector('#view-diagram svg') !== oldSvg
              && document.querySelector('[data-total="mac"]').dataset.value !== oldMac;
            const observer = new MutationObserver(() => {
              if (done()) { observer.disconnect(); resolve(performance.now() - start); }
            });
            observer.observe(document.querySelector('#view-diagram'), {subtree: true, childList: true});
            setTimeout(() => { observer.disconnect(); resolve('timeout'); }, 5000);
            slider.value = String(index);
            slider.dispatchEvent(new Event('input', {bubbles: true}));
        })""", g)
        assert isinstance(ms, (int, float)), f"g={g}: {ms}"
        times.append(ms)
        expected = api(page, f"{server_url}/api/blocks/group_conv?groups={g}")["totals"]["mac"]
        assert page.get_attribute('[data-total="mac"]', "data-value") == str(expected)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"\nslider -> MAC + diagram update: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
          f"over {len(times)} moves (first pass uncached)")
    # A figure to read, not a timed assertion: shared machines are noisy (target: p95 < 150 ms).


def test_repvgg_reparam_view_shows_both_diagrams(page, console_errors, server_url, screenshot):
    page.goto(f"{server_url}/blocks/repvgg_block?in_channels=8&out_channels=8&height=14&width=14")
    wait_ready(page)
    reveal(page, "reparam")
    before = page.locator('#view-reparam [data-side="before"] [data-node-id]')
    after = page.locator('#view-reparam [data-side="after"] [data-node-id]')
    after.first.wait_for(timeout=30_000)
    # the forms at once; the proof that they agree follows from the measuring process
    page.locator('[data-role="max-abs-diff"][data-value]').wait_for(timeout=30_000)
    query = "in_channels=8&out_channels=8&height=14&width=14"
    report = api(page, f"{server_url}/api/blocks/repvgg_block/reparam?{query}")
    assert before.count() == len(report["before"]["nodes"]) and after.count() == len(report["after"]["nodes"])
    assert after.count() < before.count()
    diff = float(page.get_attribute('[data-role="max-abs-diff"]', "data-value"))
    assert diff == report["max_abs_diff"] and diff < 1e-4
    page.locator('[data-kernel="fused"] .main-svg').first.wait_for()
    settle(page)
    screenshot(page, "repvgg-reparam")
    assert console_errors == []


def test_channel_shuffle_view_follows_the_permutation(page, console_errors, server_url):
    page.goto(f"{server_url}/blocks/channel_shuffle?in_channels=12&groups=3")
    wait_ready(page)
    ends = "els => els.map(e => [+e.dataset.out, +e.dataset.in, +e.dataset.group])"
    lines = page.eval_on_selector_all("#view-shuffle path[data-in]", ends)
    perm = [(i % 3) * 4 + i // 3 for i in range(12)]
    assert lines == [[i, perm[i], perm[i] // 4] for i in range(12)]
    settle(page)
    assert console_errors == []


def test_node_details_on_keyboard_focus_and_sortable_table(page, server_url):
    page.goto(f"{server_url}/blocks/depthwise_separable")
    wait_ready(page)
    page.focus('#view-diagram [data-node-id="pointwise_conv"]')
    tip = page.locator('[data-role="tip"]')
    tip.wait_for(state="visible")
    analysis = api(page, f"{server_url}/api/blocks/depthwise_separable")
    node = next(n for n in analysis["nodes"] if n["id"] == "pointwise_conv")
    assert f"{node['mac']:,}" in tip.inner_text() and f"{node['madds']:,}" in tip.inner_text()
    page.click('#view-table button[data-sort="madds"]')  # numbers sort largest first
    first = page.eval_on_selector("#view-table tbody tr", "e => e.dataset.nodeId")
    assert first == max(analysis["nodes"], key=lambda n: n["madds"])["id"]
    settle(page)


def test_latency_measured_on_demand(page, console_errors, server_url, screenshot, fake_latency):
    page.goto(f"{server_url}/blocks/conv_bn?in_channels=8&out_channels=8&height=8&width=8")
    wait_ready(page)
    settle(page)
    # before measuring, the section is a button, not an empty chart
    assert page.locator('[data-role="latency-chart"]').is_hidden()
    assert page.locator("#view-latency").bounding_box()["height"] < 260
    page.click('[data-role="measure"]')
    status = page.locator('[data-role="latency-status"]')
    status.filter(has_text="Measured on").wait_for()
    bars = page.locator('[data-role="latency-chart"] .bars .point')
    bars.first.wait_for()
    assert bars.count() == 2  # conv and bn
    screenshot(page, "conv-bn-latency")
    assert console_errors == []


def test_compare_with_standard_convolution(page, server_url):
    page.goto(f"{server_url}/blocks/depthwise_separable?in_channels=32&out_channels=64")
    wait_ready(page)
    page.check('input[name="compare"]')
    assert "compare=1" in page.url
    conv = api(page, f"{server_url}/api/blocks/conv?in_channels=32&out_channels=64&kernel_size=3")
    block = api(page, f"{server_url}/api/blocks/depthwise_separable?in_channels=32&out_channels=64")
    for key in ("params", "madds", "mac"):
        row = page.locator(f'[data-role="compare"] tr[data-compare="{key}"] td')
        row.first.wait_for()
        assert row.nth(0).get_attribute("data-value") == str(block["totals"][key])
        assert row.nth(1).get_attribute("data-value") == str(conv["totals"][key])
    # MobileNet V1, Sec. 3.1: the depthwise-separable cost is 1/N + 1/k^2 of the standard conv's
    ratio = block["totals"]["madds"] / conv["totals"]["madds"]
    assert abs(ratio - (1 / 64 + 1 / 9)) < 1e-9
    settle(page)


class _HostPage(BaseHTTPRequestHandler):
    embed_url = ""

    def do_GET(self):
        body = (f'<!doctype html><title>course page</title><h1>Course notes</h1>'
                f'<iframe id="bs" src="{self.embed_url}" width="420" height="900"></iframe>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_embed_works_inside_an_iframe_on_another_origin(page, console_errors, server_url, screenshot):
    embed = f"{server_url}/embed/group_conv?groups=8&view=diagram,totals"
    handler = type("Host", (_HostPage,), {"embed_url": embed})
    host = ThreadingHTTPServer(("localhost", 0), handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://localhost:{host.server_address[1]}/")
        frame = page.frame_locator("#bs")
        frame.locator("body[data-ready]").wait_for()
        expected = api(page, f"{server_url}/api/blocks/group_conv?groups=8")["totals"]["mac"]
        assert frame.locator('[data-total="mac"]').get_attribute("data-value") == str(expected)
        assert frame.locator("[data-node-id]").count() == 4
        assert frame.locator(".site-header").count() == 0 and frame.locator("#view-table").count() == 0
        # sized to its narrow frame: nothing wider than the iframe
        inner = page.frames[1]
        assert inner.evaluate("document.documentElement.scrollWidth") <= inner.evaluate("innerWidth")
        screenshot(page, "embed-in-iframe")
    finally:
        host.shutdown()
    assert console_errors == []


def test_embed_snippet_reflects_state_and_views(page, server_url):
    page.goto(f"{server_url}/blocks/group_conv?groups=16")
    wait_ready(page)
    page.click('[data-role="embed-button"]')
    views = page.locator('[data-role="embed-views"]')
    views.locator('input[value="totals"]').uncheck()
    views.locator('input[value="sweep"]').check()
    page.locator('[data-role="embed-controls"]').uncheck()
    snippet = page.input_value('[data-role="embed-snippet"]')
    src = snippet.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    url = urlparse(src)
    assert url.path == "/embed/group_conv"
    assert parse_qs(url.query) == {"groups": ["16"], "view": ["diagram,sweep"]}
    assert f'<script src="{server_url}/static/js/embed-host.js"' in snippet
    page.locator('[data-role="embed-controls"]').check()
    snippet = page.input_value('[data-role="embed-snippet"]')
    query = parse_qs(urlparse(snippet.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")).query)
    assert query["controls"] == ["1"] and query["view"] == ["diagram,sweep"]  # the box is no view
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click('[data-role="embed-copy"]')
    copied = page.locator('[data-role="embed-copied"]')
    copied.filter(has_text="Cop").wait_for()  # "Copied…", or how to copy where the clipboard is closed
    settle(page)


def test_gallery_cards_in_course_order(page, console_errors, server_url, screenshot):
    page.goto(f"{server_url}/")
    kinds = page.eval_on_selector_all(".card", "els => els.map(e => e.dataset.kind)")
    assert kinds == list(BLOCKS)
    assert page.locator(".mini-diagram svg").count() == len(BLOCKS)
    screenshot(page, "gallery")
    assert console_errors == []


def test_readable_at_400_px(browser, server_url, screenshot):
    context = browser.new_context(viewport={"width": 400, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{server_url}/blocks/shufflenet_v1_unit")
        wait_ready(page)
        settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        screenshot(page, "explorer-400px")
    finally:
        context.close()


def test_downloads(page, server_url):
    page.goto(f"{server_url}/blocks/squeeze_excitation")
    wait_ready(page)
    analysis = api(page, f"{server_url}/api/blocks/squeeze_excitation")
    with page.expect_download() as info:
        page.click('[data-download="json"]')
    assert json.loads(Path(info.value.path()).read_text()) == analysis
    with page.expect_download() as info:
        page.click('[data-download="csv"]')
    lines = Path(info.value.path()).read_text().splitlines()
    assert lines[0].startswith("id,op,label") and len(lines) == len(analysis["nodes"]) + 1
    with page.expect_download() as info:
        page.click('[data-download="svg"]')
    svg = Path(info.value.path()).read_text()
    assert svg.count("data-node-id=") == len(analysis["nodes"])
    with page.expect_download() as info:
        page.click('[data-download="png"]')
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    settle(page)


def test_sticky_totals_in_view_while_the_group_slider_has_focus_at_390_px(browser, server_url, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{server_url}/blocks/group_conv")
        wait_ready(page)
        live = page.locator('[data-role="live-totals"]')
        slider = page.locator('input[type=range][name="groups"]')
        slider.focus()
        slider.press("ArrowRight")  # 4 -> 8
        expected = api(page, f"{server_url}/api/blocks/group_conv?groups=8")["totals"]["mac"]
        page.wait_for_function(
            f"""() => document.querySelector('[data-live="mac"] dd')?.dataset.value === '{expected}'""")
        assert page.evaluate("() => document.activeElement.name") == "groups"

        def in_view(locator) -> bool:
            box = locator.bounding_box()
            return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844

        # wherever the slider sits in the viewport, the totals and their change are in view with it
        for block in ("end", "center", "start"):
            slider.evaluate(f"(e) => e.scrollIntoView({{block: '{block}'}})")
            assert in_view(slider) and in_view(live), block
            assert live.bounding_box()["y"] + live.bounding_box()["height"] <= slider.bounding_box()["y"]
        assert "vs groups=1" in live.inner_text() and f"{expected:,}" in live.inner_text()
        # the published settings come before the sliders, reachable without scrolling inside the panel
        presets = page.locator('[data-role="presets"]').bounding_box()
        assert presets["y"] < page.locator('.control[data-param="in_channels"]').bounding_box()["y"]
        screenshot(page, "explorer-390-sticky-totals", full_page=False)
    finally:
        context.close()


def test_the_compact_totals_stay_out_of_the_way_on_a_wide_screen(page, server_url):
    page.goto(f"{server_url}/blocks/group_conv")
    wait_ready(page)
    assert page.locator('[data-role="live-totals"]').is_hidden()
    # the published settings are inside the panel's first screen, without scrolling it
    panel = page.locator(".controls-panel").bounding_box()
    buttons = page.locator('[data-role="presets"] button').last.bounding_box()
    assert buttons["y"] + buttons["height"] <= panel["y"] + panel["height"]
